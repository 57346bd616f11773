package dataset

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

//go:generate go run ./internal/mksubset

// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs the full Fashion-MNIST.
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// EmbeddedSource is the source [FashionMNIST] reports for the embedded
// subset. Passed as FashionMNIST's dir, it selects the embedded subset even
// where the full dataset is installed, so that results (and golden hashes)
// are the same on every machine.
const EmbeddedSource = "embedded:fashion-mnist-subset"

// Fashion-MNIST's shape.
const (
	FashionMNISTRows    = 28
	FashionMNISTCols    = 28
	FashionMNISTClasses = 10
)

// Embedded subset sizes: the first EmbeddedTrainN training and the first
// EmbeddedTestN test samples of Fashion-MNIST.
const (
	EmbeddedTrainN = 6000
	EmbeddedTestN  = 1000
)

//go:embed fashionmnist/*.gz
var embedded embed.FS

// fashionFiles are the four files of Fashion-MNIST, as published.
var fashionFiles = [4]string{
	"train-images-idx3-ubyte",
	"train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte",
	"t10k-labels-idx1-ubyte",
}

// LoadFashionMNIST reads Fashion-MNIST's four files from dir, each under its
// published name with the .gz suffix or, failing that, without it:
// train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz. It checks that
// images and labels agree in number, that images are 28x28 and that labels
// are below 10.
func LoadFashionMNIST(dir string) (train, test *Set, err error) {
	if dir == "" {
		return nil, nil, errors.New("dataset: fashion-mnist: empty directory name")
	}
	train, test, err = loadFashion(os.DirFS(dir))
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: fashion-mnist in %s: %w", dir, err)
	}
	return train, test, nil
}

// EmbeddedFashionMNIST returns the subset of Fashion-MNIST compiled into the
// package: the first 6,000 training and the first 1,000 test samples (see
// fashionmnist/README.txt; MIT licence, Copyright (c) 2017 Zalando SE).
func EmbeddedFashionMNIST() (train, test *Set, err error) {
	sub, err := fs.Sub(embedded, "fashionmnist")
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: embedded fashion-mnist: %w", err)
	}
	train, test, err = loadFashion(sub)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: embedded fashion-mnist: %w", err)
	}
	return train, test, nil
}

// FashionMNIST loads Fashion-MNIST from the first of these that applies and
// reports which in source:
//
//   - dir, if it is neither empty nor [EmbeddedSource] (an error if it cannot
//     be loaded); source is dir;
//   - the embedded subset if dir is EmbeddedSource; source is EmbeddedSource;
//   - [DefaultFashionMNISTDir] if that directory exists (an error if it
//     cannot be loaded: a broken installation is reported, not papered
//     over); source is DefaultFashionMNISTDir;
//   - the embedded subset; source is EmbeddedSource.
func FashionMNIST(dir string) (train, test *Set, source string, err error) {
	switch dir {
	case EmbeddedSource:
	case "":
		if fi, statErr := os.Stat(DefaultFashionMNISTDir); statErr == nil && fi.IsDir() {
			train, test, err = LoadFashionMNIST(DefaultFashionMNISTDir)
			return train, test, DefaultFashionMNISTDir, err
		}
	default:
		train, test, err = LoadFashionMNIST(dir)
		return train, test, dir, err
	}
	train, test, err = EmbeddedFashionMNIST()
	return train, test, EmbeddedSource, err
}

// loadFashion reads the four files from fsys.
func loadFashion(fsys fs.FS) (train, test *Set, err error) {
	var x [4]*IDX
	for i, name := range fashionFiles {
		if x[i], err = readIDXFile(fsys, name); err != nil {
			return nil, nil, err
		}
	}
	if train, err = fashionSet(x[0], x[1]); err != nil {
		return nil, nil, fmt.Errorf("training set: %w", err)
	}
	if test, err = fashionSet(x[2], x[3]); err != nil {
		return nil, nil, fmt.Errorf("test set: %w", err)
	}
	return train, test, nil
}

// readIDXFile reads name.gz from fsys or, if that does not exist, name.
func readIDXFile(fsys fs.FS, name string) (*IDX, error) {
	file := name + ".gz"
	f, err := fsys.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		file = name
		f, err = fsys.Open(file)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("neither %s.gz nor %s: %w", name, name, fs.ErrNotExist)
		}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return x, nil
}

// fashionSet builds a Set and checks Fashion-MNIST's shape.
func fashionSet(images, labels *IDX) (*Set, error) {
	if len(images.Dims) == 3 && (images.Dims[1] != FashionMNISTRows || images.Dims[2] != FashionMNISTCols) {
		return nil, fmt.Errorf("%w: images are %dx%d, want %dx%d", ErrInvalidSet,
			images.Dims[1], images.Dims[2], FashionMNISTRows, FashionMNISTCols)
	}
	return FromIDX(images, labels, FashionMNISTClasses)
}
