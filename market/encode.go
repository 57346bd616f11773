package market

import (
	"encoding/binary"
	"github.com/deai-go/deai/internal/canon"
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

// reader decodes canonical encodings; the first failure sticks.
type reader struct{ canon.Reader }

func newReader(b []byte) *reader { return &reader{canon.Reader{B: b, Class: ErrMalformed}} }

func (r *reader) bytes32(limit int) []byte {
	n := r.U32()
	if int64(n) > int64(limit) {
		r.Fail("length %d exceeds %d", n, limit)
		return nil
	}
	return append([]byte(nil), r.Take(int(n))...)
}
func (r *reader) str8() string { return string(r.Take(int(r.U8()))) }

// count reads a u32 count of items at least each bytes long, bounded by what remains.
func (r *reader) count(each, limit int) int {
	n := r.U32()
	if int64(n) > int64(limit) || int64(n)*int64(each) > int64(len(r.B)) {
		r.Fail("count %d too large", n)
		return 0
	}
	return int(n)
}

func f32(w *writer, x float32) { w.u32(math.Float32bits(x)) }
func (r *reader) f32() float32 { return math.Float32frombits(r.U32()) }

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
	s.GraphHash = graph.Hash(r.ID())
	s.Dataset.Root = r.ID()
	s.Dataset.Samples = r.U64()
	s.Dataset.Location = r.str8()
	s.Batch = int(r.U32())
	s.Optimizer.Kind = graph.OptKind(r.U8())
	for _, p := range []*float32{&s.Optimizer.LR, &s.Optimizer.Momentum, &s.Optimizer.WeightDecay, &s.Optimizer.Beta1, &s.Optimizer.Beta2, &s.Optimizer.Eps} {
		*p = r.f32()
	}
	s.Seed = r.U64()
	s.Steps = r.U64()
	s.Deadline = r.U64()
	s.MaxPrice = r.Amount()
	s.Budget = r.Amount()
	s.Req.Memory = r.U64()
	s.Req.Precisions = PrecisionSet(r.U8())
	s.Req.BitExact = r.Bool()
	s.Req.MinStake = r.Amount()
	return s
}

// DecodeSpec decodes EncodeSpec's encoding; it accepts exactly what EncodeSpec produces.
func DecodeSpec(b []byte) (TaskSpec, error) {
	r := newReader(b)
	s := decodeSpec(r)
	r.End()
	if r.Err != nil {
		return TaskSpec{}, r.Err
	}
	if s.Graph == nil {
		s.Graph = []byte{}
	}
	return s, nil
}
