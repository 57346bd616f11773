// Package bad calls math functions that differ across architectures.
package bad
