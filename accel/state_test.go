package accel

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/deai-go/deai/accel/graph"
)

func TestTensorHash(t *testing.T) {
	// Pinned: a change here changes every proof.
	got := TensorHash([]int{2, 2}, []float32{1, -2, 0.5, float32(math.Inf(1))}).String()
	// Computed independently: Python's hashlib over the bytes the package doc specifies.
	if want := "b98b0dbb5945574b46048da3abd87d55c0cf6d23287f7d620788e1d79111b711"; got != want {
		t.Errorf("TensorHash = %s, want %s", got, want)
	}
	nanA := math.Float32frombits(0xffc00000) // amd64's default NaN
	nanB := math.Float32frombits(0x7fc00001) // another payload
	if TensorHash([]int{1}, []float32{nanA}) != TensorHash([]int{1}, []float32{nanB}) {
		t.Error("NaN payloads change the hash")
	}
	if TensorHash([]int{1}, []float32{0}) == TensorHash([]int{1}, []float32{float32(math.Copysign(0, -1))}) {
		t.Error("+0 and -0 hash alike: the hash must cover the exact bits")
	}
	if TensorHash([]int{4}, make([]float32, 4)) == TensorHash([]int{2, 2}, make([]float32, 4)) {
		t.Error("the shape is not covered")
	}
	// Large tensors cross the internal buffer boundary.
	big := make([]float32, 5000)
	for i := range big {
		big[i] = float32(i)
	}
	h1 := TensorHash([]int{5000}, big)
	big[4999] = 0
	if TensorHash([]int{5000}, big) == h1 {
		t.Error("the last value is not covered")
	}
}

func TestStateHashAndCheck(t *testing.T) {
	p, err := graph.Compile(graph.FashionMLP(), 8, graph.Optimizer{Kind: graph.SGD})
	if err != nil {
		t.Fatal(err)
	}
	a, b := InitialState(p, 1), InitialState(p, 1)
	if a.Hash(p) != b.Hash(p) {
		t.Fatal("initial state is not a function of the seed")
	}
	if InitialState(p, 2).Hash(p) == a.Hash(p) {
		t.Error("seeds 1 and 2 give the same state")
	}
	c := a.Clone()
	c.Step++
	if c.Hash(p) == a.Hash(p) {
		t.Error("the step number is not covered")
	}
	c = a.Clone()
	c.RNG[31] ^= 1
	if c.Hash(p) == a.Hash(p) {
		t.Error("the generator state is not covered")
	}
	c = a.Clone()
	c.Tensors[len(c.Tensors)-1][0] = 1 // optimizer state
	if c.Hash(p) == a.Hash(p) {
		t.Error("the optimizer state is not covered")
	}
	if a.Tensors[0][0] != b.Tensors[0][0] || &c.Tensors[0][0] == &a.Tensors[0][0] {
		t.Error("Clone shares memory")
	}
	if err := a.Check(p); err != nil {
		t.Fatal(err)
	}
	c.Tensors = c.Tensors[:2]
	if err := c.Check(p); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "2 tensors") {
		t.Errorf("Check = %v", err)
	}
}

func TestRunSpecValidate(t *testing.T) {
	err := RunSpec{}.Validate()
	if err == nil || !strings.Contains(err.Error(), "no program") || !strings.Contains(err.Error(), "no dataset") {
		t.Errorf("Validate = %v, want both problems named", err)
	}
}

func TestEvalAccuracy(t *testing.T) {
	if (Eval{}).Accuracy() != 0 || (Eval{Samples: 4, Correct: 3}).Accuracy() != 0.75 {
		t.Error("Accuracy")
	}
}

// referenceTensorHash is the specification, value by value.
// referenceTensorHash is the specification of TensorHash written out plainly: the value bytes
// (NaNs canonical), cut into blocks of TensorBlock values, each a leaf SHA-256(0x00 ‖ bytes),
// the Merkle root over them (internal/merkle's rule, recomputed here level by level), then
// SHA-256(domain ‖ rank ‖ dims ‖ n ‖ root).
func referenceTensorHash(shape []int, data []float32) Hash {
	var level [][32]byte
	for start := 0; start < len(data) || start == 0; start += TensorBlock {
		leaf := []byte{0}
		for _, v := range data[start:min(len(data), start+TensorBlock)] {
			bits := math.Float32bits(v)
			if v != v {
				bits = CanonicalNaN
			}
			leaf = binary.LittleEndian.AppendUint32(leaf, bits)
		}
		level = append(level, sha256.Sum256(leaf))
	}
	for len(level) > 1 {
		var next [][32]byte
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			next = append(next, sha256.Sum256(append(append([]byte{1}, level[i][:]...), level[i+1][:]...)))
		}
		level = next
	}
	b := []byte("deai/tensor/v2\x00")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(shape)))
	for _, d := range shape {
		b = binary.LittleEndian.AppendUint32(b, uint32(d))
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	b = append(b, level[0][:]...)
	return sha256.Sum256(b)
}

func TestTensorHashMatchesSpecification(t *testing.T) {
	specials := []float32{float32(math.NaN()), math.Float32frombits(0xffc00001), float32(math.Copysign(0, -1)), float32(math.Inf(-1)), math.Float32frombits(1)}
	for _, n := range []int{0, 1, 1023, 1024, 1025, 4095, 4096, 4097, 5000, 3*4096 + 7} {
		for k, special := range specials {
			data := make([]float32, n)
			for i := range data {
				data[i] = float32(i%97) * 0.37
			}
			if n > 0 {
				data[(n*(k+1))/(len(specials)+1)] = special
			}
			if got, want := TensorHash([]int{n}, data), referenceTensorHash([]int{n}, data); got != want {
				t.Fatalf("n=%d special %v: %s, specification %s", n, special, got, want)
			}
		}
	}
}

func TestHasNaN(t *testing.T) {
	nans := []uint32{0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x7fbfffff}
	others := []uint32{0, 0x80000000, 0x7f800000, 0xff800000, 0x7f7fffff, 0xff7fffff, 1, 0x80000001, 0x3f800000}
	for _, n := range []int{1, 7, 8, 9, 16, 33} {
		for off := range 2 { // aligned and unaligned starts
			buf := make([]float32, n+off)
			v := buf[off:]
			for _, o := range others {
				for i := range v {
					v[i] = math.Float32frombits(o)
				}
				if hasNaN(v) {
					t.Fatalf("n=%d off=%d: %#x reported as NaN", n, off, o)
				}
				for pos := range n {
					for _, bits := range nans {
						v[pos] = math.Float32frombits(bits)
						if !hasNaN(v) {
							t.Fatalf("n=%d off=%d: NaN %#x at %d (among %#x) missed", n, off, bits, pos, o)
						}
					}
					v[pos] = math.Float32frombits(o)
				}
			}
		}
	}
}

func TestHasherReuse(t *testing.T) {
	var h Hasher
	a := []float32{1, 2, 3}
	b := []float32{4, float32(math.NaN())}
	for range 3 {
		if got, want := h.Tensor([]int{3}, a), referenceTensorHash([]int{3}, a); got != want {
			t.Fatalf("Tensor(a) = %s, want %s", got, want)
		}
		if got, want := h.Tensor([]int{2}, b), referenceTensorHash([]int{2}, b); got != want {
			t.Fatalf("Tensor(b) = %s, want %s", got, want)
		}
		hs := []Hash{h.Tensor([]int{3}, a)}
		if got, want := h.State(7, [32]byte{1}, hs), StateHash(7, [32]byte{1}, hs); got != want {
			t.Fatalf("State = %s, want %s", got, want)
		}
	}
	hs := []Hash{{1}, {2}, {3}}
	if n := testing.AllocsPerRun(20, func() { h.Tensor([]int{3}, a); h.State(1, [32]byte{}, hs) }); n != 0 {
		t.Errorf("Hasher.Tensor and State allocate %v times per call", n)
	}
}

func BenchmarkTensorHash(b *testing.B) {
	data := make([]float32, 784*128)
	var h Hasher
	b.SetBytes(int64(4 * len(data)))
	for b.Loop() {
		h.Tensor([]int{784, 128}, data)
	}
}
