package dataset

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/deai-go/deai/internal/golden"

	"github.com/deai-go/deai/internal/merkle"
)

// TestSampleEncoding pins the leaf of a one-sample set to bytes written out by
// hand from the package documentation.
func TestSampleEncoding(t *testing.T) {
	s := &Set{N: 1, Rows: 1, Cols: 2, Classes: 10, Images: []float32{1, -0.5}, Labels: []int32{7}}
	enc := []byte("deai/sample/v1")
	enc = append(enc, 0, 0, 0, 0)             // index 0
	enc = append(enc, 7, 0, 0, 0)             // label 7
	enc = append(enc, 1, 0, 0, 0)             // rows 1
	enc = append(enc, 2, 0, 0, 0)             // cols 2
	enc = append(enc, 0x00, 0x00, 0x80, 0x3f) // 1.0
	enc = append(enc, 0x00, 0x00, 0x00, 0xbf) // -0.5
	leaf := merkle.Hash(sha256.Sum256(append([]byte{0}, enc...)))
	if got := s.Commitment(); got != leaf {
		t.Fatalf("Commitment = %s, want %s", got, leaf)
	}
	if got := appendSample(nil, 0, s.Images, 7, 1, 2); string(got) != string(enc) {
		t.Fatalf("encoding %x, want %x", got, enc)
	}
	if got := appendSample(nil, 0x01020304, nil, -2, 28, 28); string(got[14:]) != "\x04\x03\x02\x01\xfe\xff\xff\xff\x1c\x00\x00\x00\x1c\x00\x00\x00" {
		t.Fatalf("index and negative label encode as %x", got[14:])
	}
}

// TestCommitmentIndependent recomputes a commitment sequentially, without the
// package's encoder or worker split.
func TestCommitmentIndependent(t *testing.T) {
	s := tinySet(1001)
	leaves := make([]merkle.Hash, s.N)
	for i := range leaves {
		enc := []byte("deai/sample/v1")
		for _, v := range []uint32{uint32(i), uint32(s.Labels[i]), 2, 3} {
			enc = binary.LittleEndian.AppendUint32(enc, v)
		}
		for _, v := range s.Images[6*i : 6*i+6] {
			enc = binary.LittleEndian.AppendUint32(enc, math.Float32bits(v))
		}
		leaves[i] = merkle.LeafHash(enc)
	}
	if got, want := s.Commitment(), merkle.Root(leaves); got != want {
		t.Fatalf("Commitment = %s, want %s", got, want)
	}
	if got := (&Set{Rows: 28, Cols: 28, Classes: 10}).Commitment(); got != merkle.EmptyRoot {
		t.Fatalf("empty set commitment %s, want EmptyRoot", got)
	}
}

// TestCommitmentGOMAXPROCS: the worker split must not change the root.
func TestCommitmentGOMAXPROCS(t *testing.T) {
	var want merkle.Hash
	for _, procs := range []int{1, 2, 3, 7, 16} {
		prev := runtime.GOMAXPROCS(procs)
		got := tinySet(5000).Commitment()
		runtime.GOMAXPROCS(prev)
		if procs == 1 {
			want = got
		} else if got != want {
			t.Fatalf("GOMAXPROCS %d: %s, want %s", procs, got, want)
		}
	}
}

func TestCommitmentConcurrent(t *testing.T) {
	s := tinySet(3000)
	want := tinySet(3000).Commitment()
	var wg sync.WaitGroup
	got := make([]merkle.Hash, 8)
	for g := range got {
		wg.Go(func() {
			if g%2 == 0 {
				got[g] = s.Commitment()
				return
			}
			p, err := s.SampleProof(g)
			if err == nil {
				img, l := s.Sample(g)
				err = VerifySample(want, g, img, l, 2, 3, p)
			}
			if err != nil {
				t.Error(err)
			}
			got[g] = want
		})
	}
	wg.Wait()
	for g, h := range got {
		if h != want {
			t.Errorf("goroutine %d: %s, want %s", g, h, want)
		}
	}
}

func TestCommitmentInvalid(t *testing.T) {
	s := tinySet(4)
	s.Images = s.Images[:5]
	if got := s.Commitment(); got != (merkle.Hash{}) {
		t.Fatalf("inconsistent set commitment %s, want zero", got)
	}
	if _, err := s.SampleProof(0); !errors.Is(err, ErrInvalidSet) {
		t.Fatalf("SampleProof: err = %v", err)
	}
}

func TestSampleProof(t *testing.T) {
	_, test, err := EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	root := test.Commitment()
	for _, i := range []int{0, 1, 499, 998, 999} {
		p, err := test.SampleProof(i)
		if err != nil {
			t.Fatal(err)
		}
		img, label := test.Sample(i)
		if err := VerifySample(root, i, img, label, 28, 28, p); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if p.Size != uint64(test.N) {
			t.Fatalf("proof size %d", p.Size)
		}
	}

	p, _ := test.SampleProof(5)
	img, label := test.Sample(5)
	tampered := append([]float32(nil), img...)
	tampered[400] = math.Float32frombits(math.Float32bits(tampered[400]) ^ 1)
	other, _ := test.Sample(6)
	tests := []struct {
		name       string
		i          int
		img        []float32
		label      int32
		rows, cols int
		p          merkle.Proof
	}{
		{"one pixel bit", 5, tampered, label, 28, 28, p},
		{"label", 5, img, (label + 1) % 10, 28, 28, p},
		{"other image", 5, other, label, 28, 28, p},
		{"index", 6, img, label, 28, 28, p},
		{"index claimed by proof", 6, img, label, 28, 28, merkle.Proof{Index: 6, Size: p.Size, Siblings: p.Siblings}},
		{"negative index", -1, img, label, 28, 28, p},
		{"shape", 5, img, label, 784, 1, p},
		{"short image", 5, img[:783], label, 28, 28, p},
		{"zero rows", 5, nil, label, 0, 28, p},
		{"wrong size", 5, img, label, 28, 28, merkle.Proof{Index: 5, Size: 2000, Siblings: p.Siblings}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySample(root, tt.i, tt.img, tt.label, tt.rows, tt.cols, tt.p)
			if !errors.Is(err, merkle.ErrInvalidProof) {
				t.Fatalf("err = %v, want merkle.ErrInvalidProof", err)
			}
		})
	}
	for _, i := range []int{-1, test.N} {
		if _, err := test.SampleProof(i); !errors.Is(err, merkle.ErrIndexOutOfRange) {
			t.Errorf("SampleProof(%d): err = %v", i, err)
		}
	}
}

// TestCommitmentGolden compares the commitments of Fashion-MNIST with
// testdata/commitment.txt ("hex  name" lines). The embedded subset is always
// checked, the full dataset when installed. Run with -rewrite after a
// deliberate change of the encoding.
func TestCommitmentGolden(t *testing.T) {
	etrain, etest, err := EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	got := []golden.Entry{
		{Name: "embedded train", Value: etrain.Commitment().String()},
		{Name: "embedded test", Value: etest.Commitment().String()},
	}
	if full := fullFashionMNIST(t, false); full != nil {
		got = append(got, golden.Entry{Name: "full train", Value: full.train.Commitment().String()},
			golden.Entry{Name: "full test", Value: full.test.Commitment().String()})
	}
	if golden.Rewriting() && len(got) != 4 {
		t.Fatal("-rewrite needs the full Fashion-MNIST (Debian package dataset-fashion-mnist)")
	}
	golden.Entries(t, filepath.Join("testdata", "commitment.txt"), "", got)
}

func BenchmarkCommitmentEmbeddedTrain(b *testing.B) {
	train, _, err := EmbeddedFashionMNIST()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(train.N) * (14 + 16 + 4*784))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := &Set{Images: train.Images, Labels: train.Labels, N: train.N, Rows: train.Rows, Cols: train.Cols, Classes: train.Classes}
		s.Commitment()
	}
}
