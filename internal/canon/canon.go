package canon

import (
	"encoding/binary"
	"fmt"

	"github.com/holiman/uint256"
)

// Reader decodes big-endian fields from B. The first failure is kept in Err, wrapping Class;
// after it every read returns zero values and consumes nothing.
type Reader struct {
	// B is the input not yet read.
	B []byte
	// Err is the first failure, or nil.
	Err error
	// Class is the sentinel every failure wraps (a package's ErrMalformed).
	Class error
}

// NewReader returns a Reader over b whose failures wrap class.
func NewReader(b []byte, class error) *Reader { return &Reader{B: b, Class: class} }

// Fail records a failure unless one is already recorded.
func (r *Reader) Fail(format string, args ...any) {
	if r.Err == nil {
		r.Err = fmt.Errorf("%w: "+format, append([]any{r.Class}, args...)...)
	}
}

// Take returns the next n bytes (aliasing the input), or nil after a failure or when fewer than
// n remain (then recording "truncated").
func (r *Reader) Take(n int) []byte {
	if r.Err != nil {
		return nil
	}
	if n < 0 || n > len(r.B) {
		r.Fail("truncated: need %d bytes, have %d", n, len(r.B))
		return nil
	}
	v := r.B[:n]
	r.B = r.B[n:]
	return v
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	if v := r.Take(1); v != nil {
		return v[0]
	}
	return 0
}

// U16 reads a big-endian uint16.
func (r *Reader) U16() uint16 {
	if v := r.Take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

// U32 reads a big-endian uint32.
func (r *Reader) U32() uint32 {
	if v := r.Take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// U64 reads a big-endian uint64.
func (r *Reader) U64() uint64 {
	if v := r.Take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// Addr reads a 20-byte address.
func (r *Reader) Addr() (a [20]byte) {
	copy(a[:], r.Take(20))
	return a
}

// ID reads a 32-byte hash.
func (r *Reader) ID() (h [32]byte) {
	copy(h[:], r.Take(32))
	return h
}

// Amount reads a 32-byte big-endian unsigned 256-bit integer.
func (r *Reader) Amount() (x uint256.Int) {
	if v := r.Take(32); v != nil {
		x.SetBytes32(v)
	}
	return x
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	switch v := r.U8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.Fail("boolean %d", v)
		return false
	}
}

// End records a failure if input remains.
func (r *Reader) End() {
	if r.Err == nil && len(r.B) != 0 {
		r.Fail("%d trailing bytes", len(r.B))
	}
}
