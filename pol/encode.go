package pol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/pol/internal/pb"
)

// Version is the proof and checkpoint format version this package writes and reads.
const Version = 1

// MaxProofBytes bounds the encoding DecodeProof accepts: MaxSteps state hashes plus headers.
const MaxProofBytes = 32*(MaxSteps+1) + 32<<20

var (
	// ErrInvalidProof marks every error and verdict that says a proof is wrong, as opposed to
	// the verifier failing (a cancelled context, a broken backend). Test with errors.Is.
	ErrInvalidProof = errors.New("pol: invalid proof")
	// ErrMalformed is wrapped (with ErrInvalidProof) by decoding errors.
	ErrMalformed = errors.New("pol: malformed encoding")
)

var marshal = proto.MarshalOptions{Deterministic: true}

// MarshalBinary encodes p as a deai.pol.v1.Proof message, canonically (the package
// documentation specifies the encoding).
func (p *Proof) MarshalBinary() ([]byte, error) {
	m := &pb.Proof{Version: Version, Binding: bindingToPB(p.Binding), Root: p.Root[:], StateHashes: make([]byte, 0, 32*len(p.States))}
	for _, h := range p.States {
		m.StateHashes = append(m.StateHashes, h[:]...)
	}
	for _, c := range p.Checkpoints {
		th := make([]byte, 0, 32*len(c.Tensors))
		for _, h := range c.Tensors {
			th = append(th, h[:]...)
		}
		m.Checkpoints = append(m.Checkpoints, &pb.CheckpointHeader{Index: c.Index, Step: c.Step, Rng: append([]byte(nil), c.RNG[:]...), TensorHashes: th})
	}
	b, err := marshal.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("pol: encoding proof: %w", err)
	}
	return b, nil
}

func bindingToPB(b Binding) *pb.Binding {
	o := b.Optimizer
	return &pb.Binding{
		TaskId: bytesOf(b.Task), Solver: append([]byte(nil), b.Solver[:]...), GraphHash: bytesOf(b.Graph),
		Batch: b.Batch, Seed: b.Seed, Steps: b.Steps, DatasetRoot: bytesOf(b.DataRoot), DatasetSize: b.DataSize,
		CheckpointEvery: b.CheckpointEvery, Parent: bytesOf(b.Parent), Mode: uint32(b.Mode),
		Optimizer: &pb.Optimizer{Kind: uint32(o.Kind), Lr: math.Float32bits(o.LR), Momentum: math.Float32bits(o.Momentum),
			WeightDecay: math.Float32bits(o.WeightDecay), Beta1: math.Float32bits(o.Beta1), Beta2: math.Float32bits(o.Beta2), Eps: math.Float32bits(o.Eps)},
	}
}

// bytesOf returns h as a slice, or nil for the zero hash (proto3 omits empty bytes, so the
// zero hash is encoded as absent).
func bytesOf(h Hash) []byte {
	if h == (Hash{}) {
		return nil
	}
	return append([]byte(nil), h[:]...)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrInvalidProof, ErrMalformed}, args...)...)
}

// hashField decodes an optional 32-byte field (absent means zero).
func hashField(b []byte, what string) (Hash, error) {
	var h Hash
	switch len(b) {
	case 0:
	case 32:
		copy(h[:], b)
		if h == (Hash{}) {
			return h, malformed("%s: the zero hash must be encoded as absent", what)
		}
	default:
		return h, malformed("%s: %d bytes, want 32", what, len(b))
	}
	return h, nil
}

// DecodeProof decodes an encoding written by MarshalBinary. It accepts only canonical
// encodings (re-encoding the result gives the same bytes), of at most MaxProofBytes, with at
// most MaxSteps steps, a checkpoint header for exactly every index CheckpointIndices names and
// at most MaxTensors tensor hashes per header; it checks sizes before it allocates for them.
// Every error wraps ErrInvalidProof and ErrMalformed. DecodeProof does not check the proof's
// hashes or bindings: Verifier.VerifyStructure does.
func DecodeProof(b []byte) (*Proof, error) {
	if len(b) > MaxProofBytes {
		return nil, malformed("%d bytes exceed the limit of %d", len(b), MaxProofBytes)
	}
	if err := prescan(b); err != nil {
		return nil, err
	}
	var m pb.Proof
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &m); err != nil {
		return nil, malformed("%v", err)
	}
	if m.Version != Version {
		return nil, malformed("version %d, want %d", m.Version, Version)
	}
	if m.Binding == nil || m.Binding.Optimizer == nil {
		return nil, malformed("no binding or no optimizer")
	}
	var p Proof
	bd := m.Binding
	var err error
	if p.Binding.Task, err = hashField(bd.TaskId, "task id"); err != nil {
		return nil, err
	}
	if len(bd.Solver) != len(p.Binding.Solver) {
		return nil, malformed("solver: %d bytes, want 20", len(bd.Solver))
	}
	copy(p.Binding.Solver[:], bd.Solver)
	if p.Binding.Graph, err = hashField(bd.GraphHash, "graph hash"); err != nil {
		return nil, err
	}
	if p.Binding.DataRoot, err = hashField(bd.DatasetRoot, "dataset root"); err != nil {
		return nil, err
	}
	if p.Binding.Parent, err = hashField(bd.Parent, "parent"); err != nil {
		return nil, err
	}
	o := bd.Optimizer
	if o.Kind > math.MaxUint8 || bd.Mode > math.MaxUint8 {
		return nil, malformed("optimizer kind %d or mode %d out of range", o.Kind, bd.Mode)
	}
	p.Binding.Optimizer = graph.Optimizer{Kind: graph.OptKind(o.Kind), LR: math.Float32frombits(o.Lr), Momentum: math.Float32frombits(o.Momentum),
		WeightDecay: math.Float32frombits(o.WeightDecay), Beta1: math.Float32frombits(o.Beta1), Beta2: math.Float32frombits(o.Beta2), Eps: math.Float32frombits(o.Eps)}
	p.Binding.Batch, p.Binding.Seed, p.Binding.Steps = bd.Batch, bd.Seed, bd.Steps
	p.Binding.DataSize, p.Binding.CheckpointEvery, p.Binding.Mode = bd.DatasetSize, bd.CheckpointEvery, Mode(bd.Mode)
	if p.Binding.Steps < 1 || p.Binding.Steps > MaxSteps {
		return nil, malformed("steps %d out of range [1, %d]", p.Binding.Steps, MaxSteps)
	}
	if p.Binding.CheckpointEvery < 1 {
		return nil, malformed("checkpoint interval 0")
	}
	if len(m.Root) != 32 {
		return nil, malformed("root: %d bytes, want 32", len(m.Root))
	}
	copy(p.Root[:], m.Root)
	if want := 32 * (p.Binding.Steps + 1); uint64(len(m.StateHashes)) != want {
		return nil, malformed("%d bytes of state hashes, want %d for %d steps", len(m.StateHashes), want, p.Binding.Steps)
	}
	p.States = make([]Hash, p.Binding.Steps+1)
	for i := range p.States {
		copy(p.States[i][:], m.StateHashes[32*i:])
	}
	idx := CheckpointIndices(p.Binding.Steps, p.Binding.CheckpointEvery)
	if len(m.Checkpoints) != len(idx) {
		return nil, malformed("%d checkpoint headers, want %d (every %d of %d steps, and the last)", len(m.Checkpoints), len(idx), p.Binding.CheckpointEvery, p.Binding.Steps)
	}
	p.Checkpoints = make([]CheckpointHeader, len(idx))
	for k, c := range m.Checkpoints {
		if c.Index != idx[k] {
			return nil, malformed("checkpoint header %d is for index %d, want %d", k, c.Index, idx[k])
		}
		if len(c.Rng) != 32 {
			return nil, malformed("checkpoint %d: generator state of %d bytes, want 32", c.Index, len(c.Rng))
		}
		if len(c.TensorHashes)%32 != 0 || len(c.TensorHashes)/32 > MaxTensors {
			return nil, malformed("checkpoint %d: %d bytes of tensor hashes (a multiple of 32, at most %d hashes)", c.Index, len(c.TensorHashes), MaxTensors)
		}
		h := CheckpointHeader{Index: c.Index, Step: c.Step, Tensors: make([]Hash, len(c.TensorHashes)/32)}
		copy(h.RNG[:], c.Rng)
		for i := range h.Tensors {
			copy(h.Tensors[i][:], c.TensorHashes[32*i:])
		}
		p.Checkpoints[k] = h
	}
	again, err := p.MarshalBinary()
	if err != nil {
		return nil, malformed("%v", err)
	}
	if !bytes.Equal(again, b) {
		return nil, malformed("not the canonical encoding (fields out of order, repeated, unknown, or defaults written)")
	}
	return &p, nil
}

// prescan walks the top-level fields of an encoded proof without allocating, decodes the
// small binding, and rejects an encoding whose number of checkpoint headers differs from the
// one the binding's steps and interval imply, so that a hostile proof cannot make the decoder
// allocate millions of tiny messages.
func prescan(b []byte) error {
	var binding []byte
	headers := 0
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return malformed("bad field tag: %v", protowire.ParseError(n))
		}
		rest = rest[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(rest)
			if m < 0 {
				return malformed("field %d: %v", num, protowire.ParseError(m))
			}
			switch num {
			case 2:
				binding = v
			case 5:
				headers++
			}
			rest = rest[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, rest)
		if m < 0 {
			return malformed("field %d: %v", num, protowire.ParseError(m))
		}
		rest = rest[m:]
	}
	var bd pb.Binding
	if err := proto.Unmarshal(binding, &bd); err != nil {
		return malformed("binding: %v", err)
	}
	if bd.Steps < 1 || bd.Steps > MaxSteps || bd.CheckpointEvery < 1 {
		return malformed("steps %d out of range [1, %d] or checkpoint interval %d", bd.Steps, MaxSteps, bd.CheckpointEvery)
	}
	if want := bd.Steps/uint64(bd.CheckpointEvery) + 2; uint64(headers) > want {
		return malformed("%d checkpoint headers, at most %d for %d steps every %d", headers, want, bd.Steps, bd.CheckpointEvery)
	}
	return nil
}

// EncodeCheckpoint encodes a full training state as a deai.pol.v1.Checkpoint message.
func EncodeCheckpoint(s *accel.State) ([]byte, error) {
	m := &pb.Checkpoint{Version: Version, Step: s.Step, Rng: append([]byte(nil), s.RNG[:]...), Tensors: make([][]byte, len(s.Tensors))}
	for i, t := range s.Tensors {
		b := make([]byte, 4*len(t))
		for j, v := range t {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
		}
		m.Tensors[i] = b
	}
	b, err := marshal.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("pol: encoding checkpoint: %w", err)
	}
	return b, nil
}

// DecodeCheckpoint decodes a checkpoint of program p. It rejects encodings larger than the
// program's state could need before decoding them, and states that do not fit p; errors wrap
// ErrInvalidProof and ErrMalformed.
func DecodeCheckpoint(b []byte, p *graph.Program) (*accel.State, error) {
	limit := 64
	for _, s := range p.State {
		limit += 4*p.Slots[s].Shape.Size() + 16
	}
	if len(b) > limit {
		return nil, malformed("checkpoint of %d bytes exceeds the %d the program's state needs", len(b), limit)
	}
	var m pb.Checkpoint
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, malformed("checkpoint: %v", err)
	}
	if m.Version != Version || len(m.Rng) != 32 || len(m.Tensors) != len(p.State) {
		return nil, malformed("checkpoint: version %d, %d-byte generator state, %d tensors (want %d, 32, %d)", m.Version, len(m.Rng), len(m.Tensors), Version, len(p.State))
	}
	s := &accel.State{Step: m.Step, Tensors: make([][]float32, len(m.Tensors))}
	copy(s.RNG[:], m.Rng)
	for i, t := range m.Tensors {
		if want := p.Slots[p.State[i]].Shape.Size(); len(t) != 4*want {
			return nil, malformed("checkpoint: tensor %d has %d bytes, want %d", i, len(t), 4*want)
		}
		v := make([]float32, len(t)/4)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(t[4*j:]))
		}
		s.Tensors[i] = v
	}
	return s, nil
}
