package bad

import (
	"math/rand"
	randv2 "math/rand/v2"
	"os"
	"time"
)

func now() time.Time { return time.Now() } // want "time.Now"

func since(t time.Time) time.Duration { return time.Since(t) } // want "time.Since"

func intn() int { return rand.Intn(10) } // want "math/rand.Intn"

func u64() uint64 { return randv2.Uint64() } // want "math/rand/v2.Uint64"

func shuffle(s []int) {
	randv2.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] }) // want "math/rand/v2.Shuffle"
}

func env() string { return os.Getenv("HOME") } // want "os.Getenv"

func lookup() (string, bool) { return os.LookupEnv("X") } // want "os.LookupEnv"

var f = rand.Float64 // want "math/rand.Float64"
