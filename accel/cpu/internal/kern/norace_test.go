//go:build !race

package kern

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = false
