package rng

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"github.com/deai-go/deai/internal/golden"
)

// TestPhiloxKAT checks the block function against the philox4x32-10 known-answer
// vectors published with Random123 (kat_vectors).
func TestPhiloxKAT(t *testing.T) {
	tests := []struct {
		name string
		ctr  Counter
		key  Key
		want [4]uint32
	}{
		{"zero", Counter{}, Key{}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{"ones", Counter{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)}, Key{^uint32(0), ^uint32(0)},
			[4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{"pi", Counter{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, Key{0xa4093822, 0x299f31d0},
			[4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Philox(tt.ctr, tt.key); got != tt.want {
				t.Errorf("Philox(%08x, %08x) = %08x, want %08x", tt.ctr, tt.key, got, tt.want)
			}
		})
	}
}

// TestStreamLayout checks that a Stream is Philox over (block, stream) under
// the split seed, four words per block, low words first.
func TestStreamLayout(t *testing.T) {
	const seed, stream = 0x0123456789abcdef, 0xfedcba9876543210
	s := New(seed, stream)
	key := Key{0x89abcdef, 0x01234567}
	for b := uint64(0); b < 3; b++ {
		want := Philox(Counter{uint32(b), uint32(b >> 32), 0x76543210, 0xfedcba98}, key)
		for i, w := range want {
			if got := s.Uint32(); got != w {
				t.Fatalf("block %d word %d: got %08x, want %08x", b, i, got, w)
			}
		}
	}
}

func TestCounterCarry(t *testing.T) {
	s := New(5, 9)
	s.Restore(State{Key: Key{5, 0}, Counter: Counter{^uint32(0), 0, 9, 0}, Position: 3})
	s.Uint32() // last word of block 2^32-1
	want := State{Key: Key{5, 0}, Counter: Counter{0, 1, 9, 0}}
	if got := s.State(); got != want {
		t.Fatalf("after carry: state %+v, want %+v", got, want)
	}
	if got, w := s.Uint32(), Philox(Counter{0, 1, 9, 0}, Key{5, 0})[0]; got != w {
		t.Fatalf("first word after carry = %08x, want %08x", got, w)
	}
}

func TestUint64(t *testing.T) {
	a, b := New(3, 4), New(3, 4)
	for i := 0; i < 10; i++ {
		lo, hi := a.Uint32(), a.Uint32()
		if got, want := b.Uint64(), uint64(lo)|uint64(hi)<<32; got != want {
			t.Fatalf("call %d: Uint64 = %016x, want %016x", i, got, want)
		}
	}
}

func TestUint32nRange(t *testing.T) {
	s := New(11, 0)
	for _, n := range []uint32{1, 2, 3, 7, 10, 1000, 1<<31 + 1, 3 << 30, ^uint32(0)} {
		for i := 0; i < 2000; i++ {
			if v := s.Uint32n(n); v >= n {
				t.Fatalf("Uint32n(%d) = %d", n, v)
			}
		}
	}
	before := s.State()
	if v := s.Uint32n(0); v != 0 {
		t.Errorf("Uint32n(0) = %d, want 0", v)
	}
	if s.State() != before {
		t.Errorf("Uint32n(0) consumed output")
	}
}

// TestUint32nRejection pins the rejection step: for n = 3<<30 a multiply-shift
// without rejection returns multiples of 3 with probability 1/2, not 1/3.
func TestUint32nRejection(t *testing.T) {
	s := New(12, 0)
	const draws = 300000
	mult := 0
	for i := 0; i < draws; i++ {
		if s.Uint32n(3<<30)%3 == 0 {
			mult++
		}
	}
	// Binomial(300000, 1/3): sigma ~ 258; allow 6 sigma.
	if d := math.Abs(float64(mult) - draws/3.0); d > 1550 {
		t.Errorf("multiples of 3: %d of %d, want about %d", mult, draws, draws/3)
	}
}

func TestUint32nChiSquare(t *testing.T) {
	tests := []struct {
		n     uint32
		draws int
		crit  float64 // upper 0.1% point of chi-square with n-1 degrees of freedom
	}{
		{2, 200000, 10.828},
		{7, 700000, 22.458},
		{10, 1000000, 27.877},
		{100, 1000000, 148.23},
		{1000, 1000000, 1143.9},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			s := New(2024, uint64(tt.n))
			counts := make([]int, tt.n)
			for i := 0; i < tt.draws; i++ {
				counts[s.Uint32n(tt.n)]++
			}
			exp := float64(tt.draws) / float64(tt.n)
			chi := 0.0
			for _, c := range counts {
				d := float64(c) - exp
				chi += d * d / exp
			}
			if chi > tt.crit {
				t.Errorf("chi-square %.2f > %.2f (df %d)", chi, tt.crit, tt.n-1)
			}
			t.Logf("chi-square %.2f, df %d", chi, tt.n-1)
		})
	}
}

func TestFloat32(t *testing.T) {
	a, b := New(21, 0), New(21, 0)
	for i := 0; i < 100000; i++ {
		w := a.Uint32()
		f := b.Float32()
		if f < 0 || f >= 1 {
			t.Fatalf("Float32 = %v out of [0,1)", f)
		}
		if want := float32(float64(w>>8) / (1 << 24)); f != want {
			t.Fatalf("Float32 = %v from word %08x, want %v", f, w, want)
		}
	}
	// The extremes of the mapping.
	for _, tt := range []struct {
		w    uint32
		want float32
	}{{0, 0}, {0xff, 0}, {0x100, 1.0 / (1 << 24)}, {^uint32(0), 1 - 1.0/(1<<24)}} {
		if got := float32(tt.w>>8) * (1.0 / (1 << 24)); got != tt.want {
			t.Errorf("word %08x -> %v, want %v", tt.w, got, tt.want)
		}
	}
}

func TestUniform(t *testing.T) {
	a, b := New(22, 0), New(22, 0)
	lo, hi := float32(-0.25), float32(3.5)
	for i := 0; i < 100000; i++ {
		u := a.Float32()
		got := b.Uniform(lo, hi)
		p := float32((hi - lo) * u)
		if want := lo + p; got != want {
			t.Fatalf("Uniform = %v, want %v", got, want)
		}
		if got < lo || got > hi {
			t.Fatalf("Uniform = %v outside [%v, %v]", got, lo, hi)
		}
	}
}

func TestPermutation(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 2, 3, 10, 1000, 60000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := Permutation(New(31, uint64(n+1)), n)
			if n <= 0 {
				if p == nil || len(p) != 0 {
					t.Fatalf("Permutation(%d) = %v, want empty", n, p)
				}
				return
			}
			if len(p) != n {
				t.Fatalf("len = %d, want %d", len(p), n)
			}
			q := append([]int32(nil), p...)
			sort.Slice(q, func(i, j int) bool { return q[i] < q[j] })
			for i, v := range q {
				if v != int32(i) {
					t.Fatalf("not a permutation: sorted[%d] = %d", i, v)
				}
			}
		})
	}
}

// TestPermutationSpec re-derives a permutation from the specification.
func TestPermutationSpec(t *testing.T) {
	const n = 257
	got := Permutation(New(8, 8), n)
	s := New(8, 8)
	want := make([]int32, n)
	for i := range want {
		want[i] = int32(i)
	}
	for i := n - 1; i >= 1; i-- {
		// Lemire, written out independently of Uint32n.
		bound := uint64(i + 1)
		m := uint64(s.Uint32()) * bound
		for uint64(uint32(m)) < (1<<32)%bound {
			m = uint64(s.Uint32()) * bound
		}
		j := m >> 32
		want[i], want[j] = want[j], want[i]
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("p[%d] = %d, want %d", i, got[i], want[i])
		}
	}
}

// TestPermutationUniform checks that each of the 24 orderings of 4 elements is
// about equally frequent.
func TestPermutationUniform(t *testing.T) {
	s := New(99, 0)
	const draws = 240000
	counts := map[[4]int32]int{}
	for i := 0; i < draws; i++ {
		counts[[4]int32(Permutation(s, 4))]++
	}
	if len(counts) != 24 {
		t.Fatalf("%d distinct orderings, want 24", len(counts))
	}
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - draws/24.0
		chi += d * d / (draws / 24.0)
	}
	if chi > 49.728 { // upper 0.1% point, 23 degrees of freedom
		t.Errorf("chi-square %.2f > 49.73", chi)
	}
}

func TestStateRoundTrip(t *testing.T) {
	s := New(0xdeadbeefcafef00d, 77)
	for i := 0; i < 7; i++ {
		s.Uint32()
	}
	st := s.State()
	if st.Position != 3 || st.Counter[0] != 1 {
		t.Fatalf("state after 7 words = %+v, want block 1 position 3", st)
	}
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := "0df0fecaefbeadde" + "01000000" + "00000000" + "4d000000" + "00000000" + "03000000" + "00000000"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encoding\n got %s\nwant %s", got, want)
	}
	var st2 State
	if err := st2.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if st2 != st {
		t.Fatalf("round trip %+v, want %+v", st2, st)
	}
	var r Stream
	r.Restore(st2)
	for i := 0; i < 20; i++ {
		if a, b := s.Uint32(), r.Uint32(); a != b {
			t.Fatalf("word %d after restore: %08x, want %08x", i, b, a)
		}
	}
}

func TestRestoreNormalises(t *testing.T) {
	var a, b Stream
	a.Restore(State{Key: Key{1, 2}, Counter: Counter{^uint32(0), 0, 3, 4}, Position: 9})
	b.Restore(State{Key: Key{1, 2}, Counter: Counter{1, 1, 3, 4}, Position: 1})
	if a.State() != b.State() {
		t.Fatalf("%+v != %+v", a.State(), b.State())
	}
	if a.Uint32() != b.Uint32() {
		t.Fatal("normalised streams differ")
	}
}

func TestStateErrors(t *testing.T) {
	good, _ := State{Position: 2}.MarshalBinary()
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", good[:31]},
		{"long", append(append([]byte(nil), good...), 0)},
		{"position", func() []byte { b := append([]byte(nil), good...); b[24] = 4; return b }()},
		{"padding", func() []byte { b := append([]byte(nil), good...); b[31] = 1; return b }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := State{Position: 1}
			err := st.UnmarshalBinary(tt.b)
			if !errors.Is(err, ErrInvalidState) {
				t.Fatalf("err = %v, want ErrInvalidState", err)
			}
			if st != (State{Position: 1}) {
				t.Fatalf("state modified on error: %+v", st)
			}
		})
	}
	if _, err := (State{Position: 4}).MarshalBinary(); !errors.Is(err, ErrInvalidState) {
		t.Errorf("MarshalBinary position 4: err = %v", err)
	}
}

func TestCopyForks(t *testing.T) {
	a := New(1, 1)
	a.Uint32()
	b := *a
	for i := 0; i < 9; i++ {
		if x, y := a.Uint32(), b.Uint32(); x != y {
			t.Fatalf("word %d: %08x != %08x", i, x, y)
		}
	}
}

func FuzzStateUnmarshal(f *testing.F) {
	good, _ := State{Key: Key{1, 2}, Counter: Counter{3, 4, 5, 6}, Position: 3}.MarshalBinary()
	f.Add(good)
	f.Add([]byte{})
	f.Add(make([]byte, 33))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st State
		if err := st.UnmarshalBinary(b); err != nil {
			return
		}
		out, err := st.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		if string(out) != string(b) {
			t.Fatalf("encoding not canonical: %x -> %x", b, out)
		}
	})
}

// goldenCases are hashed outputs pinned in testdata/golden.txt: a
// re-implementation must reproduce every line.
var goldenCases = []struct {
	name string
	gen  func() []byte
}{
	{"uint32 seed=0x0123456789abcdef stream=42 words=2^20", func() []byte {
		s := New(0x0123456789abcdef, 42)
		b := make([]byte, 4<<20)
		for i := 0; i < 1<<20; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], s.Uint32())
		}
		return b
	}},
	{"uint32 seed=0 stream=0 words=2^20", func() []byte {
		s := New(0, 0)
		b := make([]byte, 4<<20)
		for i := 0; i < 1<<20; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], s.Uint32())
		}
		return b
	}},
	{"uint32n seed=1 stream=2 n=[1,7,1000,3<<30,2^31+1,2^32-1] draws=2^16", func() []byte {
		s := New(1, 2)
		ns := []uint32{1, 7, 1000, 3 << 30, 1<<31 + 1, ^uint32(0)}
		b := make([]byte, 4<<16)
		for i := 0; i < 1<<16; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], s.Uint32n(ns[i%len(ns)]))
		}
		return b
	}},
	{"float32 bits seed=3 stream=4 draws=2^16", func() []byte {
		s := New(3, 4)
		b := make([]byte, 4<<16)
		for i := 0; i < 1<<16; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(s.Float32()))
		}
		return b
	}},
	{"uniform(-0.1,0.3) bits seed=5 stream=6 draws=2^16", func() []byte {
		s := New(5, 6)
		b := make([]byte, 4<<16)
		for i := 0; i < 1<<16; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(s.Uniform(-0.1, 0.3)))
		}
		return b
	}},
	{"permutation seed=7 stream=1 n=60000", func() []byte {
		p := Permutation(New(7, 1), 60000)
		b := make([]byte, 4*len(p))
		for i, v := range p {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
		return b
	}},
}

// TestGolden compares SHA-256 hashes of long output sequences with
// testdata/golden.txt (one "hex  name" line per case). Run with -rewrite to
// regenerate the file after a deliberate change of the specification.
func TestGolden(t *testing.T) {
	var got []golden.Entry
	for _, c := range goldenCases {
		sum := sha256.Sum256(c.gen())
		got = append(got, golden.Entry{Name: c.name, Value: hex.EncodeToString(sum[:])})
	}
	golden.Entries(t, filepath.Join("testdata", "golden.txt"), "", got)
}

func BenchmarkPhilox(b *testing.B) {
	b.SetBytes(16)
	var c Counter
	var sink uint32
	for i := 0; i < b.N; i++ {
		c[0] = uint32(i)
		sink ^= Philox(c, Key{1, 2})[0]
	}
	_ = sink
}

func BenchmarkUint32(b *testing.B) {
	b.SetBytes(4)
	s := New(1, 2)
	var sink uint32
	for i := 0; i < b.N; i++ {
		sink ^= s.Uint32()
	}
	_ = sink
}

func BenchmarkUint32n(b *testing.B) {
	s := New(1, 2)
	var sink uint32
	for i := 0; i < b.N; i++ {
		sink ^= s.Uint32n(60000)
	}
	_ = sink
}

func BenchmarkFloat32(b *testing.B) {
	s := New(1, 2)
	var sink float32
	for i := 0; i < b.N; i++ {
		sink += s.Float32()
	}
	_ = sink
}

func BenchmarkPermutation60000(b *testing.B) {
	s := New(1, 2)
	for i := 0; i < b.N; i++ {
		Permutation(s, 60000)
	}
}
