package accel

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"unsafe"

	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/internal/rng"
)

// TrainingStream is the generator stream number reserved for randomness drawn during training
// (stream numbers below it seed the parameters, one per parameter).
const TrainingStream = 1 << 62

// State is a training state: the step number, the training generator's state and the
// contents of every state slot of a program (parameters, then optimizer state), in
// Program.State order.
type State struct {
	Step    uint64
	RNG     [32]byte
	Tensors [][]float32
}

// InitialState returns the state a run seeded with seed starts from.
func InitialState(p *graph.Program, seed uint64) *State {
	st := &State{Tensors: p.InitState(seed)}
	b, _ := rng.New(seed, TrainingStream).State().MarshalBinary()
	copy(st.RNG[:], b)
	return st
}

// Clone returns a deep copy of s.
func (s *State) Clone() *State {
	c := &State{Step: s.Step, RNG: s.RNG, Tensors: make([][]float32, len(s.Tensors))}
	for i, t := range s.Tensors {
		c.Tensors[i] = append([]float32(nil), t...)
	}
	return c
}

// Check reports whether s fits program p: one tensor per state slot, of the slot's size.
func (s *State) Check(p *graph.Program) error {
	if len(s.Tensors) != len(p.State) {
		return fmt.Errorf("%w: state has %d tensors, the program %d", ErrInvalidArgument, len(s.Tensors), len(p.State))
	}
	for i, slot := range p.State {
		sl := p.Slots[slot]
		if len(s.Tensors[i]) != sl.Shape.Size() {
			return fmt.Errorf("%w: state tensor %d (%s) has %d values, want %d for shape %v", ErrInvalidArgument, i, sl.Name, len(s.Tensors[i]), sl.Shape.Size(), sl.Shape)
		}
	}
	return nil
}

// Hash returns the state hash of s under program p (see the package documentation). s must
// fit p (Check).
func (s *State) Hash(p *graph.Program) Hash {
	hs := make([]Hash, len(s.Tensors))
	for i, t := range s.Tensors {
		hs[i] = TensorHash(p.Slots[p.State[i]].Shape, t)
	}
	return StateHash(s.Step, s.RNG, hs)
}

const (
	tensorDomain = "deai/tensor/v2\x00"
	stateDomain  = "deai/state/v1\x00"
	// CanonicalNaN is the bit pattern every NaN is hashed as, so that hashes do not depend on
	// the NaN payloads different processors produce.
	CanonicalNaN = 0x7fc00000
)

// TensorBlock is the number of values in each leaf of a tensor's Merkle tree (16 KiB).
const TensorBlock = 4096

// TensorBlocks returns the number of leaves of the Merkle tree of a tensor of n values:
// ⌈n/TensorBlock⌉, and 1 for an empty tensor.
func TensorBlocks(n int) int { return max(1, (n+TensorBlock-1)/TensorBlock) }

// TensorHash returns SHA-256("deai/tensor/v2\x00" ‖ u32 rank ‖ u32 dims… ‖ u64 n ‖ root), where
// root is the Merkle root (internal/merkle: leaves SHA-256(0x00 ‖ data), nodes SHA-256(0x01 ‖
// left ‖ right), an odd node promoted) over blocks of TensorBlock consecutive values, each
// value as its float32 bits, little-endian, with every NaN replaced by CanonicalNaN (the last
// block shorter; an empty tensor has one empty block). The tree makes any block of a
// committed state provable by a Merkle path, and lets the blocks be hashed in parallel. It
// allocates its hash state; loops that hash every step use a Hasher.
func TensorHash(shape []int, data []float32) Hash {
	var h Hasher
	return h.Tensor(shape, data)
}

// Hasher computes TensorHash and StateHash reusing its hash state and buffers, so that hashing
// allocates nothing after the first calls. The zero value is ready to use. A Hasher is not
// safe for concurrent use; hashing in parallel takes one Hasher per goroutine (Leaf for the
// blocks, Root to finish a tensor).
type Hasher struct {
	h      hash.Hash
	buf    [4096]byte
	sum    [32]byte
	leaves []Hash
}

func (x *Hasher) reset() hash.Hash {
	if x.h == nil {
		x.h = sha256.New()
	} else {
		x.h.Reset()
	}
	return x.h
}

// Tensor returns TensorHash(shape, data).
func (x *Hasher) Tensor(shape []int, data []float32) Hash {
	n := TensorBlocks(len(data))
	if cap(x.leaves) < n {
		x.leaves = make([]Hash, n)
	}
	leaves := x.leaves[:n]
	for i := range leaves {
		leaves[i] = x.Leaf(data[min(len(data), i*TensorBlock):min(len(data), (i+1)*TensorBlock)])
	}
	return x.Root(shape, len(data), leaves)
}

// Leaf returns the Merkle leaf of one block of a tensor (at most TensorBlock values; block i
// of a tensor is values [i·TensorBlock, (i+1)·TensorBlock)).
func (x *Hasher) Leaf(block []float32) Hash {
	h := x.reset()
	x.buf[0] = 0x00 // merkle leaf prefix
	h.Write(x.buf[:1])
	// Write in pieces: a piece without NaN is written as it lies in memory where that is the
	// specified little-endian layout; otherwise (a NaN, or a big-endian machine) value by value.
	const piece = len(x.buf) / 4
	for len(block) > 0 {
		n := min(piece, len(block))
		chunk := block[:n]
		block = block[n:]
		if littleEndian && !hasNaN(chunk) {
			h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&chunk[0])), 4*n))
			continue
		}
		b := x.buf[:0]
		for _, v := range chunk {
			bits := math.Float32bits(v)
			if v != v {
				bits = CanonicalNaN
			}
			b = binary.LittleEndian.AppendUint32(b, bits)
		}
		h.Write(b)
	}
	return Hash(h.Sum(x.sum[:0]))
}

// Root returns the TensorHash of a tensor of the given shape and n values from the Merkle
// leaves of its blocks (TensorBlocks(n) of them, by Leaf); it overwrites leaves.
func (x *Hasher) Root(shape []int, n int, leaves []Hash) Hash {
	var root Hash
	if len(leaves) > 0 {
		root = Hash(merkle.RootInPlace(unsafe.Slice((*merkle.Hash)(unsafe.Pointer(&leaves[0])), len(leaves))))
	} else {
		root = Hash(merkle.EmptyRoot)
	}
	h := x.reset()
	b := append(x.buf[:0], tensorDomain...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(shape)))
	for _, d := range shape {
		b = binary.LittleEndian.AppendUint32(b, uint32(d))
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(n))
	b = append(b, root[:]...)
	h.Write(b)
	return Hash(h.Sum(x.sum[:0]))
}

// State returns StateHash(step, rngState, tensors).
func (x *Hasher) State(step uint64, rngState [32]byte, tensors []Hash) Hash {
	h := x.reset()
	b := append(x.buf[:0], stateDomain...)
	b = binary.LittleEndian.AppendUint64(b, step)
	b = append(b, rngState[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tensors)))
	h.Write(b)
	for i := range tensors {
		h.Write(tensors[i][:]) // not a loop copy, which would escape to the heap
	}
	return Hash(h.Sum(x.sum[:0]))
}

// littleEndian reports whether float32 values lie in memory in the byte order TensorHash
// specifies.
var littleEndian = func() bool {
	x := uint32(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// hasNaN reports whether v holds a NaN. It tests two values per 64-bit word without branches:
// a float32 is a NaN exactly when its bits without the sign exceed 0x7f800000, that is when
// 0x7f800000 − (bits & 0x7fffffff) is negative. In the upper half of a word the subtraction
// borrows from the lower half only when the lower half is itself a NaN, so the sign bits of
// both halves, ORed over the slice, say whether any value is a NaN. (Words are read only from
// 8-byte aligned memory, as every processor allows.)
func hasNaN(v []float32) bool {
	const (
		abs  = 0x7fffffff_7fffffff
		inf  = 0x7f800000_7f800000
		sign = 0x80000000_80000000
	)
	var acc uint64
	i := 0
	if littleEndian && len(v) > 0 && uintptr(unsafe.Pointer(&v[0]))%8 == 0 {
		for ; i+8 <= len(v); i += 8 {
			w := (*[4]uint64)(unsafe.Pointer(&v[i]))
			acc |= (inf - w[0]&abs) | (inf - w[1]&abs) | (inf - w[2]&abs) | (inf - w[3]&abs)
		}
	}
	for ; i < len(v); i++ {
		acc |= uint64(0x7f800000 - math.Float32bits(v[i])&0x7fffffff)
	}
	return acc&sign != 0
}

// LabelsHash returns the tensor hash of int32 labels: as TensorHash, with each label as its
// two's-complement bits.
func LabelsHash(shape []int, labels []int32) Hash {
	var x Hasher
	leaves := make([]Hash, TensorBlocks(len(labels)))
	for i := range leaves {
		block := labels[min(len(labels), i*TensorBlock):min(len(labels), (i+1)*TensorBlock)]
		b := make([]byte, 1, 1+4*len(block)) // the merkle leaf prefix 0x00, then the bits
		for _, v := range block {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
		leaves[i] = Hash(sha256.Sum256(b))
	}
	return x.Root(shape, len(labels), leaves)
}

// StateHash returns SHA-256("deai/state/v1\x00" ‖ u64 step ‖ rng[32] ‖ u32 n ‖ tensor hashes…).
func StateHash(step uint64, rngState [32]byte, tensors []Hash) Hash {
	var h Hasher
	return h.State(step, rngState, tensors)
}
