package dataset

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/deai-go/deai/internal/merkle"
)

// sampleTag opens every sample encoding (see the package documentation).
const sampleTag = "deai/sample/v1"

// appendSample appends the canonical encoding of sample i to dst.
func appendSample(dst []byte, i int, img []float32, label int32, rows, cols int) []byte {
	dst = append(dst, sampleTag...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(i))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(label))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(rows))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(cols))
	for _, v := range img {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

// tree builds (once) and returns the Merkle tree over the sample leaves.
func (s *Set) tree() (*merkle.Tree, error) {
	c := &s.commit
	c.once.Do(func() {
		if err := s.shapeErr(); err != nil {
			c.err = err
			return
		}
		leaves := make([]merkle.Hash, s.N)
		d := s.Rows * s.Cols
		// Leaves are independent outputs: split them into contiguous ranges,
		// one per worker. The result does not depend on the split.
		workers := min(runtime.GOMAXPROCS(0), max(1, s.N/256))
		var wg sync.WaitGroup
		for w := range workers {
			lo, hi := s.N*w/workers, s.N*(w+1)/workers
			wg.Go(func() {
				buf := make([]byte, 0, len(sampleTag)+16+4*d)
				for i := lo; i < hi; i++ {
					buf = appendSample(buf[:0], i, s.Images[i*d:(i+1)*d], s.Labels[i], s.Rows, s.Cols)
					leaves[i] = merkle.LeafHash(buf)
				}
			})
		}
		wg.Wait()
		c.tree = merkle.New(leaves)
	})
	return c.tree, c.err
}

// Commitment returns the Merkle root over the samples' leaves, specified in
// the package documentation; the empty Set has [merkle.EmptyRoot]. The first
// call hashes every sample (about 190 MB for the 60,000 Fashion-MNIST
// training images) and caches the tree, so s must not change afterwards.
// A Set whose lengths disagree with N, Rows and Cols (see [Set.Validate]) has
// no commitment: Commitment returns the zero Hash, which no Set has, and
// [Set.SampleProof] returns the error.
func (s *Set) Commitment() merkle.Hash {
	t, err := s.tree()
	if err != nil {
		return merkle.Hash{}
	}
	return t.Root()
}

// SampleProof returns the Merkle proof that sample i belongs to the Set with
// root [Set.Commitment]. It builds and caches the tree as Commitment does.
func (s *Set) SampleProof(i int) (merkle.Proof, error) {
	t, err := s.tree()
	if err != nil {
		return merkle.Proof{}, fmt.Errorf("dataset: sample proof: %w", err)
	}
	p, err := t.Proof(i)
	if err != nil {
		return merkle.Proof{}, fmt.Errorf("dataset: sample proof: %w", err)
	}
	return p, nil
}

// VerifySample checks that image img (rows×cols values) with label is sample
// i of the Set whose commitment is root, using proof p from
// [Set.SampleProof]. The caller must also check p.Size against the committed
// number of samples: the root alone does not pin it for every index (see
// package merkle). Every failure wraps [merkle.ErrInvalidProof].
func VerifySample(root merkle.Hash, i int, img []float32, label int32, rows, cols int, p merkle.Proof) error {
	if i < 0 || i > math.MaxInt32 || uint64(i) != p.Index {
		return fmt.Errorf("dataset: sample %d: %w: proof is for index %d", i, merkle.ErrInvalidProof, p.Index)
	}
	if rows < 1 || cols < 1 || rows > math.MaxInt32 || cols > math.MaxInt32 || uint64(len(img)) != uint64(rows)*uint64(cols) {
		return fmt.Errorf("dataset: sample %d: %w: %d values for a %dx%d image", i, merkle.ErrInvalidProof, len(img), rows, cols)
	}
	leaf := merkle.LeafHash(appendSample(nil, i, img, label, rows, cols))
	if err := merkle.Verify(root, leaf, p); err != nil {
		return fmt.Errorf("dataset: sample %d: %w", i, err)
	}
	return nil
}
