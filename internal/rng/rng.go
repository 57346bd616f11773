package rng

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Philox4x32-10 constants (see the package documentation).
const (
	m0 = 0xD2511F53
	m1 = 0xCD9E8D57
	w0 = 0x9E3779B9
	w1 = 0xBB67AE85
)

// Rounds is the number of Philox rounds applied by [Philox].
const Rounds = 10

// Key is a Philox4x32 key: two 32-bit words.
type Key [2]uint32

// Counter is a Philox4x32 counter: four 32-bit words.
type Counter [4]uint32

// Philox is the Philox4x32-10 block function: it returns the ten-round
// encryption of ctr under key.
func Philox(ctr Counter, key Key) [4]uint32 {
	c0, c1, c2, c3 := ctr[0], ctr[1], ctr[2], ctr[3]
	k0, k1 := key[0], key[1]
	for r := 0; r < Rounds; r++ {
		if r > 0 {
			k0 += w0
			k1 += w1
		}
		hi0, lo0 := bits.Mul32(m0, c0)
		hi1, lo1 := bits.Mul32(m1, c2)
		c0, c1, c2, c3 = hi1^c1^k0, lo1, hi0^c3^k1, lo0
	}
	return [4]uint32{c0, c1, c2, c3}
}

// Stream is a sequence of random words drawn from Philox4x32-10 in counter
// order. The zero Stream is the stream (seed 0, stream 0). A Stream is a
// plain value: copying it forks the sequence. It is not safe for concurrent
// use.
type Stream struct {
	key   Key
	ctr   Counter   // block the next word comes from
	pos   uint32    // index of the next word in block ctr, 0..3
	buf   [4]uint32 // Philox(ctr, key) when valid
	valid bool
}

// New returns the stream of the given seed and stream number, positioned at
// its first word.
func New(seed, stream uint64) *Stream {
	return &Stream{
		key: Key{uint32(seed), uint32(seed >> 32)},
		ctr: Counter{0, 0, uint32(stream), uint32(stream >> 32)},
	}
}

// next returns the next word and advances the stream.
func (s *Stream) next() uint32 {
	if !s.valid {
		s.buf = Philox(s.ctr, s.key)
		s.valid = true
	}
	w := s.buf[s.pos]
	s.pos++
	if s.pos == 4 {
		s.pos = 0
		s.valid = false
		s.ctr[0]++
		if s.ctr[0] == 0 {
			s.ctr[1]++
		}
	}
	return w
}

// Uint32 returns the next 32-bit word of the stream.
func (s *Stream) Uint32() uint32 { return s.next() }

// Uint64 returns the next two words w1, w2 as uint64(w1) | uint64(w2)<<32.
func (s *Stream) Uint64() uint64 {
	lo := s.next()
	hi := s.next()
	return uint64(lo) | uint64(hi)<<32
}

// Uint32n returns a uniform value in [0, n) by Lemire's multiply-shift with
// rejection, exactly as the package documentation specifies. Uint32n(0)
// returns 0 and consumes nothing.
func (s *Stream) Uint32n(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	m := uint64(s.next()) * uint64(n)
	if uint32(m) < n {
		t := -n % n
		for uint32(m) < t {
			m = uint64(s.next()) * uint64(n)
		}
	}
	return uint32(m >> 32)
}

// Float32 returns a uniform value in [0, 1): the top 24 bits of the next word
// times 2^-24.
func (s *Stream) Float32() float32 {
	return float32(s.next()>>8) * (1.0 / (1 << 24))
}

// Uniform returns lo + float32((hi-lo)*u) with u = s.Float32(), a value in
// [lo, hi] (hi only through rounding).
func (s *Stream) Uniform(lo, hi float32) float32 {
	u := s.Float32()
	return lo + float32((hi-lo)*u)
}

// Permutation returns a uniformly random permutation of 0..n-1 drawn from s
// by the Fisher-Yates shuffle specified in the package documentation. It
// returns an empty slice for n <= 0 and panics if n exceeds math.MaxInt32,
// which an int32 cannot index.
func Permutation(s *Stream, n int) []int32 {
	if n <= 0 {
		return []int32{}
	}
	if n > math.MaxInt32 {
		panic(fmt.Sprintf("rng: Permutation of %d elements exceeds math.MaxInt32", n))
	}
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	for i := n - 1; i > 0; i-- {
		j := s.Uint32n(uint32(i + 1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// State is the complete position of a [Stream]: its key, the counter of the
// block the next word comes from and the index (0..3) of that word within
// the block. States are comparable with ==.
type State struct {
	Key      Key
	Counter  Counter
	Position uint32
}

// StateSize is the length of a [State]'s binary encoding.
const StateSize = 32

// ErrInvalidState is returned, wrapped, when a State encoding is malformed.
var ErrInvalidState = errors.New("rng: invalid state")

// State returns the stream's current state.
func (s *Stream) State() State {
	return State{Key: s.key, Counter: s.ctr, Position: s.pos}
}

// Restore sets the stream to st, so that it continues exactly as the stream
// that st was taken from. A Position above 3 counts words already consumed
// from block Counter and is normalised: the block number (words 0 and 1 of
// Counter) advances by Position/4 and the position becomes Position%4.
func (s *Stream) Restore(st State) {
	b := uint64(st.Counter[0]) | uint64(st.Counter[1])<<32
	b += uint64(st.Position / 4)
	*s = Stream{
		key: st.Key,
		ctr: Counter{uint32(b), uint32(b >> 32), st.Counter[2], st.Counter[3]},
		pos: st.Position % 4,
	}
}

// MarshalBinary returns the 32-byte little-endian encoding of st described in
// the package documentation. It fails only if Position exceeds 3.
func (st State) MarshalBinary() ([]byte, error) {
	if st.Position > 3 {
		return nil, fmt.Errorf("%w: position %d, want 0..3", ErrInvalidState, st.Position)
	}
	b := make([]byte, StateSize)
	binary.LittleEndian.PutUint32(b[0:], st.Key[0])
	binary.LittleEndian.PutUint32(b[4:], st.Key[1])
	for i, c := range st.Counter {
		binary.LittleEndian.PutUint32(b[8+4*i:], c)
	}
	binary.LittleEndian.PutUint32(b[24:], st.Position)
	return b, nil
}

// UnmarshalBinary decodes the encoding written by MarshalBinary. It rejects
// any other length, a position above 3 and nonzero padding, leaving st
// unchanged on error.
func (st *State) UnmarshalBinary(b []byte) error {
	if len(b) != StateSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidState, len(b), StateSize)
	}
	var v State
	v.Key[0] = binary.LittleEndian.Uint32(b[0:])
	v.Key[1] = binary.LittleEndian.Uint32(b[4:])
	for i := range v.Counter {
		v.Counter[i] = binary.LittleEndian.Uint32(b[8+4*i:])
	}
	v.Position = binary.LittleEndian.Uint32(b[24:])
	if v.Position > 3 {
		return fmt.Errorf("%w: position %d, want 0..3", ErrInvalidState, v.Position)
	}
	if pad := binary.LittleEndian.Uint32(b[28:]); pad != 0 {
		return fmt.Errorf("%w: padding bytes 28..31 are %#08x, want 0", ErrInvalidState, pad)
	}
	*st = v
	return nil
}
