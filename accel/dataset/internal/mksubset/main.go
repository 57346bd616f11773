package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/deai-go/deai/accel/dataset"
)

func main() {
	src := flag.String("src", dataset.DefaultFashionMNISTDir, "directory of the full Fashion-MNIST")
	out := flag.String("out", "fashionmnist", "output directory")
	train := flag.Int("train", 6000, "training samples to keep")
	test := flag.Int("test", 1000, "test samples to keep")
	flag.Parse()
	if err := run(*src, *out, *train, *test, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mksubset:", err)
		os.Exit(1)
	}
}

func run(src, out string, train, test int, w io.Writer) error {
	files := []struct {
		name string
		keep int
	}{
		{"train-images-idx3-ubyte.gz", train},
		{"train-labels-idx1-ubyte.gz", train},
		{"t10k-images-idx3-ubyte.gz", test},
		{"t10k-labels-idx1-ubyte.gz", test},
	}
	total := 0
	for _, f := range files {
		x, err := readIDX(filepath.Join(src, f.name))
		if err != nil {
			return err
		}
		if f.keep < 1 || f.keep > x.Dims[0] {
			return fmt.Errorf("%s: cannot keep %d of %d samples", f.name, f.keep, x.Dims[0])
		}
		per := len(x.Data) / x.Dims[0]
		x.Dims[0] = f.keep
		x.Data = x.Data[:f.keep*per]

		var raw, gz bytes.Buffer
		if err := dataset.WriteIDX(&raw, x); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := zw.Write(raw.Bytes()); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		path := filepath.Join(out, f.name)
		if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
			return err
		}
		total += gz.Len()
		fmt.Fprintf(w, "%s: %d samples, dims %v, %d bytes gzipped, sha256 of raw IDX %x\n",
			path, f.keep, x.Dims, gz.Len(), sha256.Sum256(raw.Bytes()))
	}
	fmt.Fprintf(w, "total %d bytes\n", total)
	return nil
}

func readIDX(path string) (*dataset.IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := dataset.ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}
