// Package good uses only exact math functions.
package good
