package graph

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Hash is a SHA-256 digest.
type Hash [32]byte

// String returns the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

const (
	encMagic   = "DEAIGRPH"
	encVersion = 1
	hashDomain = "deai/graph/v1\x00"
	// MaxEncodedSize bounds an encoded graph; Decode rejects anything larger before parsing.
	MaxEncodedSize = MaxNodes * (1 + 1 + MaxNameLen + 1 + 4*2 + 1 + 4*MaxRank + 6*2 + 1 + 4 + 4)
)

// Encode returns the graph's canonical encoding (see the package documentation).
func (g *Graph) Encode() []byte { return g.encode() }

// MarshalBinary returns the canonical encoding; it never fails.
func (g *Graph) MarshalBinary() ([]byte, error) { return g.encode(), nil }

func (g *Graph) encode() []byte {
	var buf bytes.Buffer
	buf.WriteString(encMagic)
	le := binary.LittleEndian
	buf.Write(le.AppendUint16(nil, encVersion))
	buf.Write(le.AppendUint32(nil, uint32(len(g.nodes))))
	for _, n := range g.nodes {
		buf.WriteByte(byte(n.Op))
		buf.WriteByte(byte(len(n.Name)))
		buf.WriteString(n.Name)
		buf.WriteByte(byte(len(n.Inputs)))
		for _, in := range n.Inputs {
			buf.Write(le.AppendUint32(nil, uint32(in)))
		}
		buf.WriteByte(byte(len(n.Shape)))
		for _, d := range n.Shape {
			buf.Write(le.AppendUint32(nil, uint32(d)))
		}
		a := n.Attr
		for _, v := range []int{a.KH, a.KW, a.SH, a.SW, a.PH, a.PW} {
			buf.Write(le.AppendUint16(nil, uint16(v)))
		}
		buf.WriteByte(byte(a.Init))
		buf.Write(le.AppendUint32(nil, uint32(a.FanIn)))
		buf.Write(le.AppendUint32(nil, uint32(a.FanOut)))
	}
	return buf.Bytes()
}

func hashEncoding(enc []byte) Hash {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write(enc)
	var out Hash
	h.Sum(out[:0])
	return out
}

// ErrMalformed is the class of decoding errors (truncation, bad magic, trailing bytes,
// non-canonical values); the wrapping error says where. Semantic problems found after
// parsing are reported as ErrInvalidGraph.
var ErrMalformed = errors.New("graph: malformed encoding")

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated at byte %d reading %s", ErrMalformed, r.off, what)
	}
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.fail(what)
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

func (r *reader) u8(what string) int {
	b := r.bytes(1, what)
	if b == nil {
		return 0
	}
	return int(b[0])
}

func (r *reader) u16(what string) int {
	b := r.bytes(2, what)
	if b == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint16(b))
}

func (r *reader) u32(what string) int {
	b := r.bytes(4, what)
	if b == nil {
		return 0
	}
	v := binary.LittleEndian.Uint32(b)
	if uint64(v) > 1<<31-1 {
		r.err = fmt.Errorf("%w: %s value %d at byte %d out of range", ErrMalformed, what, v, r.off-4)
		return 0
	}
	return int(v)
}

// Decode parses a canonical graph encoding and validates the graph. It never panics, bounds
// its allocations by the input's length and the package limits, and rejects encodings that
// are not canonical (trailing bytes, a stored shape that disagrees with inference), so that
// a graph has exactly one encoding and one hash.
func Decode(enc []byte) (*Graph, error) {
	if len(enc) > MaxEncodedSize {
		return nil, fmt.Errorf("%w: %d bytes exceed the limit of %d", ErrMalformed, len(enc), MaxEncodedSize)
	}
	r := &reader{b: enc}
	if m := r.bytes(len(encMagic), "magic"); m != nil && string(m) != encMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrMalformed, m)
	}
	if v := r.u16("version"); r.err == nil && v != encVersion {
		return nil, fmt.Errorf("%w: unsupported version %d (want %d)", ErrMalformed, v, encVersion)
	}
	count := r.u32("node count")
	if r.err != nil {
		return nil, r.err
	}
	if count == 0 || count > MaxNodes {
		return nil, fmt.Errorf("%w: node count %d out of range [1, %d]", ErrMalformed, count, MaxNodes)
	}
	// Every node takes at least 33 bytes: refuse counts the input cannot hold before allocating.
	if count*33 > len(enc)-r.off {
		return nil, fmt.Errorf("%w: %d nodes cannot fit in %d remaining bytes", ErrMalformed, count, len(enc)-r.off)
	}
	nodes := make([]Node, count)
	for i := range nodes {
		n := &nodes[i]
		n.Op = Op(r.u8("op"))
		n.Name = string(r.bytes(r.u8("name length"), "name"))
		nin := r.u8("input count")
		if nin > 2 {
			return nil, fmt.Errorf("%w: node %d has %d inputs (at most 2)", ErrMalformed, i, nin)
		}
		for k := 0; k < nin; k++ {
			n.Inputs = append(n.Inputs, r.u32("input"))
		}
		rank := r.u8("rank")
		if rank > MaxRank {
			return nil, fmt.Errorf("%w: node %d has rank %d (at most %d)", ErrMalformed, i, rank, MaxRank)
		}
		n.Shape = make(Shape, rank)
		for k := range n.Shape {
			n.Shape[k] = r.u32("dimension")
		}
		a := &n.Attr
		a.KH, a.KW, a.SH, a.SW, a.PH, a.PW = r.u16("kh"), r.u16("kw"), r.u16("sh"), r.u16("sw"), r.u16("ph"), r.u16("pw")
		a.Init = Init(r.u8("init"))
		a.FanIn, a.FanOut = r.u32("fan-in"), r.u32("fan-out")
		if r.err != nil {
			return nil, r.err
		}
	}
	if r.off != len(enc) {
		return nil, fmt.Errorf("%w: %d trailing bytes after the last node", ErrMalformed, len(enc)-r.off)
	}
	stored := make([]Shape, len(nodes))
	for i := range nodes {
		stored[i] = nodes[i].Shape
	}
	g, err := newGraph(nodes)
	if err != nil {
		return nil, err
	}
	for i, n := range g.nodes {
		if !n.Shape.Equal(stored[i]) {
			return nil, fmt.Errorf("%w: node %d (%s) stores shape %v but its inputs give %v", ErrInvalidGraph, i, n.Op, stored[i], n.Shape)
		}
	}
	return g, nil
}

// UnmarshalBinary decodes into g; see Decode.
func (g *Graph) UnmarshalBinary(enc []byte) error {
	d, err := Decode(enc)
	if err != nil {
		return err
	}
	*g = *d
	return nil
}
