package dataset

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/deai-go/deai/internal/merkle"
)

// ErrInvalidSet is returned, wrapped with the facts, for a Set whose shape,
// labels or values are inconsistent.
var ErrInvalidSet = errors.New("dataset: invalid set")

// Set is a labelled image dataset in memory: N images of Rows×Cols float32
// pixels, stored sample after sample in row-major order in Images, and their
// Labels in [0, Classes).
//
// Sets read from IDX files hold pixel byte b as float32(b)/255 (one
// correctly rounded float32 division, so 0 → 0 and 255 → 1 exactly).
//
// A Set caches its Merkle tree on the first call of [Set.Commitment] or
// [Set.SampleProof], and the result of [Set.Validate] on its first call;
// after either it must be neither modified nor copied. Its methods are safe
// for concurrent use as long as nobody modifies it.
type Set struct {
	Images  []float32
	Labels  []int32
	N       int
	Rows    int
	Cols    int
	Classes int

	commit struct {
		once sync.Once
		tree *merkle.Tree
		err  error
	}
	valid struct {
		once sync.Once
		err  error
	}
}

// pixelValues maps a pixel byte b to float32(b)/255.
var pixelValues = func() (t [256]float32) {
	for b := range t {
		t[b] = float32(b) / 255
	}
	return t
}()

// FromIDX builds a Set from an images file of dimensions (n, rows, cols) and
// a labels file of dimension (n), scaling pixels as the [Set] documentation
// says, and checks that every label is below classes.
func FromIDX(images, labels *IDX, classes int) (*Set, error) {
	if len(images.Dims) != 3 {
		return nil, fmt.Errorf("%w: images have %d dimensions %v, want 3 (count, rows, cols)", ErrInvalidSet, len(images.Dims), images.Dims)
	}
	if len(labels.Dims) != 1 {
		return nil, fmt.Errorf("%w: labels have %d dimensions %v, want 1 (count)", ErrInvalidSet, len(labels.Dims), labels.Dims)
	}
	n, rows, cols := images.Dims[0], images.Dims[1], images.Dims[2]
	if labels.Dims[0] != n {
		return nil, fmt.Errorf("%w: %d images but %d labels", ErrInvalidSet, n, labels.Dims[0])
	}
	if len(images.Data) != n*rows*cols || len(labels.Data) != n {
		return nil, fmt.Errorf("%w: IDX data lengths %d and %d do not match dimensions %v and %v",
			ErrInvalidSet, len(images.Data), len(labels.Data), images.Dims, labels.Dims)
	}
	if classes < 1 || classes > 256 {
		return nil, fmt.Errorf("%w: %d classes, want 1 to 256 for byte labels", ErrInvalidSet, classes)
	}
	s := &Set{
		Images:  make([]float32, len(images.Data)),
		Labels:  make([]int32, n),
		N:       n,
		Rows:    rows,
		Cols:    cols,
		Classes: classes,
	}
	for i, b := range images.Data {
		s.Images[i] = pixelValues[b]
	}
	for i, b := range labels.Data {
		if int(b) >= classes {
			return nil, fmt.Errorf("%w: label %d of sample %d is not below %d classes", ErrInvalidSet, b, i, classes)
		}
		s.Labels[i] = int32(b)
	}
	return s, nil
}

// Sample returns image i (a Rows×Cols slice aliasing s.Images, not a copy)
// and its label. It panics if i is not in [0, N), like an index expression.
func (s *Set) Sample(i int) (img []float32, label int32) {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("dataset: sample index %d out of range [0, %d)", i, s.N))
	}
	d := s.Rows * s.Cols
	return s.Images[i*d : (i+1)*d : (i+1)*d], s.Labels[i]
}

// shapeErr reports every inconsistency of the counts and lengths.
func (s *Set) shapeErr() error {
	var errs []error
	if s.N < 0 || s.N > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("%w: N is %d, want 0 to %d", ErrInvalidSet, s.N, math.MaxInt32))
	}
	if s.Rows < 1 || s.Cols < 1 || s.Rows > math.MaxInt32 || s.Cols > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("%w: image shape %dx%d, want at least 1x1", ErrInvalidSet, s.Rows, s.Cols))
	}
	if s.Classes < 1 {
		errs = append(errs, fmt.Errorf("%w: %d classes, want at least 1", ErrInvalidSet, s.Classes))
	}
	if len(errs) == 0 {
		hi, want := bits.Mul64(uint64(s.N), uint64(s.Rows)*uint64(s.Cols))
		if hi != 0 || want != uint64(len(s.Images)) {
			errs = append(errs, fmt.Errorf("%w: %d image values, want N×Rows×Cols = %d×%d×%d",
				ErrInvalidSet, len(s.Images), s.N, s.Rows, s.Cols))
		}
	}
	if len(s.Labels) != s.N {
		errs = append(errs, fmt.Errorf("%w: %d labels, want N = %d", ErrInvalidSet, len(s.Labels), s.N))
	}
	return errors.Join(errs...)
}

// Validate checks that the lengths agree with N, Rows and Cols, that every
// label is in [0, Classes) and that every pixel value is finite. It returns
// all shape problems joined, or the first bad label or value with its index,
// each wrapping [ErrInvalidSet].
func (s *Set) Validate() error {
	s.valid.once.Do(func() { s.valid.err = s.validate() })
	return s.valid.err
}

// validate does the work of Validate, which caches its result: a backend validates a dataset
// on every Open, and a verifier opens one run per sampled step.
func (s *Set) validate() error {
	if err := s.shapeErr(); err != nil {
		return err
	}
	for i, l := range s.Labels {
		if l < 0 || int(l) >= s.Classes {
			return fmt.Errorf("%w: label %d of sample %d is outside [0, %d)", ErrInvalidSet, l, i, s.Classes)
		}
	}
	d := s.Rows * s.Cols
	for i, v := range s.Images {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: value %v at index %d (sample %d, pixel %d) is not finite", ErrInvalidSet, v, i, i/d, i%d)
		}
	}
	return nil
}

// Subset returns a new Set of the samples idx[0], idx[1], ... in that order,
// copied (repetitions allowed). It fails if s's shape is inconsistent or an
// index is out of range.
func (s *Set) Subset(idx []int32) (*Set, error) {
	if err := s.shapeErr(); err != nil {
		return nil, err
	}
	d := s.Rows * s.Cols
	t := &Set{
		Images:  make([]float32, len(idx)*d),
		Labels:  make([]int32, len(idx)),
		N:       len(idx),
		Rows:    s.Rows,
		Cols:    s.Cols,
		Classes: s.Classes,
	}
	for k, i := range idx {
		if i < 0 || int(i) >= s.N {
			return nil, fmt.Errorf("%w: subset index %d (position %d) out of range [0, %d)", ErrInvalidSet, i, k, s.N)
		}
		copy(t.Images[k*d:(k+1)*d], s.Images[int(i)*d:])
		t.Labels[k] = s.Labels[i]
	}
	return t, nil
}
