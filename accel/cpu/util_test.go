package cpu

import "math"

func mathBits(f float32) uint32 { return math.Float32bits(f) }

func float32NaN() float32 { return float32(math.NaN()) }
