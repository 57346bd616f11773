package market

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/deai-go/deai/accel/graph"
	"github.com/holiman/uint256"
)

type writer struct{ b []byte }

func (w *writer) u8(x uint8)   { w.b = append(w.b, x) }
func (w *writer) u32(x uint32) { w.b = binary.BigEndian.AppendUint32(w.b, x) }
func (w *writer) u64(x uint64) { w.b = binary.BigEndian.AppendUint64(w.b, x) }
func (w *writer) id(x [32]byte) {
	w.b = append(w.b, x[:]...)
}
func (w *writer) addr(x [20]byte) { w.b = append(w.b, x[:]...) }
func (w *writer) amt(x *uint256.Int) {
	v := x.Bytes32()
	w.b = append(w.b, v[:]...)
}
func (w *writer) bool(x bool) {
	if x {
		w.u8(1)
	} else {
		w.u8(0)
	}
}
func (w *writer) bytes32(x []byte) { w.u32(uint32(len(x))); w.b = append(w.b, x...) }
func (w *writer) str8(x string)    { w.u8(uint8(len(x))); w.b = append(w.b, x...) }

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("truncated: need %d bytes, have %d", n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}
func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}
func (r *reader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}
func (r *reader) id() (x [32]byte) { copy(x[:], r.take(32)); return x }
func (r *reader) addr() (x [20]byte) {
	copy(x[:], r.take(20))
	return x
}
func (r *reader) amt() (x uint256.Int) {
	if v := r.take(32); v != nil {
		x.SetBytes32(v)
	}
	return x
}
func (r *reader) bool() bool {
	switch v := r.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("boolean %d", v)
		return false
	}
}
func (r *reader) bytes32(limit int) []byte {
	n := r.u32()
	if int64(n) > int64(limit) {
		r.fail("length %d exceeds %d", n, limit)
		return nil
	}
	return append([]byte(nil), r.take(int(n))...)
}
func (r *reader) str8() string { return string(r.take(int(r.u8()))) }

// count reads a u32 count of items at least each bytes long, bounded by what remains.
func (r *reader) count(each, limit int) int {
	n := r.u32()
	if int64(n) > int64(limit) || int64(n)*int64(each) > int64(len(r.b)) {
		r.fail("count %d too large", n)
		return 0
	}
	return int(n)
}
func (r *reader) end() {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
}

func f32(w *writer, x float32) { w.u32(math.Float32bits(x)) }
func (r *reader) f32() float32 { return math.Float32frombits(r.u32()) }

// EncodeSpec returns the canonical encoding of a task spec (see doc.go).
func EncodeSpec(s *TaskSpec) []byte {
	w := &writer{}
	encodeSpec(w, s)
	return w.b
}

func encodeSpec(w *writer, s *TaskSpec) {
	w.bytes32(s.Graph)
	w.id(s.GraphHash)
	w.id(s.Dataset.Root)
	w.u64(s.Dataset.Samples)
	w.str8(s.Dataset.Location)
	w.u32(uint32(s.Batch))
	o := s.Optimizer
	w.u8(uint8(o.Kind))
	for _, x := range []float32{o.LR, o.Momentum, o.WeightDecay, o.Beta1, o.Beta2, o.Eps} {
		f32(w, x)
	}
	w.u64(s.Seed)
	w.u64(s.Steps)
	w.u64(s.Deadline)
	w.amt(&s.MaxPrice)
	w.amt(&s.Budget)
	w.u64(s.Req.Memory)
	w.u8(uint8(s.Req.Precisions))
	w.bool(s.Req.BitExact)
	w.amt(&s.Req.MinStake)
}

func decodeSpec(r *reader) TaskSpec {
	var s TaskSpec
	s.Graph = r.bytes32(MaxGraphBytes)
	s.GraphHash = graph.Hash(r.id())
	s.Dataset.Root = r.id()
	s.Dataset.Samples = r.u64()
	s.Dataset.Location = r.str8()
	s.Batch = int(r.u32())
	s.Optimizer.Kind = graph.OptKind(r.u8())
	for _, p := range []*float32{&s.Optimizer.LR, &s.Optimizer.Momentum, &s.Optimizer.WeightDecay, &s.Optimizer.Beta1, &s.Optimizer.Beta2, &s.Optimizer.Eps} {
		*p = r.f32()
	}
	s.Seed = r.u64()
	s.Steps = r.u64()
	s.Deadline = r.u64()
	s.MaxPrice = r.amt()
	s.Budget = r.amt()
	s.Req.Memory = r.u64()
	s.Req.Precisions = PrecisionSet(r.u8())
	s.Req.BitExact = r.bool()
	s.Req.MinStake = r.amt()
	return s
}

// DecodeSpec decodes EncodeSpec's encoding; it accepts exactly what EncodeSpec produces.
func DecodeSpec(b []byte) (TaskSpec, error) {
	r := &reader{b: b}
	s := decodeSpec(r)
	r.end()
	if r.err != nil {
		return TaskSpec{}, r.err
	}
	if s.Graph == nil {
		s.Graph = []byte{}
	}
	return s, nil
}
