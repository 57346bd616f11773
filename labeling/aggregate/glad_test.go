package aggregate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"
)

// TestExp checks the package's exponential against math.Exp (a few ulps) over its range.
func TestExp(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	worst := 0.0
	for n := range 200_000 {
		x := -700 + 1400*r.Float64()
		if n%2 == 0 {
			x = -5 + 10*r.Float64()
		}
		got, want := exp(x), math.Exp(x)
		worst = max(worst, math.Abs(got-want)/want)
	}
	t.Logf("largest relative difference from math.Exp: %.3g", worst)
	if worst > 0x1p-49 {
		t.Errorf("relative difference %.3g > 2^-49", worst)
	}
	if exp(0) != 1 {
		t.Errorf("exp(0) = %v", exp(0))
	}
}

// TestGoldenBits pins the bits of every EM method's posteriors and skills on Bluebirds: the
// same hashes on amd64 (GOAMD64 v1 and v3), 386 and arm64, or the methods are not
// deterministic across architectures.
func TestGoldenBits(t *testing.T) {
	c := loadCorpus(t, "bluebirds")
	for _, tc := range []struct {
		name string
		run  func(*Dataset, Config) (Result, error)
		want string
	}{
		{"DawidSkene", DawidSkene, "c42e07c18c032471"},
		{"MACE", MACE, "56256b24a782150e"},
		{"GLAD", GLAD, "c40513e466516701"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.run(&c.Dataset, Config{})
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			for _, v := range append(append([]float64{}, r.Probs...), r.Skill...) {
				h.Write(binary.BigEndian.AppendUint64(nil, math.Float64bits(v)))
			}
			if got := hex.EncodeToString(h.Sum(nil))[:16]; got != tc.want {
				t.Errorf("hash %s, pinned %s", got, tc.want)
			}
		})
	}
}
