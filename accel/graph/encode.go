package graph

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
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
	n := len(encMagic) + 2 + 4
	for i := range g.nodes {
		nd := &g.nodes[i]
		n += 1 + 1 + len(nd.Name) + 1 + 4*len(nd.Inputs) + 1 + 4*len(nd.Shape) + 6*2 + 1 + 4 + 4
	}
	le := binary.LittleEndian
	buf := make([]byte, 0, n)
	buf = append(buf, encMagic...)
	buf = le.AppendUint16(buf, encVersion)
	buf = le.AppendUint32(buf, uint32(len(g.nodes)))
	for i := range g.nodes {
		nd := &g.nodes[i]
		buf = append(buf, byte(nd.Op), byte(len(nd.Name)))
		buf = append(buf, nd.Name...)
		buf = append(buf, byte(len(nd.Inputs)))
		for _, in := range nd.Inputs {
			buf = le.AppendUint32(buf, uint32(in))
		}
		buf = append(buf, byte(len(nd.Shape)))
		for _, d := range nd.Shape {
			buf = le.AppendUint32(buf, uint32(d))
		}
		a := &nd.Attr
		buf = le.AppendUint16(buf, uint16(a.KH))
		buf = le.AppendUint16(buf, uint16(a.KW))
		buf = le.AppendUint16(buf, uint16(a.SH))
		buf = le.AppendUint16(buf, uint16(a.SW))
		buf = le.AppendUint16(buf, uint16(a.PH))
		buf = le.AppendUint16(buf, uint16(a.PW))
		buf = append(buf, byte(a.Init))
		buf = le.AppendUint32(buf, uint32(a.FanIn))
		buf = le.AppendUint32(buf, uint32(a.FanOut))
	}
	return buf
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
	nodes, err := decode(enc, true, nil)
	if err != nil {
		return nil, err
	}
	// Every field decode read is written back by encode with the width it was read with, and
	// every shape equals the inferred one: enc is the graph's canonical encoding, so the hash
	// is taken over enc itself (FuzzDecode holds g.Encode() equal to every accepted input).
	return finishGraph(nodes, enc), nil
}

// DecodeWork returns what Decode(enc) and then StepWork(batch, opt) on the graph return
// (the graph's hash, the work of one training step, and the first error of the two, in that
// order), without building the graph: it keeps only each node's op and shape, so it reads an
// encoding of MaxNodes nodes in a few megabytes. It is what a chain needs to price a
// submitted graph. An error wraps ErrMalformed or ErrInvalidGraph when enc is not a valid
// graph's encoding; otherwise it is the error Compile would report.
func DecodeWork(enc []byte, batch int, opt Optimizer) (Hash, Work, error) {
	// A large encoding is hashed on another goroutine while it is parsed: the SHA-256 of a
	// graph of MaxNodes nodes (a quarter of the time) then costs no wall time where a second
	// processor is free.
	var h Hash
	var hashed chan struct{}
	if len(enc) >= 1<<20 && len(enc) <= MaxEncodedSize {
		hashed = make(chan struct{})
		go func() { h = hashEncoding(enc); close(hashed) }()
		defer func() { <-hashed }()
	}
	sc := &stepCounter{batch: batch}
	sc.opt, sc.err = checkStep(&Graph{}, batch, opt)
	if _, err := decode(enc, false, sc); err != nil {
		return Hash{}, Work{}, err
	}
	if sc.err != nil {
		return Hash{}, Work{}, sc.err
	}
	if hashed == nil {
		h = hashEncoding(enc)
	} else {
		<-hashed
	}
	return h, sc.finish(), nil
}

// blankNames stands in for names DecodeWork does not keep: validation needs only their
// lengths.
var blankNames = strings.Repeat(" ", 255)

// decode parses and validates enc node by node and returns the nodes if keep is set;
// otherwise it parses every node into one scratch node and keeps compact views of the nodes
// (see nodeViews). If sc is not nil, it counts every node that passed validation, until it
// fails (its error is then in sc.err). A malformed encoding is reported before any
// validation error, which is reported only if the whole input parses.
func decode(enc []byte, keep bool, sc *stepCounter) ([]Node, error) {
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
	// Every node takes 25 bytes of fixed fields (op, name length, input count, rank, six u16
	// attributes, init, fan-in, fan-out) and at least one u32 (a dimension or an input: a
	// node without inputs is the input or a param, which store a shape of rank ≥ 1): refuse
	// counts the input cannot hold before allocating.
	if count*29 > len(enc)-r.off {
		return nil, fmt.Errorf("%w: %d nodes cannot fit in %d remaining bytes", ErrMalformed, count, len(enc)-r.off)
	}
	// A decoded graph takes a constant number of allocations: the nodes, one string holding
	// the names (all), and ints, the inputs and shapes of all nodes: each integer takes 4
	// bytes of the encoding, so the bytes left after the nodes' fixed fields bound them (slices
	// of it may grow apart only on an input that fails to parse). Without a graph, names are
	// not kept, ints grows as needed, and shapes stay uncapped slices of it, where the compact
	// views find them.
	var (
		nodes   []Node
		src     nodeViews
		ints    []int
		all     string
		scratch Node
	)
	if keep {
		nodes = make([]Node, count)
		src.nodes = nodes
		all = string(enc)
		ints = make([]int, 0, (len(enc)-r.off-25*count)/4)
	} else {
		src.ops, src.pos = make([]Op, count), make([]uint32, count)
		ints = make([]int, 0, 3*count)
	}
	if sc != nil {
		sc.start(count)
	}
	ok := false
	v, verr := newValidator(src, count, true)
	var err error
	for i := range count {
		n := &scratch
		if keep {
			n = &nodes[i]
		} else {
			n.Inputs = nil // the parsers set every other field
		}
		if ints, ok = fastNode(n, r, all, ints); !ok {
			if ints, err = carefulNode(n, r, all, ints, i); err != nil {
				return nil, err
			}
		}
		if verr != nil {
			continue
		}
		if !keep {
			v.src.ints = ints[:cap(ints)] // where node i's shape is, if ints grew
		}
		if verr = v.node(i, n); verr == nil && sc != nil && sc.err == nil {
			sc.err = sc.node(i, n, &v.src)
		}
	}
	if r.off != len(enc) {
		return nil, fmt.Errorf("%w: %d trailing bytes after the last node", ErrMalformed, len(enc)-r.off)
	}
	if verr != nil {
		return nil, verr
	}
	if err := v.finish(); err != nil {
		return nil, err
	}
	return nodes, nil
}

// carefulNode decodes node i at r.off field by field: the path near the end of the input or
// for a value out of range, which names the first problem. Names are substrings of all, the
// encoding as a string (see nameAt).
func carefulNode(n *Node, r *reader, all string, ints []int, i int) ([]int, error) {
	n.Op = Op(r.u8("op"))
	nl := r.u8("name length")
	if r.bytes(nl, "name") != nil {
		n.Name = nameAt(all, r.off-nl, nl)
	}
	nin := r.u8("input count")
	if nin > 2 {
		return ints, fmt.Errorf("%w: node %d has %d inputs (at most 2)", ErrMalformed, i, nin)
	}
	if nin > 0 && r.err == nil {
		k := len(ints)
		for range nin {
			ints = append(ints, r.u32("input"))
		}
		n.Inputs = ints[k:len(ints):len(ints)]
	}
	rank := r.u8("rank")
	if rank > MaxRank {
		return ints, fmt.Errorf("%w: node %d has rank %d (at most %d)", ErrMalformed, i, rank, MaxRank)
	}
	if r.err == nil {
		k := len(ints)
		for range rank {
			ints = append(ints, r.u32("dimension"))
		}
		n.Shape = shapeOf(ints, k, all)
	}
	a := &n.Attr
	a.KH, a.KW, a.SH, a.SW, a.PH, a.PW = r.u16("kh"), r.u16("kw"), r.u16("sh"), r.u16("sw"), r.u16("ph"), r.u16("pw")
	a.Init = Init(r.u8("init"))
	a.FanIn, a.FanOut = r.u32("fan-in"), r.u32("fan-out")
	return ints, r.err
}

// shapeOf returns the shape decoded into ints[k:]: capped for a graph being built (all is
// the encoding), uncapped for DecodeWork's compact views (see nodeViews.record).
func shapeOf(ints []int, k int, all string) Shape {
	if all == "" {
		return ints[k:]
	}
	return ints[k:len(ints):len(ints)]
}

// nameAt returns the name of length nl at offset off of the encoding: a substring of all,
// or blanks of the same length when names are not kept (all is empty).
func nameAt(all string, off, nl int) string {
	if all == "" {
		return blankNames[:nl]
	}
	return all[off : off+nl]
}

// maxNodeBytes is the most bytes one node's encoding takes.
const maxNodeBytes = 1 + 1 + 255 + 1 + 4*2 + 1 + 4*MaxRank + 6*2 + 1 + 4 + 4

// fastNode decodes the node at r.off into n when the input holds the longest node there
// can be and every field is in range, appending its inputs and shape to ints; otherwise it
// reports false and leaves r, n and ints as they were, for the careful path of Decode.
func fastNode(n *Node, r *reader, all string, ints []int) ([]int, bool) {
	b := r.b[r.off:]
	if len(b) < maxNodeBytes {
		return ints, false
	}
	le := binary.LittleEndian
	nl := int(b[1])
	k := 2 + nl
	nin := int(b[k])
	if nin > 2 {
		return ints, false
	}
	rank := int(b[k+1+4*nin])
	if rank > MaxRank {
		return ints, false
	}
	start := len(ints)
	k++
	for range nin {
		v := le.Uint32(b[k:])
		if v > 1<<31-1 {
			return ints[:start], false
		}
		ints = append(ints, int(v))
		k += 4
	}
	k++
	for range rank {
		v := le.Uint32(b[k:])
		if v > 1<<31-1 {
			return ints[:start], false
		}
		ints = append(ints, int(v))
		k += 4
	}
	fanIn, fanOut := le.Uint32(b[k+13:]), le.Uint32(b[k+17:])
	if fanIn > 1<<31-1 || fanOut > 1<<31-1 {
		return ints[:start], false
	}
	n.Op = Op(b[0])
	n.Name = nameAt(all, r.off+2, nl)
	if nin > 0 {
		n.Inputs = ints[start : start+nin : start+nin]
	}
	n.Shape = shapeOf(ints, start+nin, all)
	a, f := &n.Attr, b[k:k+21]
	a.KH, a.KW, a.SH = int(le.Uint16(f[0:])), int(le.Uint16(f[2:])), int(le.Uint16(f[4:]))
	a.SW, a.PH, a.PW = int(le.Uint16(f[6:])), int(le.Uint16(f[8:])), int(le.Uint16(f[10:]))
	a.Init, a.FanIn, a.FanOut = Init(f[12]), int(fanIn), int(fanOut)
	r.off += k + 21
	return ints, true
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
