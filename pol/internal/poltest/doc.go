// Package poltest holds what the tests of pol and its subpackages share: a small real dataset
// and task, an opener that remembers openings, and a backend that is deliberately not
// bit-exact.
package poltest
