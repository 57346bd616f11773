package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-go/deai/accel/dataset"
)

// TestRunMatchesEmbedded regenerates the subset into a temporary directory
// and checks that it decompresses to exactly the committed files: a drift
// test for accel/dataset/fashionmnist.
func TestRunMatchesEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("compresses 5 MB at BestCompression; skipped with -short")
	}
	if _, err := os.Stat(dataset.DefaultFashionMNISTDir); err != nil {
		t.Skipf("%s missing: apt-get install dataset-fashion-mnist", dataset.DefaultFashionMNISTDir)
	}
	out := t.TempDir()
	var log bytes.Buffer
	if err := run(dataset.DefaultFashionMNISTDir, out, 6000, 1000, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "total ") {
		t.Errorf("log %q", log.String())
	}
	for _, name := range []string{
		"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
		"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
	} {
		got := gunzip(t, filepath.Join(out, name))
		want := gunzip(t, filepath.Join("..", "..", "fashionmnist", name))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: regenerated content differs from the committed file", name)
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	if err := run(filepath.Join(dir, "missing"), dir, 1, 1, io.Discard); err == nil {
		t.Error("missing source: no error")
	}
	if _, err := os.Stat(dataset.DefaultFashionMNISTDir); err == nil {
		if err := run(dataset.DefaultFashionMNISTDir, dir, 60001, 1, io.Discard); err == nil || !strings.Contains(err.Error(), "cannot keep 60001 of 60000") {
			t.Errorf("too many samples: err = %v", err)
		}
	}
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
