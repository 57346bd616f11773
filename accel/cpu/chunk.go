package cpu

import (
	"fmt"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu/internal/kern"
	"github.com/deai-go/deai/accel/graph"
)

// maxChunkElements bounds every operand of a chunk call: a chunk is small by design, and a
// referee must not be made to allocate without limit by hostile ranges.
const maxChunkElements = 1 << 22

// execChunk runs part of a primitive (see accel.Chunk). The arithmetic is that of the whole
// kernels in package kern, element by element, so that a primitive computed chunk by chunk in
// the order accel.Chunk documents gives the same bits as one Exec call.
func execChunk(call accel.Call) ([]accel.Tensor, error) {
	c := *call.Chunk
	bad := func(format string, args ...any) ([]accel.Tensor, error) {
		return nil, fmt.Errorf("cpu: exec %s chunk %+v: %w: "+format, append([]any{call.Prim, c, accel.ErrInvalidArgument}, args...)...)
	}
	sizes := func(want ...int) error {
		if len(call.Inputs) != len(want) {
			return fmt.Errorf("%d inputs, want %d", len(call.Inputs), len(want))
		}
		for i, w := range want {
			if w < 0 || w > maxChunkElements {
				return fmt.Errorf("input %d of %d values is outside [0, %d]", i, w, maxChunkElements)
			}
			got := len(call.Inputs[i].Data)
			if i == 1 && (call.Prim == graph.PrimSoftmaxXent || call.Prim == graph.PrimSoftmaxXentGrad) {
				got = len(call.Inputs[i].Labels)
			}
			if got != w {
				return fmt.Errorf("input %d holds %d values, want %d", i, got, w)
			}
		}
		return nil
	}
	in := func(i int) []float32 { return call.Inputs[i].Data }
	d := call.Dims
	switch call.Prim {
	case graph.PrimMatMul, graph.PrimConv2D, graph.PrimConv2DGradWeight:
		r, cols, k := c.Row1-c.Row0, c.Col1-c.Col0, c.K1-c.K0
		m, n, kk, planes := d.M, d.N, d.K, 0
		switch call.Prim {
		case graph.PrimConv2D:
			s, err := chunkConvShape(d)
			if err != nil {
				return bad("%v", err)
			}
			m, n, kk, planes = s.O, s.OH()*s.OW(), s.CKK(), s.N
		case graph.PrimConv2DGradWeight:
			s, err := chunkConvShape(d)
			if err != nil {
				return bad("%v", err)
			}
			m, n, kk = s.O, s.CKK(), s.N*s.OH()*s.OW()
		}
		if c.Row0 < 0 || r < 1 || c.Row1 > m || c.Col0 < 0 || cols < 1 || c.Col1 > n || c.K0 < 0 || k < 0 || c.K1 > kk ||
			r > 1<<11 || cols > 1<<11 || k > 1<<11 {
			return bad("ranges outside the %d×%d×%d product", m, n, kk)
		}
		if call.Prim == graph.PrimConv2D && (c.Plane0 < 0 || c.Plane1 != c.Plane0+1 || c.Plane1 > planes) ||
			call.Prim != graph.PrimConv2D && c.Plane0|c.Plane1 != 0 {
			return bad("plane [%d, %d) of %d samples", c.Plane0, c.Plane1, planes)
		}
		if err := sizes(r*k, k*cols, r*cols); err != nil {
			return bad("%v", err)
		}
		out := append([]float32(nil), in(2)...)
		kern.Gemm(kern.Par{}, false, false, r, cols, k, in(0), k, in(1), cols, out, cols, true)
		return []accel.Tensor{{Shape: []int{r, cols}, Data: out}}, nil
	case graph.PrimReLU, graph.PrimTanh, graph.PrimCopy, graph.PrimReLUGrad, graph.PrimTanhGrad, graph.PrimAdd, graph.PrimBiasAdd:
		n := c.Row1 - c.Row0
		if c.Row0 < 0 || n < 1 || n > maxChunkElements || c.Col0|c.Col1|c.K0|c.K1|c.Plane0|c.Plane1 != 0 {
			return bad("an element-wise chunk is a non-empty range [Row0, Row1) only")
		}
		for i, t := range call.Inputs {
			if len(t.Data) != n {
				return bad("input %d holds %d values, want %d", i, len(t.Data), n)
			}
		}
		prim := call.Prim
		if prim == graph.PrimBiasAdd {
			prim = graph.PrimAdd // x + b[channel], the bias already gathered per element
		}
		call.Chunk = nil
		ops, err := operandsOf(prim, graph.Dims{}, n)
		if err != nil {
			return nil, err
		}
		ins, _, err := checkInputs(accel.Call{Prim: prim, Inputs: call.Inputs}, ops)
		if err != nil {
			return nil, err
		}
		out := make([]float32, n)
		execute(kern.Par{}, nil, prim, graph.Dims{}, ins, nil, [][]float32{out})
		return []accel.Tensor{{Shape: []int{n}, Data: out}}, nil
	case graph.PrimBiasGrad:
		cols, k := c.Col1-c.Col0, c.K1-c.K0
		if err := positive("bias", d.NB, d.C, d.S); err != nil {
			return bad("%v", err)
		}
		if c.Col0 < 0 || cols < 1 || c.Col1 > d.C || c.K0 < 0 || k < 1 || c.K1 > d.NB*d.S || c.Row0|c.Row1|c.Plane0|c.Plane1 != 0 ||
			cols > 1<<11 || k > 1<<16 {
			return bad("ranges outside %d channels × %d terms", d.C, d.NB*d.S)
		}
		if err := sizes(cols*k, cols); err != nil {
			return bad("%v", err)
		}
		out := append([]float32(nil), in(1)...)
		dy := in(0)
		for j := range out {
			acc := out[j]
			for _, v := range dy[j*k : j*k+k] {
				acc = acc + v
			}
			out[j] = acc
		}
		return []accel.Tensor{{Shape: []int{cols}, Data: out}}, nil
	case graph.PrimConv2DGradInput:
		s, err := chunkConvShape(d)
		if err != nil {
			return bad("%v", err)
		}
		if c.Plane0 < 0 || c.Plane1 != c.Plane0+1 || c.Plane1 > s.N*s.C || c.Row0 < 0 || c.Row1 <= c.Row0 || c.Row1 > s.H ||
			c.Col0 < 0 || c.Col1 <= c.Col0 || c.Col1 > s.W || c.K0|c.K1 != 0 {
			return bad("not a box of one %d×%d plane of %d", s.H, s.W, s.N*s.C)
		}
		b := ConvGradInputBox(d, c)
		rows, cols := c.Row1-c.Row0, c.Col1-c.Col0
		if rows*cols > maxChunkElements {
			return bad("box of %d×%d", rows, cols)
		}
		if err := sizes(s.O*s.KH*s.KW, s.O*(b.Row1-b.Row0)*(b.Col1-b.Col0)); err != nil {
			return bad("%v", err)
		}
		out := make([]float32, rows*cols)
		convGradInputBox(out, in(0), in(1), s, c, b)
		return []accel.Tensor{{Shape: []int{rows, cols}, Data: out}}, nil
	case graph.PrimMaxPool2D, graph.PrimAvgPool2D, graph.PrimMaxPool2DGrad, graph.PrimAvgPool2DGrad:
		s := poolShape(d)
		if err := s.Validate(); err != nil {
			return bad("%v", err)
		}
		for _, n := range []int{s.N, s.C, s.XLen()} {
			if err := positive("pool", n); err != nil {
				return bad("%v", err)
			}
		}
		oh, ow := s.OH(), s.OW()
		planes := c.Plane1 - c.Plane0
		if c.Plane0 < 0 || planes < 1 || c.Plane1 > s.N*s.C || c.Row0 < 0 || c.Row1 <= c.Row0 || c.Row1 > oh ||
			c.Col0 < 0 || c.Col1 <= c.Col0 || c.Col1 > ow || c.K0|c.K1 != 0 ||
			planes > 1 && (c.Row0 != 0 || c.Row1 != oh || c.Col0 != 0 || c.Col1 != ow) ||
			c.Row1-c.Row0 > 1 && (c.Col0 != 0 || c.Col1 != ow) {
			return bad("not a box of the %d×%d output planes of %d", oh, ow, s.N*s.C)
		}
		x := PoolInputBox(d, c)
		yn := planes * (c.Row1 - c.Row0) * (c.Col1 - c.Col0)
		xn := planes * (x.Row1 - x.Row0) * (x.Col1 - x.Col0)
		if yn > maxChunkElements || xn > maxChunkElements {
			return bad("box too large")
		}
		var want []int
		switch call.Prim {
		case graph.PrimMaxPool2D, graph.PrimAvgPool2D:
			want = []int{xn}
		case graph.PrimMaxPool2DGrad:
			want = []int{yn, xn, xn}
		default:
			want = []int{yn, xn}
		}
		if err := sizes(want...); err != nil {
			return bad("%v", err)
		}
		var out []float32
		if len(want) == 1 {
			out = make([]float32, yn)
		} else {
			out = append([]float32(nil), in(len(want)-1)...)
		}
		poolBox(call.Prim, out, call.Inputs, s, c, x)
		return []accel.Tensor{{Shape: []int{len(out)}, Data: out}}, nil
	case graph.PrimSoftmaxXent, graph.PrimSoftmaxXentGrad:
		rows := c.Row1 - c.Row0
		if err := positive("softmax", d.NB, d.C); err != nil {
			return bad("%v", err)
		}
		if c.Row0 < 0 || rows < 1 || c.Row1 > d.NB || c.Col0|c.Col1|c.K0|c.K1|c.Plane0|c.Plane1 != 0 || rows*d.C > maxChunkElements {
			return bad("rows outside the %d×%d logits", d.NB, d.C)
		}
		want := []int{rows * d.C, rows}
		if call.Prim == graph.PrimSoftmaxXent {
			want = append(want, 1)
		}
		if err := sizes(want...); err != nil {
			return bad("%v", err)
		}
		labels := call.Inputs[1].Labels
		if err := kern.CheckLabels(labels, rows, d.C); err != nil {
			return bad("%v", err)
		}
		out := make([]float32, rows*d.C)
		if call.Prim == graph.PrimSoftmaxXentGrad {
			// (p − t) / NB: the whole kernel with the batch's divisor.
			fn := float32(d.NB)
			for i := range rows {
				p, o := in(0)[i*d.C:i*d.C+d.C], out[i*d.C:i*d.C+d.C]
				for j, v := range p {
					var t float32
					if j == int(labels[i]) {
						t = 1
					}
					o[j] = (v - t) / fn
				}
			}
			return []accel.Tensor{{Shape: []int{rows, d.C}, Data: out}}, nil
		}
		total := kern.SoftmaxXentRows(out, in(0), labels, rows, d.C, in(2)[0])
		if c.Row1 == d.NB {
			total = total / float32(d.NB)
		}
		return []accel.Tensor{{Shape: []int{1}, Data: []float32{total}}, {Shape: []int{rows, d.C}, Data: out}}, nil
	}
	return nil, fmt.Errorf("cpu: exec %s: %w: chunks of this primitive", call.Prim, accel.ErrUnsupported)
}

// chunkConvShape returns the convolution shape of d, validated.
func chunkConvShape(d graph.Dims) (kern.ConvShape, error) {
	s := convShape(d)
	if err := s.Validate(); err != nil {
		return s, err
	}
	for _, n := range []int{s.N, s.XLen(), s.YLen(), s.WLen()} {
		if err := positive("conv2d", n); err != nil {
			return s, err
		}
	}
	return s, nil
}

// ConvGradInputBox returns the box of output pixels of Conv2DGradInput chunk c (a box of one
// input-gradient plane): rows [Row0, Row1) and columns [Col0, Col1) of the OH×OW output
// plane, the smallest box holding every output pixel whose window meets the chunk's box, or
// an empty box (Row0 = Row1) when none does. Only the row and column fields are set.
func ConvGradInputBox(d graph.Dims, c accel.Chunk) accel.Chunk {
	s := convShape(d)
	r0, r1 := windowRange(c.Row0, c.Row1, s.KH, s.SH, s.PH, s.OH())
	c0, c1 := windowRange(c.Col0, c.Col1, s.KW, s.SW, s.PW, s.OW())
	if r0 >= r1 || c0 >= c1 {
		return accel.Chunk{Row0: r0, Row1: r0, Col0: c0, Col1: c0}
	}
	return accel.Chunk{Row0: r0, Row1: r1, Col0: c0, Col1: c1}
}

// windowRange returns the outputs o in [0, n) whose window [o·stride − pad, o·stride − pad +
// k) meets the input range [lo, hi).
func windowRange(lo, hi, k, stride, pad, n int) (int, int) {
	// o·stride − pad + k − 1 ≥ lo  ⇔  o ≥ ceil((lo + pad − k + 1) / stride)
	a := lo + pad - k + 1
	o0 := 0
	if a > 0 {
		o0 = (a + stride - 1) / stride
	}
	// o·stride − pad ≤ hi − 1  ⇔  o ≤ floor((hi − 1 + pad) / stride)
	o1 := (hi-1+pad)/stride + 1
	return min(o0, n), min(max(o1, 0), n)
}

// convGradInputBox computes the box c of one input-gradient plane: for every element, the
// fold from +0 over (ky, kx) ascending of dcol[r][q], each dcol the fold from +0 over o of
// float32(w[o][r]·dy[o][q]), as kern.Conv2DGradInput. w is the filters' slab of the plane's
// channel (O × KH·KW), dy the box b of every output channel (O × rows × cols).
func convGradInputBox(out, w, dy []float32, s kern.ConvShape, c, b accel.Chunk) {
	cols := c.Col1 - c.Col0
	brows, bcols := b.Row1-b.Row0, b.Col1-b.Col0
	kk := s.KH * s.KW
	for iy := c.Row0; iy < c.Row1; iy++ {
		for ix := c.Col0; ix < c.Col1; ix++ {
			var acc float32
			for ky := range s.KH {
				ty := iy + s.PH - ky
				if ty < 0 || ty%s.SH != 0 {
					continue
				}
				oy := ty / s.SH
				if oy >= s.OH() {
					continue
				}
				for kx := range s.KW {
					tx := ix + s.PW - kx
					if tx < 0 || tx%s.SW != 0 {
						continue
					}
					ox := tx / s.SW
					if ox >= s.OW() {
						continue
					}
					q := (oy-b.Row0)*bcols + (ox - b.Col0)
					var dc float32
					for o := range s.O {
						dc = dc + float32(w[o*kk+ky*s.KW+kx]*dy[o*brows*bcols+q])
					}
					acc = acc + dc
				}
			}
			out[(iy-c.Row0)*cols+ix-c.Col0] = acc
		}
	}
}

// PoolInputBox returns the box of input rows and columns that the output box of pooling
// chunk c reads: rows [Row0·SH, (Row1−1)·SH+KH), columns [Col0·SW, (Col1−1)·SW+KW). Only
// the row and column fields are set.
func PoolInputBox(d graph.Dims, c accel.Chunk) accel.Chunk {
	return accel.Chunk{Row0: c.Row0 * d.SH, Row1: (c.Row1-1)*d.SH + d.KH, Col0: c.Col0 * d.SW, Col1: (c.Col1-1)*d.SW + d.KW}
}

// poolBox runs a pooling primitive on the output box c of planes [Plane0, Plane1), whose
// input box is x: the loops of the kern kernels restricted to the box, in the same order.
// For the gradients, out holds the running input gradient of the box and is added to.
func poolBox(p graph.Prim, out []float32, ins []accel.Tensor, s kern.PoolShape, c, x accel.Chunk) {
	rows, cols := c.Row1-c.Row0, c.Col1-c.Col0
	xr, xc := x.Row1-x.Row0, x.Col1-x.Col0
	area := float32(s.KH * s.KW)
	for pl := range c.Plane1 - c.Plane0 {
		for i := range rows {
			for j := range cols {
				yi := (pl*rows+i)*cols + j
				base := pl*xr*xc + i*s.SH*xc + j*s.SW // window origin in the x box
				switch p {
				case graph.PrimMaxPool2D, graph.PrimMaxPool2DGrad:
					xv := ins[0].Data
					if p == graph.PrimMaxPool2DGrad {
						xv = ins[1].Data
					}
					arg := base
					best := xv[arg]
					for ky := range s.KH {
						row := base + ky*xc
						for kx, v := range xv[row : row+s.KW] {
							if v > best {
								best, arg = v, row+kx
							}
						}
					}
					if p == graph.PrimMaxPool2D {
						out[yi] = best
					} else {
						out[arg] = out[arg] + ins[0].Data[yi]
					}
				case graph.PrimAvgPool2D:
					var acc float32
					for ky := range s.KH {
						row := base + ky*xc
						for _, v := range ins[0].Data[row : row+s.KW] {
							acc = acc + v
						}
					}
					out[yi] = acc / area
				case graph.PrimAvgPool2DGrad:
					g := ins[0].Data[yi] / area
					for ky := range s.KH {
						row := base + ky*xc
						win := out[row : row+s.KW]
						for kx := range win {
							win[kx] = win[kx] + g
						}
					}
				}
			}
		}
	}
}
