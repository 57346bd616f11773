package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

type fullSets struct{ train, test *Set }

var (
	fullOnce sync.Once
	full     *fullSets
	fullErr  error
)

// fullFashionMNIST loads the installed full dataset once per test binary. It
// returns nil when the dataset is not installed (or under -short), skipping t
// if skip is set.
func fullFashionMNIST(t testing.TB, skip bool) *fullSets {
	t.Helper()
	if _, err := os.Stat(DefaultFashionMNISTDir); err != nil || testing.Short() {
		if skip {
			t.Skipf("full Fashion-MNIST not used (-short, or %s missing: apt-get install dataset-fashion-mnist)", DefaultFashionMNISTDir)
		}
		return nil
	}
	fullOnce.Do(func() {
		var s fullSets
		s.train, s.test, fullErr = LoadFashionMNIST(DefaultFashionMNISTDir)
		full = &s
	})
	if fullErr != nil {
		t.Fatal(fullErr)
	}
	return full
}

func checkFashion(t *testing.T, s *Set, n int) {
	t.Helper()
	if s.N != n || s.Rows != 28 || s.Cols != 28 || s.Classes != 10 || len(s.Images) != n*784 || len(s.Labels) != n {
		t.Fatalf("set N=%d %dx%d classes %d, %d values %d labels; want N=%d 28x28 10", s.N, s.Rows, s.Cols, s.Classes, len(s.Images), len(s.Labels), n)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	var counts [10]int
	for _, l := range s.Labels {
		counts[l]++
	}
	for c, k := range counts {
		if k < n/20 {
			t.Errorf("class %d has %d of %d samples", c, k, n)
		}
	}
	for _, v := range s.Images {
		if v < 0 || v > 1 {
			t.Fatalf("pixel %v outside [0, 1]", v)
		}
	}
}

func TestEmbeddedFashionMNIST(t *testing.T) {
	train, test, err := EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	checkFashion(t, train, EmbeddedTrainN)
	checkFashion(t, test, EmbeddedTestN)
	// The first labels of the published files.
	if got := train.Labels[:10]; !equalI32(got, []int32{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}) {
		t.Errorf("first training labels %v", got)
	}
	if got := test.Labels[:10]; !equalI32(got, []int32{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}) {
		t.Errorf("first test labels %v", got)
	}
	size := 0
	for _, name := range fashionFiles {
		fi, err := fs.Stat(embedded, "fashionmnist/"+name+".gz")
		if err != nil {
			t.Fatal(err)
		}
		size += int(fi.Size())
	}
	if size >= 5<<20 {
		t.Errorf("embedded subset is %d bytes, want under 5 MiB", size)
	}
}

// TestFullFashionMNIST checks the installed dataset and that the embedded
// subset is its first samples.
func TestFullFashionMNIST(t *testing.T) {
	f := fullFashionMNIST(t, true)
	checkFashion(t, f.train, 60000)
	checkFashion(t, f.test, 10000)
	etrain, etest, err := EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		sub, full *Set
	}{{"train", etrain, f.train}, {"test", etest, f.test}} {
		n := c.sub.N
		if !equalF32(c.sub.Images, c.full.Images[:n*784]) || !equalI32(c.sub.Labels, c.full.Labels[:n]) {
			t.Errorf("embedded %s subset differs from the first %d samples of the full set", c.name, n)
		}
	}
}

func TestFashionMNISTSource(t *testing.T) {
	train, test, src, err := FashionMNIST(EmbeddedSource)
	if err != nil || src != EmbeddedSource || train.N != EmbeddedTrainN || test.N != EmbeddedTestN {
		t.Fatalf("FashionMNIST(EmbeddedSource) = %d, %d, %q, %v", train.N, test.N, src, err)
	}

	dir := t.TempDir()
	writeSubset(t, dir, train, test, false)
	tr2, te2, src, err := FashionMNIST(dir)
	if err != nil || src != dir {
		t.Fatalf("FashionMNIST(%s): source %q, err %v", dir, src, err)
	}
	if !equalF32(tr2.Images, train.Images) || !equalI32(te2.Labels, test.Labels) {
		t.Fatal("uncompressed copy reads differently")
	}

	missing := filepath.Join(dir, "nope")
	if _, _, src, err := FashionMNIST(missing); !errors.Is(err, fs.ErrNotExist) || src != missing || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing dir: source %q, err %v", src, err)
	}
	if _, _, err := LoadFashionMNIST(""); err == nil {
		t.Fatal("LoadFashionMNIST(\"\") succeeded")
	}

	if testing.Short() {
		return
	}
	_, _, src, err = FashionMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	want := EmbeddedSource
	if _, statErr := os.Stat(DefaultFashionMNISTDir); statErr == nil {
		want = DefaultFashionMNISTDir
	}
	if src != want {
		t.Fatalf("FashionMNIST(\"\") source %q, want %q", src, want)
	}
}

// writeSubset writes the four files of train and test to dir, gzipped or raw.
func writeSubset(t *testing.T, dir string, train, test *Set, gz bool) {
	t.Helper()
	for i, name := range fashionFiles {
		s := train
		if i >= 2 {
			s = test
		}
		x := &IDX{Type: TypeUbyte}
		if i%2 == 0 {
			x.Dims = []int{s.N, s.Rows, s.Cols}
			for _, v := range s.Images {
				x.Data = append(x.Data, byte(v*255+0.5))
			}
		} else {
			x.Dims = []int{s.N}
			for _, l := range s.Labels {
				x.Data = append(x.Data, byte(l))
			}
		}
		writeIDXFile(t, dir, name, x, gz)
	}
}

func writeIDXFile(t *testing.T, dir, name string, x *IDX, gz bool) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIDX(&buf, x); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b)
		zw.Close()
		b, name = z.Bytes(), name+".gz"
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFashionMNISTErrors(t *testing.T) {
	img := func(n, rows, cols int) *IDX {
		return &IDX{Type: TypeUbyte, Dims: []int{n, rows, cols}, Data: make([]byte, n*rows*cols)}
	}
	lab := func(n int, last byte) *IDX {
		x := &IDX{Type: TypeUbyte, Dims: []int{n}, Data: make([]byte, n)}
		x.Data[n-1] = last
		return x
	}
	tests := []struct {
		name  string
		files [4]*IDX
		want  error
		msg   string
	}{
		{"count mismatch", [4]*IDX{img(3, 28, 28), lab(2, 0), img(1, 28, 28), lab(1, 0)}, ErrInvalidSet, "training set: dataset: invalid set: 3 images but 2 labels"},
		{"not 28x28", [4]*IDX{img(2, 28, 28), lab(2, 0), img(1, 27, 28), lab(1, 0)}, ErrInvalidSet, "test set: dataset: invalid set: images are 27x28, want 28x28"},
		{"label 10", [4]*IDX{img(2, 28, 28), lab(2, 10), img(1, 28, 28), lab(1, 0)}, ErrInvalidSet, "label 10 of sample 1 is not below 10 classes"},
		{"labels as images", [4]*IDX{img(2, 28, 28), img(2, 28, 28), img(1, 28, 28), lab(1, 0)}, ErrInvalidSet, "labels have 3 dimensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, x := range tt.files {
				writeIDXFile(t, dir, fashionFiles[i], x, i%2 == 0)
			}
			_, _, err := LoadFashionMNIST(dir)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want %v mentioning %q and the directory", err, tt.want, tt.msg)
			}
		})
	}

	t.Run("corrupt file named", func(t *testing.T) {
		dir := t.TempDir()
		train, test, _ := EmbeddedFashionMNIST()
		sub, _ := train.Subset([]int32{0, 1})
		writeSubset(t, dir, sub, test, true)
		p := filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")
		b, _ := os.ReadFile(p)
		b[len(b)-8] ^= 1
		os.WriteFile(p, b, 0o644)
		_, _, err := LoadFashionMNIST(dir)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte.gz: dataset: idx: corrupt gzip stream") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("gz preferred", func(t *testing.T) {
		dir := t.TempDir()
		train, test, _ := EmbeddedFashionMNIST()
		sub, _ := train.Subset([]int32{0, 1})
		writeSubset(t, dir, sub, test, true)
		os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), []byte("not read"), 0o644)
		tr, _, err := LoadFashionMNIST(dir)
		if err != nil || tr.N != 2 {
			t.Fatalf("N %v, err %v", tr, err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		_, _, err := LoadFashionMNIST(dir)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "neither train-images-idx3-ubyte.gz nor train-images-idx3-ubyte") {
			t.Fatalf("err = %v", err)
		}
	})
}

func equalI32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkEmbeddedFashionMNIST(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, _, err := EmbeddedFashionMNIST(); err != nil {
			b.Fatal(err)
		}
	}
}
