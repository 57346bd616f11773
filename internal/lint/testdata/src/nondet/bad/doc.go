// Package bad reads the clock, the environment and global randomness.
package bad
