// Command mksubset writes the Fashion-MNIST subset that package dataset
// embeds: the first 6,000 training and the first 1,000 test samples of the
// full dataset, as gzipped IDX files with the original names.
//
// Run it from accel/dataset (go generate does) with the full dataset
// installed (Debian: apt-get install dataset-fashion-mnist):
//
//	go run ./internal/mksubset [-src /usr/share/datasets/fashion-mnist] [-out fashionmnist]
//
// The output is deterministic for a given Go release: each file is the raw
// IDX encoding of the kept samples, compressed by compress/gzip at
// BestCompression with an empty gzip header (no name, no modification time).
// Different Go releases may compress differently; the decompressed bytes, and
// so the dataset commitment pinned in accel/dataset/testdata, do not change.
package main
