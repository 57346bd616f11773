package accelvm

import (
	"context"
	"fmt"
	"math"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/graph"
)

// chunk is one chunk of a program instruction: a MatMul tile and K-segment, an element range
// [lo, hi), or the whole primitive.
type chunk struct {
	kind                   chunkKind
	r0, r1, c0, c1, k0, k1 int
	lo, hi                 int
}

type chunkKind uint8

const (
	kindMat   chunkKind = iota + 1 // Exec MatMul chunk
	kindElem                       // Exec element-wise chunk
	kindRange                      // element-wise optimizer on a range, by a whole Exec call
	kindWhole                      // the whole primitive
)

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// elemKind reports how an element-wise primitive is chunked, if it is.
func elemKind(p graph.Prim) (chunkKind, bool) {
	switch p {
	case graph.PrimReLU, graph.PrimTanh, graph.PrimCopy, graph.PrimReLUGrad, graph.PrimTanhGrad, graph.PrimAdd:
		return kindElem, true
	case graph.PrimSGD, graph.PrimAdamW:
		return kindRange, true
	}
	return 0, false
}

// numChunks returns E for a program instruction.
func numChunks(p *graph.Program, in graph.Instr) int {
	if in.Prim == graph.PrimMatMul {
		d := in.Dims
		return ceilDiv(d.M, TileM) * ceilDiv(d.N, TileN) * ceilDiv(d.K, TileK)
	}
	if _, ok := elemKind(in.Prim); ok {
		return ceilDiv(p.Slots[in.Out[0]].Shape.Size(), ElemChunk)
	}
	return 1
}

// chunkAt returns chunk e of a program instruction (e < numChunks).
func chunkAt(p *graph.Program, in graph.Instr, e int) chunk {
	if in.Prim == graph.PrimMatMul {
		d := in.Dims
		tk, tn := ceilDiv(d.K, TileK), ceilDiv(d.N, TileN)
		tile, ks := e/tk, e%tk
		r, c := tile/tn, tile%tn
		return chunk{kind: kindMat, r0: r * TileM, r1: min(d.M, (r+1)*TileM), c0: c * TileN, c1: min(d.N, (c+1)*TileN),
			k0: ks * TileK, k1: min(d.K, (ks+1)*TileK)}
	}
	if k, ok := elemKind(in.Prim); ok {
		n := p.Slots[in.Out[0]].Shape.Size()
		return chunk{kind: k, lo: e * ElemChunk, hi: min(n, (e+1)*ElemChunk)}
	}
	return chunk{kind: kindWhole}
}

// chunkFLOPs returns the floating-point operations of chunk c (graph.Program.FLOPs' counting).
func chunkFLOPs(p *graph.Program, in graph.Instr, c chunk) int64 {
	n := int64(c.hi - c.lo)
	switch c.kind {
	case kindMat:
		return 2 * int64(c.r1-c.r0) * int64(c.c1-c.c0) * int64(c.k1-c.k0)
	case kindElem:
		switch in.Prim {
		case graph.PrimTanhGrad:
			return 3 * n
		case graph.PrimCopy:
			return 0
		}
		return n
	case kindRange:
		if in.Prim == graph.PrimSGD {
			return 6 * n
		}
		return 16*n + 6
	}
	return p.FLOPs(in)
}

// io is how a chunk computation reads and writes: in gathers values of an input slot at flat
// indices (from the environment at the instruction's start), old gathers values of output k
// at flat indices (its partial state).
type io struct {
	in  func(slot int, idx []int) ([]float32, error)
	old func(k int, idx []int) ([]float32, error)
}

// write is what a chunk writes to one output: values at flat indices.
type write struct {
	idx  []int
	vals []float32
}

func span(lo, hi int) []int {
	idx := make([]int, hi-lo)
	for i := range idx {
		idx[i] = lo + i
	}
	return idx
}

// compute runs chunk c of instruction in on backend b and returns its writes, one per output.
func compute(ctx context.Context, b accel.Backend, p *graph.Program, in graph.Instr, c chunk, rw io) ([]write, error) {
	switch c.kind {
	case kindMat:
		d := in.Dims
		var ai, bi, si []int
		for i := c.r0; i < c.r1; i++ {
			for l := c.k0; l < c.k1; l++ {
				if d.TransA {
					ai = append(ai, l*d.M+i)
				} else {
					ai = append(ai, i*d.K+l)
				}
			}
		}
		for l := c.k0; l < c.k1; l++ {
			for j := c.c0; j < c.c1; j++ {
				if d.TransB {
					bi = append(bi, j*d.K+l)
				} else {
					bi = append(bi, l*d.N+j)
				}
			}
		}
		for i := c.r0; i < c.r1; i++ {
			si = append(si, span(i*d.N+c.c0, i*d.N+c.c1)...)
		}
		av, err := rw.in(in.In[0], ai)
		if err != nil {
			return nil, err
		}
		bv, err := rw.in(in.In[1], bi)
		if err != nil {
			return nil, err
		}
		sv, err := rw.old(0, si)
		if err != nil {
			return nil, err
		}
		out, err := b.Exec(ctx, accel.Call{Prim: in.Prim, Dims: d, Inputs: []accel.Tensor{{Data: av}, {Data: bv}, {Data: sv}},
			Chunk: &accel.Chunk{Row0: c.r0, Row1: c.r1, Col0: c.c0, Col1: c.c1, K0: c.k0, K1: c.k1}})
		if err != nil {
			return nil, fmt.Errorf("accelvm: matmul chunk: %w", err)
		}
		return []write{{idx: si, vals: out[0].Data}}, nil
	case kindElem, kindRange:
		idx := span(c.lo, c.hi)
		call := accel.Call{Prim: in.Prim, Dims: in.Dims}
		for _, s := range in.In {
			sidx := idx
			if in.Prim == graph.PrimAdamW && len(call.Inputs) == 4 {
				sidx = []int{0, 1} // the bias-correction powers
			}
			v, err := rw.in(s, sidx)
			if err != nil {
				return nil, err
			}
			call.Inputs = append(call.Inputs, accel.Tensor{Shape: []int{len(v)}, Data: v})
		}
		if c.kind == kindElem {
			call.Chunk = &accel.Chunk{Row0: c.lo, Row1: c.hi}
			call.Dims = graph.Dims{}
		}
		out, err := b.Exec(ctx, call)
		if err != nil {
			return nil, fmt.Errorf("accelvm: %s chunk: %w", in.Prim, err)
		}
		ws := make([]write, len(out))
		for k := range out {
			ws[k] = write{idx: idx, vals: out[k].Data}
		}
		return ws, nil
	}
	call := accel.Call{Prim: in.Prim, Dims: in.Dims}
	for _, s := range in.In {
		sh := p.Slots[s].Shape
		v, err := rw.in(s, span(0, sh.Size()))
		if err != nil {
			return nil, err
		}
		t := accel.Tensor{Shape: append([]int(nil), sh...), Data: v}
		if s == p.LabelSlot {
			t.Data, t.Labels = nil, make([]int32, len(v))
			for i, x := range v {
				t.Labels[i] = int32(math.Float32bits(x))
			}
		}
		call.Inputs = append(call.Inputs, t)
	}
	out, err := b.Exec(ctx, call)
	if err != nil {
		return nil, fmt.Errorf("accelvm: %s: %w", in.Prim, err)
	}
	ws := make([]write, len(out))
	for k := range out {
		ws[k] = write{idx: span(0, len(out[k].Data)), vals: out[k].Data}
	}
	return ws, nil
}
