//go:build race

package f32

func init() { raceEnabled = true }
