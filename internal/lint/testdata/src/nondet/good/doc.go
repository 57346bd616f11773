// Package good uses injected clocks and seeded generators.
package good
