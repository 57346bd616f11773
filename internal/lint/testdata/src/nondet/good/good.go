package good

import (
	"math/rand"
	randv2 "math/rand/v2"
	"os"
	"time"
)

func seeded(seed uint64) uint64 {
	r := randv2.New(randv2.NewPCG(seed, 0))
	return r.Uint64()
}

func legacy(seed int64) int {
	r := rand.New(rand.NewSource(seed))
	return r.Intn(3)
}

func later(t time.Time, d time.Duration) time.Time { return t.Add(d) }

func injected(now func() time.Time) time.Time { return now() }

func read(name string) ([]byte, error) { return os.ReadFile(name) }
