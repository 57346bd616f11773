package accelvm

import (
	"context"
	"fmt"
	"math"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/graph"
)

// MaxChunkFLOPs bounds the floating-point operations of the chunks the package cuts (as
// graph.Program.FLOPs counts them), under the limits the package documentation states.
const MaxChunkFLOPs = 1 << 16

// Chunk sizes besides the MatMul tile.
const (
	// BiasGradValues is the number of terms a BiasGrad chunk sums.
	BiasGradValues = 1 << 13
	// PoolOutputs bounds the outputs of a pooling chunk.
	PoolOutputs = 1024
	// SoftmaxValues bounds the logits of a softmax chunk.
	SoftmaxValues = 2048
)

// chunk is one chunk of a program instruction: a tile and K-segment (MatMul, Conv2D,
// Conv2DGradWeight, BiasGrad), a box of planes (Conv2DGradInput, pooling), a row range
// (softmax) or an element range [lo, hi), or the whole primitive.
type chunk struct {
	kind                   chunkKind
	r0, r1, c0, c1, k0, k1 int
	p0, p1                 int // planes; the sample of a Conv2D tile
	lo, hi                 int
}

type chunkKind uint8

const (
	kindMat      chunkKind = iota + 1 // Exec MatMul-like chunk (MatMul, Conv2D, Conv2DGradWeight)
	kindElem                          // Exec element-wise chunk (BiasAdd included)
	kindRange                         // element-wise optimizer on a range, by a whole Exec call
	kindWhole                         // the whole primitive
	kindBiasGrad                      // Exec BiasGrad chunk: channels × a segment of the sum
	kindBox                           // Exec Conv2DGradInput or pooling chunk: a box of planes
	kindRows                          // Exec softmax chunk: a range of rows
)

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// elemKind reports how an element-wise primitive is chunked, if it is.
func elemKind(p graph.Prim) (chunkKind, bool) {
	switch p {
	case graph.PrimReLU, graph.PrimTanh, graph.PrimCopy, graph.PrimReLUGrad, graph.PrimTanhGrad, graph.PrimAdd, graph.PrimBiasAdd:
		return kindElem, true
	case graph.PrimSGD, graph.PrimAdamW:
		return kindRange, true
	}
	return 0, false
}

// grid is a chunking into a[0]×a[1]×… blocks enumerated with the last index fastest.
type grid []int

func (g grid) total() int {
	n := 1
	for _, x := range g {
		n *= x
	}
	return n
}

func (g grid) at(e int) []int {
	out := make([]int, len(g))
	for i := len(g) - 1; i >= 0; i-- {
		out[i] = e % g[i]
		e /= g[i]
	}
	return out
}

func isPool(p graph.Prim) bool {
	switch p {
	case graph.PrimMaxPool2D, graph.PrimAvgPool2D, graph.PrimMaxPool2DGrad, graph.PrimAvgPool2DGrad:
		return true
	}
	return false
}

// matShape returns the product a MatMul-like chunking tiles: planes (samples) × M × N × K and
// the tile sides.
func matShape(in graph.Instr) (planes, m, n, k, tm, tn, tk int) {
	d := in.Dims
	switch in.Prim {
	case graph.PrimConv2D:
		ckk, q := d.C*d.KH*d.KW, d.OutH()*d.OutW()
		if ckk <= 2*TileK {
			// The whole reduction in one chunk, the tile as wide as 2^16 FLOPs allow.
			tn := TileN * TileK / ckk // 2·TileM·tn·ckk ≤ 2^16
			if ckk <= TileK {
				tn = TileN * (TileK / ckk)
			}
			return d.NB, d.O, q, ckk, TileM, tn, ckk
		}
		return d.NB, d.O, q, ckk, TileM, TileN, TileK
	case graph.PrimConv2DGradWeight:
		ckk, q := d.C*d.KH*d.KW, d.OutH()*d.OutW()
		return 1, d.O, ckk, d.NB * q, TileM, TileN, TileK
	}
	return 1, d.M, d.N, d.K, TileM, TileN, TileK
}

// biasTile returns the channels and terms of a BiasGrad chunk.
func biasTile(d graph.Dims) (cols, k int) {
	cols = min(d.C, max(1, SegLen/d.S))
	return cols, min(d.NB*d.S, BiasGradValues/cols)
}

// gradInputPer is the most FLOPs one element of a Conv2DGradInput costs.
func gradInputPer(d graph.Dims) int { return d.KH * d.KW * (2*d.O + 1) }

// boxGeom returns how the planes of a box-chunked primitive are cut: the planes, their
// height and width, and per chunk the planes (when whole planes fit), else the rows (when
// full rows fit), else the columns of one row.
func boxGeom(in graph.Instr) (planes, h, w, perPlanes, perRows, perCols int) {
	d := in.Dims
	var budget int
	if in.Prim == graph.PrimConv2DGradInput {
		planes, h, w = d.NB*d.C, d.H, d.W
		budget = max(1, MaxChunkFLOPs/gradInputPer(d))
		perPlanes = 1
	} else {
		planes, h, w = d.NB*d.C, d.OutH(), d.OutW()
		cost := d.KH * d.KW
		if in.Prim == graph.PrimMaxPool2DGrad || in.Prim == graph.PrimAvgPool2DGrad {
			cost++
		}
		budget = max(1, min(PoolOutputs, MaxChunkFLOPs/cost))
		perPlanes = max(1, budget/(h*w))
	}
	perRows = max(1, min(h, budget/w))
	perCols = min(w, budget)
	return
}

func softmaxRows(d graph.Dims, grad bool) int {
	per := 5*d.C + 4
	if grad {
		per = 2 * d.C
	}
	return max(1, min(d.NB, (MaxChunkFLOPs-1)/per, SoftmaxValues/d.C))
}

// numChunks returns E for a program instruction.
func numChunks(p *graph.Program, in graph.Instr) int {
	d := in.Dims
	switch {
	case in.Prim == graph.PrimMatMul || in.Prim == graph.PrimConv2D || in.Prim == graph.PrimConv2DGradWeight:
		planes, m, n, k, tm, tn, tk := matShape(in)
		return planes * ceilDiv(m, tm) * ceilDiv(n, tn) * ceilDiv(k, tk)
	case in.Prim == graph.PrimBiasGrad:
		cols, k := biasTile(d)
		return ceilDiv(d.C, cols) * ceilDiv(d.NB*d.S, k)
	case in.Prim == graph.PrimConv2DGradInput || isPool(in.Prim):
		return boxGrid(in).total()
	case in.Prim == graph.PrimSoftmaxXent || in.Prim == graph.PrimSoftmaxXentGrad:
		return ceilDiv(d.NB, softmaxRows(d, in.Prim == graph.PrimSoftmaxXentGrad))
	}
	if _, ok := elemKind(in.Prim); ok {
		return ceilDiv(p.Slots[in.Out[0]].Shape.Size(), ElemChunk)
	}
	return 1
}

func boxGrid(in graph.Instr) grid {
	planes, h, w, pp, pr, pc := boxGeom(in)
	switch {
	case pp > 1 || pr >= h && pc >= w:
		return grid{ceilDiv(planes, pp)}
	case pr > 1 || pc >= w:
		return grid{planes, ceilDiv(h, pr)}
	}
	return grid{planes, h, ceilDiv(w, pc)}
}

// chunkAt returns chunk e of a program instruction (e < numChunks).
func chunkAt(p *graph.Program, in graph.Instr, e int) chunk {
	d := in.Dims
	switch {
	case in.Prim == graph.PrimMatMul || in.Prim == graph.PrimConv2D || in.Prim == graph.PrimConv2DGradWeight:
		planes, m, n, k, tm, tn, tk := matShape(in)
		ix := grid{planes, ceilDiv(m, tm), ceilDiv(n, tn), ceilDiv(k, tk)}.at(e)
		c := chunk{kind: kindMat, r0: ix[1] * tm, r1: min(m, (ix[1]+1)*tm), c0: ix[2] * tn, c1: min(n, (ix[2]+1)*tn),
			k0: ix[3] * tk, k1: min(k, (ix[3]+1)*tk)}
		if in.Prim == graph.PrimConv2D {
			c.p0, c.p1 = ix[0], ix[0]+1
		}
		return c
	case in.Prim == graph.PrimBiasGrad:
		cols, k := biasTile(d)
		ix := grid{ceilDiv(d.C, cols), ceilDiv(d.NB*d.S, k)}.at(e)
		return chunk{kind: kindBiasGrad, c0: ix[0] * cols, c1: min(d.C, (ix[0]+1)*cols), k0: ix[1] * k, k1: min(d.NB*d.S, (ix[1]+1)*k)}
	case in.Prim == graph.PrimConv2DGradInput || isPool(in.Prim):
		planes, h, w, pp, pr, pc := boxGeom(in)
		g := boxGrid(in)
		ix := g.at(e)
		c := chunk{kind: kindBox, r0: 0, r1: h, c0: 0, c1: w}
		switch len(g) {
		case 1:
			c.p0, c.p1 = ix[0]*pp, min(planes, (ix[0]+1)*pp)
		case 2:
			c.p0, c.p1, c.r0, c.r1 = ix[0], ix[0]+1, ix[1]*pr, min(h, (ix[1]+1)*pr)
		default:
			c.p0, c.p1, c.r0, c.r1, c.c0, c.c1 = ix[0], ix[0]+1, ix[1], ix[1]+1, ix[2]*pc, min(w, (ix[2]+1)*pc)
		}
		return c
	case in.Prim == graph.PrimSoftmaxXent || in.Prim == graph.PrimSoftmaxXentGrad:
		r := softmaxRows(d, in.Prim == graph.PrimSoftmaxXentGrad)
		return chunk{kind: kindRows, r0: e * r, r1: min(d.NB, (e+1)*r)}
	}
	if k, ok := elemKind(in.Prim); ok {
		n := p.Slots[in.Out[0]].Shape.Size()
		return chunk{kind: k, lo: e * ElemChunk, hi: min(n, (e+1)*ElemChunk)}
	}
	return chunk{kind: kindWhole}
}

// validTaps returns how many kernel offsets k in [0, kn) map input position i to an output
// position: (i + pad − k) a non-negative multiple of stride, below n·stride.
func validTaps(i, kn, stride, pad, n int) int {
	c := 0
	for k := range kn {
		t := i + pad - k
		if t >= 0 && t%stride == 0 && t/stride < n {
			c++
		}
	}
	return c
}

// chunkFLOPs returns the floating-point operations of chunk c (graph.Program.FLOPs' counting).
func chunkFLOPs(p *graph.Program, in graph.Instr, c chunk) int64 {
	n := int64(c.hi - c.lo)
	d := in.Dims
	switch c.kind {
	case kindMat:
		return 2 * int64(c.r1-c.r0) * int64(c.c1-c.c0) * int64(c.k1-c.k0)
	case kindBiasGrad:
		return int64(c.c1-c.c0) * int64(c.k1-c.k0)
	case kindBox:
		if in.Prim == graph.PrimConv2DGradInput {
			var ty, tx int64
			for iy := c.r0; iy < c.r1; iy++ {
				ty += int64(validTaps(iy, d.KH, d.SH, d.PH, d.OutH()))
			}
			for ix := c.c0; ix < c.c1; ix++ {
				tx += int64(validTaps(ix, d.KW, d.SW, d.PW, d.OutW()))
			}
			return ty * tx * int64(2*d.O+1)
		}
		per := int64(d.KH * d.KW)
		if in.Prim == graph.PrimMaxPool2DGrad || in.Prim == graph.PrimAvgPool2DGrad {
			per++
		}
		return int64(c.p1-c.p0) * int64(c.r1-c.r0) * int64(c.c1-c.c0) * per
	case kindRows:
		rows := int64(c.r1 - c.r0)
		if in.Prim == graph.PrimSoftmaxXentGrad {
			return 2 * rows * int64(d.C)
		}
		f := rows * (5*int64(d.C) + 4)
		if c.r1 == d.NB {
			f++
		}
		return f
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

// inPad gathers like rw.in, with +0 at the indices that are negative (padding).
func (rw io) inPad(slot int, idx []int) ([]float32, error) {
	var real []int
	for _, x := range idx {
		if x >= 0 {
			real = append(real, x)
		}
	}
	v, err := rw.in(slot, real)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(idx))
	j := 0
	for i, x := range idx {
		if x >= 0 {
			out[i] = v[j]
			j++
		}
	}
	return out, nil
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

// matIndices returns, for a MatMul-like chunk, the flat indices of the A block (in In[0],
// W for Conv2D), the B block (in In[1], x for Conv2D; −1 for +0) and the output tile.
func matIndices(in graph.Instr, c chunk) (ai, bi, si []int) {
	d := in.Dims
	rows, cols, k := c.r1-c.r0, c.c1-c.c0, c.k1-c.k0
	ai, bi, si = make([]int, 0, rows*k), make([]int, 0, k*cols), make([]int, 0, rows*cols)
	if in.Prim == graph.PrimMatMul {
		for i := c.r0; i < c.r1; i++ {
			for l := c.k0; l < c.k1; l++ {
				if d.TransA {
					ai = append(ai, l*d.M+i)
				} else {
					ai = append(ai, i*d.K+l)
				}
			}
			for j := c.c0; j < c.c1; j++ {
				si = append(si, i*d.N+j)
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
		return ai, bi, si
	}
	q, ckk, ow := d.OutH()*d.OutW(), d.C*d.KH*d.KW, d.OutW()
	// col(n, r, q) = x[n][ci][oy·SH+ky−PH][ox·SW+kx−PW], or +0 outside the image.
	col := func(n, r, qq int) int {
		ci, ky, kx := r/(d.KH*d.KW), r/d.KW%d.KH, r%d.KW
		iy, ix := qq/ow*d.SH+ky-d.PH, qq%ow*d.SW+kx-d.PW
		if iy < 0 || iy >= d.H || ix < 0 || ix >= d.W {
			return -1
		}
		return ((n*d.C+ci)*d.H+iy)*d.W + ix
	}
	if in.Prim == graph.PrimConv2D {
		n := c.p0
		for i := c.r0; i < c.r1; i++ {
			for l := c.k0; l < c.k1; l++ {
				ai = append(ai, i*ckk+l)
			}
			base := (n*d.O + i) * q
			for j := c.c0; j < c.c1; j++ {
				si = append(si, base+j)
			}
		}
		// Per output pixel its input origin, per im2col row its offset.
		iy0, ix0 := make([]int, cols), make([]int, cols)
		for j := range cols {
			iy0[j], ix0[j] = (c.c0+j)/ow*d.SH-d.PH, (c.c0+j)%ow*d.SW-d.PW
		}
		for l := c.k0; l < c.k1; l++ {
			ci, ky, kx := l/(d.KH*d.KW), l/d.KW%d.KH, l%d.KW
			plane := (n*d.C + ci) * d.H
			for j := range cols {
				iy, ix := iy0[j]+ky, ix0[j]+kx
				if iy < 0 || iy >= d.H || ix < 0 || ix >= d.W {
					bi = append(bi, -1)
				} else {
					bi = append(bi, (plane+iy)*d.W+ix)
				}
			}
		}
		return ai, bi, si
	}
	// Conv2DGradWeight: A(i, l) = dy[n][i][qq], B(l, j) = col(n, j, qq), l = n·q + qq.
	for i := c.r0; i < c.r1; i++ {
		for l := c.k0; l < c.k1; l++ {
			ai = append(ai, (l/q*d.O+i)*q+l%q)
		}
		for j := c.c0; j < c.c1; j++ {
			si = append(si, i*ckk+j)
		}
	}
	for l := c.k0; l < c.k1; l++ {
		for j := c.c0; j < c.c1; j++ {
			bi = append(bi, col(l/q, j, l%q))
		}
	}
	return ai, bi, si
}

// boxIndices returns the flat indices of box (planes [p0, p1) × rows × cols) of planes of h×w.
func boxIndices(p0, p1, r0, r1, c0, c1, h, w int) []int {
	var idx []int
	for p := p0; p < p1; p++ {
		for r := r0; r < r1; r++ {
			base := (p*h + r) * w
			idx = append(idx, span(base+c0, base+c1)...)
		}
	}
	return idx
}

func (c chunk) accel() *accel.Chunk {
	return &accel.Chunk{Row0: c.r0, Row1: c.r1, Col0: c.c0, Col1: c.c1, K0: c.k0, K1: c.k1, Plane0: c.p0, Plane1: c.p1}
}

func labelsOf(v []float32) []int32 {
	l := make([]int32, len(v))
	for i, x := range v {
		l[i] = int32(math.Float32bits(x))
	}
	return l
}

// compute runs chunk c of instruction in on backend b and returns its writes, one per output.
func compute(ctx context.Context, b accel.Backend, p *graph.Program, in graph.Instr, c chunk, rw io) ([]write, error) {
	d := in.Dims
	exec := func(call accel.Call) ([]accel.Tensor, error) {
		out, err := b.Exec(ctx, call)
		if err != nil {
			return nil, fmt.Errorf("accelvm: %s chunk: %w", in.Prim, err)
		}
		return out, nil
	}
	switch c.kind {
	case kindMat:
		ai, bi, si := matIndices(in, c)
		as, bs := in.In[0], in.In[1]
		if in.Prim == graph.PrimConv2D {
			as, bs = bs, as // W · col(x)
		}
		av, err := rw.in(as, ai)
		if err != nil {
			return nil, err
		}
		bv, err := rw.inPad(bs, bi)
		if err != nil {
			return nil, err
		}
		sv, err := rw.old(0, si)
		if err != nil {
			return nil, err
		}
		out, err := exec(accel.Call{Prim: in.Prim, Dims: d, Inputs: []accel.Tensor{{Data: av}, {Data: bv}, {Data: sv}}, Chunk: c.accel()})
		if err != nil {
			return nil, err
		}
		return []write{{idx: si, vals: out[0].Data}}, nil
	case kindBiasGrad:
		var di []int
		for j := c.c0; j < c.c1; j++ {
			for l := c.k0; l < c.k1; l++ {
				di = append(di, (l/d.S*d.C+j)*d.S+l%d.S)
			}
		}
		dv, err := rw.in(in.In[0], di)
		if err != nil {
			return nil, err
		}
		si := span(c.c0, c.c1)
		sv, err := rw.old(0, si)
		if err != nil {
			return nil, err
		}
		out, err := exec(accel.Call{Prim: in.Prim, Dims: d, Inputs: []accel.Tensor{{Data: dv}, {Data: sv}}, Chunk: c.accel()})
		if err != nil {
			return nil, err
		}
		return []write{{idx: si, vals: out[0].Data}}, nil
	case kindBox:
		return computeBox(in, c, rw, exec)
	case kindRows:
		rows := span(c.r0, c.r1)
		xi := span(c.r0*d.C, c.r1*d.C)
		xv, err := rw.in(in.In[0], xi)
		if err != nil {
			return nil, err
		}
		lv, err := rw.in(in.In[1], rows)
		if err != nil {
			return nil, err
		}
		call := accel.Call{Prim: in.Prim, Dims: d, Inputs: []accel.Tensor{{Data: xv}, {Labels: labelsOf(lv)}}, Chunk: c.accel()}
		if in.Prim == graph.PrimSoftmaxXentGrad {
			out, err := exec(call)
			if err != nil {
				return nil, err
			}
			return []write{{idx: xi, vals: out[0].Data}}, nil
		}
		tv, err := rw.old(0, []int{0})
		if err != nil {
			return nil, err
		}
		call.Inputs = append(call.Inputs, accel.Tensor{Data: tv})
		out, err := exec(call)
		if err != nil {
			return nil, err
		}
		return []write{{idx: []int{0}, vals: out[0].Data}, {idx: xi, vals: out[1].Data}}, nil
	case kindElem, kindRange:
		idx := span(c.lo, c.hi)
		call := accel.Call{Prim: in.Prim, Dims: in.Dims}
		for k, s := range in.In {
			sidx := idx
			switch {
			case in.Prim == graph.PrimAdamW && k == 4:
				sidx = []int{0, 1} // the bias-correction powers
			case in.Prim == graph.PrimBiasAdd && k == 1:
				sidx = make([]int, len(idx))
				for i, x := range idx {
					sidx[i] = x / d.S % d.C
				}
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
		out, err := exec(call)
		if err != nil {
			return nil, err
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
			t.Data, t.Labels = nil, labelsOf(v)
		}
		call.Inputs = append(call.Inputs, t)
	}
	out, err := exec(call)
	if err != nil {
		return nil, err
	}
	ws := make([]write, len(out))
	for k := range out {
		ws[k] = write{idx: span(0, len(out[k].Data)), vals: out[k].Data}
	}
	return ws, nil
}

// computeBox runs a Conv2DGradInput or pooling chunk.
func computeBox(in graph.Instr, c chunk, rw io, exec func(accel.Call) ([]accel.Tensor, error)) ([]write, error) {
	d := in.Dims
	ac := c.accel()
	if in.Prim == graph.PrimConv2DGradInput {
		n, ci := c.p0/d.C, c.p0%d.C
		kk := d.KH * d.KW
		var wi []int
		for o := range d.O {
			wi = append(wi, span((o*d.C+ci)*kk, (o*d.C+ci)*kk+kk)...)
		}
		bx := cpu.ConvGradInputBox(d, *ac)
		yi := boxIndices(n*d.O, n*d.O+d.O, bx.Row0, bx.Row1, bx.Col0, bx.Col1, d.OutH(), d.OutW())
		dyv, err := rw.in(in.In[0], yi)
		if err != nil {
			return nil, err
		}
		wv, err := rw.in(in.In[1], wi)
		if err != nil {
			return nil, err
		}
		out, err := exec(accel.Call{Prim: in.Prim, Dims: d, Inputs: []accel.Tensor{{Data: wv}, {Data: dyv}}, Chunk: ac})
		if err != nil {
			return nil, err
		}
		return []write{{idx: boxIndices(c.p0, c.p1, c.r0, c.r1, c.c0, c.c1, d.H, d.W), vals: out[0].Data}}, nil
	}
	xb := cpu.PoolInputBox(d, *ac)
	xi := boxIndices(c.p0, c.p1, xb.Row0, xb.Row1, xb.Col0, xb.Col1, d.H, d.W)
	yi := boxIndices(c.p0, c.p1, c.r0, c.r1, c.c0, c.c1, d.OutH(), d.OutW())
	var ins []accel.Tensor
	read := func(slot int, idx []int) error {
		v, err := rw.in(slot, idx)
		ins = append(ins, accel.Tensor{Data: v})
		return err
	}
	var err error
	switch in.Prim {
	case graph.PrimMaxPool2D, graph.PrimAvgPool2D:
		err = read(in.In[0], xi)
	case graph.PrimMaxPool2DGrad:
		if err = read(in.In[0], yi); err == nil {
			err = read(in.In[1], xi)
		}
	default:
		err = read(in.In[0], yi)
	}
	if err != nil {
		return nil, err
	}
	widx := yi
	if in.Prim == graph.PrimMaxPool2DGrad || in.Prim == graph.PrimAvgPool2DGrad {
		widx = xi
		v, err := rw.old(0, xi)
		if err != nil {
			return nil, err
		}
		ins = append(ins, accel.Tensor{Data: v})
	}
	out, err := exec(accel.Call{Prim: in.Prim, Dims: d, Inputs: ins, Chunk: ac})
	if err != nil {
		return nil, err
	}
	return []write{{idx: widx, vals: out[0].Data}}, nil
}
