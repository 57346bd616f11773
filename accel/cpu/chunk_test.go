package cpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/graph"
)

// chunkCase is one primitive with random operands, and a chunker that computes it chunk by
// chunk through Exec.
type chunkCase struct {
	name string
	prim graph.Prim
	d    graph.Dims
	ins  []accel.Tensor
	run  func(t *testing.T, b *Backend, c chunkCase) [][]float32
}

func randVals(src *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(src.NormFloat64())
		if src.IntN(6) == 0 {
			v[i] = float32(src.IntN(2)) // ties for max pooling
		}
	}
	return v
}

func execChunkCall(t *testing.T, b *Backend, c chunkCase, ch accel.Chunk, ins ...accel.Tensor) []accel.Tensor {
	t.Helper()
	out, err := b.Exec(context.Background(), accel.Call{Prim: c.prim, Dims: c.d, Inputs: ins, Chunk: &ch})
	if err != nil {
		t.Fatalf("chunk %+v: %v", ch, err)
	}
	return out
}

// im2col returns element (r, q) of sample n's im2col matrix.
func im2col(d graph.Dims, x []float32, n, r, q int) float32 {
	ci, ky, kx := r/(d.KH*d.KW), r/d.KW%d.KH, r%d.KW
	iy, ix := q/d.OutW()*d.SH+ky-d.PH, q%d.OutW()*d.SW+kx-d.PW
	if iy < 0 || iy >= d.H || ix < 0 || ix >= d.W {
		return 0
	}
	return x[((n*d.C+ci)*d.H+iy)*d.W+ix]
}

// gemmChunks runs an m×n×k product as tiles of tm×tn over K-segments of tk; a(i, l) and
// b(l, j) give the operands.
func gemmChunks(t *testing.T, b *Backend, c chunkCase, plane, m, n, k, tm, tn, tk int, out []float32, a, bv func(i, l int) float32) {
	for r0 := 0; r0 < m; r0 += tm {
		for c0 := 0; c0 < n; c0 += tn {
			r1, c1 := min(m, r0+tm), min(n, c0+tn)
			for k0 := 0; k0 < k; k0 += tk {
				k1 := min(k, k0+tk)
				var ab, bb, sb []float32
				for i := r0; i < r1; i++ {
					for l := k0; l < k1; l++ {
						ab = append(ab, a(i, l))
					}
					sb = append(sb, out[i*n+c0:i*n+c1]...)
				}
				for l := k0; l < k1; l++ {
					for j := c0; j < c1; j++ {
						bb = append(bb, bv(l, j))
					}
				}
				ch := accel.Chunk{Row0: r0, Row1: r1, Col0: c0, Col1: c1, K0: k0, K1: k1}
				if c.prim == graph.PrimConv2D {
					ch.Plane0, ch.Plane1 = plane, plane+1
				}
				res := execChunkCall(t, b, c, ch, accel.Tensor{Data: ab}, accel.Tensor{Data: bb}, accel.Tensor{Data: sb})
				for i := r0; i < r1; i++ {
					copy(out[i*n+c0:i*n+c1], res[0].Data[(i-r0)*(c1-c0):(i-r0+1)*(c1-c0)])
				}
			}
		}
	}
}

func chunkCases(src *rand.Rand) []chunkCase {
	r := func(lo, hi int) int { return lo + src.IntN(hi-lo+1) }
	var cs []chunkCase
	cd := graph.Dims{NB: r(1, 3), C: r(1, 7), H: r(3, 12), W: r(3, 12), O: r(1, 20), KH: r(1, 4), KW: r(1, 4), SH: r(1, 2), SW: r(1, 3), PH: r(0, 2), PW: r(0, 1)}
	cd.H, cd.W = max(cd.H, cd.KH), max(cd.W, cd.KW)
	q, ckk := cd.OutH()*cd.OutW(), cd.C*cd.KH*cd.KW
	xn, wn, yn := cd.NB*cd.C*cd.H*cd.W, cd.O*ckk, cd.NB*cd.O*q
	cs = append(cs, chunkCase{name: fmt.Sprintf("conv2d-%v", cd), prim: graph.PrimConv2D, d: cd,
		ins: []accel.Tensor{{Data: randVals(src, xn)}, {Data: randVals(src, wn)}},
		run: func(t *testing.T, b *Backend, c chunkCase) [][]float32 {
			d := c.d
			y := make([]float32, yn)
			for n := range d.NB {
				out := y[n*d.O*q : (n+1)*d.O*q]
				gemmChunks(t, b, c, n, d.O, q, ckk, 5, 7, 6, out,
					func(i, l int) float32 { return c.ins[1].Data[i*ckk+l] },
					func(l, j int) float32 { return im2col(d, c.ins[0].Data, n, l, j) })
			}
			return [][]float32{y}
		}})
	cs = append(cs, chunkCase{name: fmt.Sprintf("conv2d_grad_weight-%v", cd), prim: graph.PrimConv2DGradWeight, d: cd,
		ins: []accel.Tensor{{Data: randVals(src, yn)}, {Data: randVals(src, xn)}},
		run: func(t *testing.T, b *Backend, c chunkCase) [][]float32 {
			d := c.d
			dw := make([]float32, wn)
			gemmChunks(t, b, c, 0, d.O, ckk, d.NB*q, 4, 5, 13, dw,
				func(i, l int) float32 { return c.ins[0].Data[(l/q*d.O+i)*q+l%q] },
				func(l, j int) float32 { return im2col(d, c.ins[1].Data, l/q, j, l%q) })
			return [][]float32{dw}
		}})
	cs = append(cs, chunkCase{name: fmt.Sprintf("conv2d_grad_input-%v", cd), prim: graph.PrimConv2DGradInput, d: cd,
		ins: []accel.Tensor{{Data: randVals(src, yn)}, {Data: randVals(src, wn)}},
		run: func(t *testing.T, b *Backend, c chunkCase) [][]float32 {
			d := c.d
			kk := d.KH * d.KW
			dx := make([]float32, xn)
			for pl := range d.NB * d.C {
				n, ci := pl/d.C, pl%d.C
				var w []float32
				for o := range d.O {
					w = append(w, c.ins[1].Data[(o*d.C+ci)*kk:(o*d.C+ci+1)*kk]...)
				}
				for r0 := 0; r0 < d.H; r0 += 2 {
					ch := accel.Chunk{Plane0: pl, Plane1: pl + 1, Row0: r0, Row1: min(d.H, r0+2), Col0: 1 % d.W, Col1: d.W}
					for _, ch := range []accel.Chunk{ch, {Plane0: pl, Plane1: pl + 1, Row0: ch.Row0, Row1: ch.Row1, Col0: 0, Col1: ch.Col0}} {
						if ch.Col0 == ch.Col1 {
							continue
						}
						bx := ConvGradInputBox(d, ch)
						var dy []float32
						for o := range d.O {
							for oy := bx.Row0; oy < bx.Row1; oy++ {
								base := ((n*d.O+o)*d.OutH() + oy) * d.OutW()
								dy = append(dy, c.ins[0].Data[base+bx.Col0:base+bx.Col1]...)
							}
						}
						res := execChunkCall(t, b, c, ch, accel.Tensor{Data: w}, accel.Tensor{Data: dy})
						for iy := ch.Row0; iy < ch.Row1; iy++ {
							cols := ch.Col1 - ch.Col0
							copy(dx[(pl*d.H+iy)*d.W+ch.Col0:], res[0].Data[(iy-ch.Row0)*cols:(iy-ch.Row0+1)*cols])
						}
					}
				}
			}
			return [][]float32{dx}
		}})
	for _, p := range []graph.Prim{graph.PrimMaxPool2D, graph.PrimAvgPool2D, graph.PrimMaxPool2DGrad, graph.PrimAvgPool2DGrad} {
		pd := graph.Dims{NB: r(1, 2), C: r(1, 3), H: r(3, 15), W: r(3, 15), KH: r(1, 3), KW: r(1, 3), SH: r(1, 2), SW: r(1, 2)}
		xn, yn := pd.NB*pd.C*pd.H*pd.W, pd.NB*pd.C*pd.OutH()*pd.OutW()
		c := chunkCase{name: fmt.Sprintf("%s-%v", p, pd), prim: p, d: pd}
		switch p {
		case graph.PrimMaxPool2D, graph.PrimAvgPool2D:
			c.ins = []accel.Tensor{{Data: randVals(src, xn)}}
		case graph.PrimMaxPool2DGrad:
			c.ins = []accel.Tensor{{Data: randVals(src, yn)}, {Data: randVals(src, xn)}}
		default:
			c.ins = []accel.Tensor{{Data: randVals(src, yn)}}
		}
		c.run = func(t *testing.T, b *Backend, c chunkCase) [][]float32 {
			d := c.d
			oh, ow := d.OutH(), d.OutW()
			fwd := len(c.ins) == 1 && (c.prim == graph.PrimMaxPool2D || c.prim == graph.PrimAvgPool2D)
			out := make([]float32, xn)
			if fwd {
				out = make([]float32, yn)
			}
			box := func(pl, r0, r1, c0, c1, h, w int) (idx []int) {
				for y := r0; y < r1; y++ {
					for x := c0; x < c1; x++ {
						idx = append(idx, (pl*h+y)*w+x)
					}
				}
				return idx
			}
			gather := func(v []float32, idx []int) []float32 {
				g := make([]float32, len(idx))
				for i, x := range idx {
					g[i] = v[x]
				}
				return g
			}
			// One output row per chunk, in two column halves for the first plane.
			for pl := range d.NB * d.C {
				for oy := range oh {
					cuts := [][2]int{{0, ow}}
					if pl == 0 && ow > 1 {
						cuts = [][2]int{{0, ow / 2}, {ow / 2, ow}}
					}
					for _, cut := range cuts {
						ch := accel.Chunk{Plane0: pl, Plane1: pl + 1, Row0: oy, Row1: oy + 1, Col0: cut[0], Col1: cut[1]}
						xb := PoolInputBox(d, ch)
						xi := box(pl, xb.Row0, xb.Row1, xb.Col0, xb.Col1, d.H, d.W)
						yi := box(pl, ch.Row0, ch.Row1, ch.Col0, ch.Col1, oh, ow)
						var ins []accel.Tensor
						widx := xi
						switch c.prim {
						case graph.PrimMaxPool2D, graph.PrimAvgPool2D:
							ins, widx = []accel.Tensor{{Data: gather(c.ins[0].Data, xi)}}, yi
						case graph.PrimMaxPool2DGrad:
							ins = []accel.Tensor{{Data: gather(c.ins[0].Data, yi)}, {Data: gather(c.ins[1].Data, xi)}, {Data: gather(out, xi)}}
						default:
							ins = []accel.Tensor{{Data: gather(c.ins[0].Data, yi)}, {Data: gather(out, xi)}}
						}
						res := execChunkCall(t, b, c, ch, ins...)
						for i, x := range widx {
							out[x] = res[0].Data[i]
						}
					}
				}
			}
			return [][]float32{out}
		}
		cs = append(cs, c)
	}
	bd := graph.Dims{NB: r(1, 40), C: r(1, 30), S: r(1, 20)}
	bn := bd.NB * bd.C * bd.S
	cs = append(cs, chunkCase{name: fmt.Sprintf("bias_add-%v", bd), prim: graph.PrimBiasAdd, d: bd,
		ins: []accel.Tensor{{Data: randVals(src, bn)}, {Data: randVals(src, bd.C)}},
		run: func(t *testing.T, b *Backend, c chunkCase) [][]float32 {
			out := make([]float32, bn)
			for lo := 0; lo < bn; lo += 7 {
				hi := min(bn, lo+7)
				var bb []float32
				for i := lo; i < hi; i++ {
					bb = append(bb, c.ins[1].Data[i/c.d.S%c.d.C])
				}
				res := execChunkCall(t, b, c, accel.Chunk{Row0: lo, Row1: hi}, accel.Tensor{Data: c.ins[0].Data[lo:hi]}, accel.Tensor{Data: bb})
				copy(out[lo:], res[0].Data)
			}
			return [][]float32{out}
		}})
	cs = append(cs, chunkCase{name: fmt.Sprintf("bias_grad-%v", bd), prim: graph.PrimBiasGrad, d: bd,
		ins: []accel.Tensor{{Data: randVals(src, bn)}},
		run: func(t *testing.T, b *Backend, c chunkCase) [][]float32 {
			d := c.d
			out := make([]float32, d.C)
			L := d.NB * d.S
			for c0 := 0; c0 < d.C; c0 += 3 {
				c1 := min(d.C, c0+3)
				for k0 := 0; k0 < L; k0 += 11 {
					k1 := min(L, k0+11)
					var dy []float32
					for j := c0; j < c1; j++ {
						for l := k0; l < k1; l++ {
							dy = append(dy, c.ins[0].Data[(l/d.S*d.C+j)*d.S+l%d.S])
						}
					}
					res := execChunkCall(t, b, c, accel.Chunk{Col0: c0, Col1: c1, K0: k0, K1: k1}, accel.Tensor{Data: dy}, accel.Tensor{Data: out[c0:c1]})
					copy(out[c0:c1], res[0].Data)
				}
			}
			return [][]float32{out}
		}})
	sd := graph.Dims{NB: r(1, 30), C: r(2, 20)}
	labels := make([]int32, sd.NB)
	for i := range labels {
		labels[i] = int32(src.IntN(sd.C))
	}
	for _, p := range []graph.Prim{graph.PrimSoftmaxXent, graph.PrimSoftmaxXentGrad} {
		logits := randVals(src, sd.NB*sd.C)
		if p == graph.PrimSoftmaxXentGrad {
			for i := range logits {
				logits[i] = float32(math.Abs(float64(logits[i]))) / 10
			}
		}
		cs = append(cs, chunkCase{name: fmt.Sprintf("%s-%v", p, sd), prim: p, d: sd,
			ins: []accel.Tensor{{Data: logits}, {Labels: labels}},
			run: func(t *testing.T, b *Backend, c chunkCase) [][]float32 {
				d := c.d
				probs := make([]float32, d.NB*d.C)
				loss := []float32{0}
				for r0 := 0; r0 < d.NB; r0 += 3 {
					r1 := min(d.NB, r0+3)
					ins := []accel.Tensor{{Data: c.ins[0].Data[r0*d.C : r1*d.C]}, {Labels: labels[r0:r1]}}
					if c.prim == graph.PrimSoftmaxXent {
						ins = append(ins, accel.Tensor{Data: loss})
					}
					res := execChunkCall(t, b, c, accel.Chunk{Row0: r0, Row1: r1}, ins...)
					copy(probs[r0*d.C:], res[len(res)-1].Data)
					if c.prim == graph.PrimSoftmaxXent {
						loss = res[0].Data
					}
				}
				if c.prim == graph.PrimSoftmaxXent {
					return [][]float32{loss, probs}
				}
				return [][]float32{probs}
			}})
	}
	return cs
}

// TestExecChunks computes convolutions, pooling, bias and softmax primitives chunk by chunk
// through Exec, with chunkings of their own (ragged tiles, split rows), and checks the result
// against one whole Exec call bit for bit.
func TestExecChunks(t *testing.T) {
	b, err := New(Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	src := rand.New(rand.NewPCG(8, 8))
	rounds := 8
	if testing.Short() {
		rounds = 2
	}
	for i := range rounds {
		for _, c := range chunkCases(src) {
			t.Run(fmt.Sprintf("%d-%s", i, c.name), func(t *testing.T) {
				want, err := b.Exec(context.Background(), accel.Call{Prim: c.prim, Dims: c.d, Inputs: c.ins})
				if err != nil {
					t.Fatal(err)
				}
				got := c.run(t, b, c)
				for k := range want {
					for j := range want[k].Data {
						w, g := want[k].Data[j], got[k][j]
						if math.Float32bits(w) != math.Float32bits(g) && !(w != w && g != g) {
							t.Fatalf("output %d differs at %d: whole %v, chunked %v", k, j, w, g)
						}
					}
				}
			})
		}
	}
}

// TestExecChunkBadInput: chunks outside the primitive, operands of the wrong size and
// primitives without chunks are rejected with the documented sentinels.
func TestExecChunkBadInput(t *testing.T) {
	b, err := New(Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	conv := graph.Dims{NB: 2, C: 3, H: 5, W: 5, O: 4, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1}
	pool := graph.Dims{NB: 1, C: 2, H: 4, W: 4, KH: 2, KW: 2, SH: 2, SW: 2}
	vals := func(n int) accel.Tensor { return accel.Tensor{Data: make([]float32, n)} }
	tests := []struct {
		name string
		call accel.Call
		want error
	}{
		{"conv sample out of range", accel.Call{Prim: graph.PrimConv2D, Dims: conv, Chunk: &accel.Chunk{Row1: 1, Col1: 1, K1: 1, Plane0: 2, Plane1: 3}, Inputs: []accel.Tensor{vals(1), vals(1), vals(1)}}, accel.ErrInvalidArgument},
		{"conv wrong block", accel.Call{Prim: graph.PrimConv2D, Dims: conv, Chunk: &accel.Chunk{Row1: 2, Col1: 2, K1: 2, Plane1: 1}, Inputs: []accel.Tensor{vals(4), vals(3), vals(4)}}, accel.ErrInvalidArgument},
		{"conv bad dims", accel.Call{Prim: graph.PrimConv2D, Dims: graph.Dims{NB: 1}, Chunk: &accel.Chunk{Row1: 1, Col1: 1, K1: 1}, Inputs: []accel.Tensor{vals(1), vals(1), vals(1)}}, accel.ErrInvalidArgument},
		{"grad input two planes", accel.Call{Prim: graph.PrimConv2DGradInput, Dims: conv, Chunk: &accel.Chunk{Row1: 1, Col1: 1, Plane1: 2}, Inputs: []accel.Tensor{vals(36), vals(4)}}, accel.ErrInvalidArgument},
		{"grad input wrong dy", accel.Call{Prim: graph.PrimConv2DGradInput, Dims: conv, Chunk: &accel.Chunk{Row1: 1, Col1: 1, Plane1: 1}, Inputs: []accel.Tensor{vals(36), vals(3)}}, accel.ErrInvalidArgument},
		{"pool rows of several planes", accel.Call{Prim: graph.PrimMaxPool2D, Dims: pool, Chunk: &accel.Chunk{Row1: 1, Col1: 2, Plane1: 2}, Inputs: []accel.Tensor{vals(16)}}, accel.ErrInvalidArgument},
		{"pool split rows", accel.Call{Prim: graph.PrimMaxPool2D, Dims: pool, Chunk: &accel.Chunk{Row1: 2, Col1: 1, Plane1: 1}, Inputs: []accel.Tensor{vals(8)}}, accel.ErrInvalidArgument},
		{"pool grad no running values", accel.Call{Prim: graph.PrimAvgPool2DGrad, Dims: pool, Chunk: &accel.Chunk{Row1: 2, Col1: 2, Plane1: 1}, Inputs: []accel.Tensor{vals(4)}}, accel.ErrInvalidArgument},
		{"bias grad past the batch", accel.Call{Prim: graph.PrimBiasGrad, Dims: graph.Dims{NB: 2, C: 2, S: 1}, Chunk: &accel.Chunk{Col1: 1, K1: 3}, Inputs: []accel.Tensor{vals(3), vals(1)}}, accel.ErrInvalidArgument},
		{"softmax bad label", accel.Call{Prim: graph.PrimSoftmaxXent, Dims: graph.Dims{NB: 2, C: 3}, Chunk: &accel.Chunk{Row1: 1}, Inputs: []accel.Tensor{vals(3), {Labels: []int32{3}}, vals(1)}}, accel.ErrInvalidArgument},
		{"softmax no total", accel.Call{Prim: graph.PrimSoftmaxXent, Dims: graph.Dims{NB: 2, C: 3}, Chunk: &accel.Chunk{Row1: 1}, Inputs: []accel.Tensor{vals(3), {Labels: []int32{0}}}}, accel.ErrInvalidArgument},
		{"adam step", accel.Call{Prim: graph.PrimAdamStep, Chunk: &accel.Chunk{Row1: 1}, Inputs: []accel.Tensor{vals(2)}}, accel.ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Exec(context.Background(), tc.call)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}
