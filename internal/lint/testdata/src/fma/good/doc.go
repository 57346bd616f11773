// Package good holds arithmetic that the fma rule must accept.
package good
