//go:build amd64 && !purego

#include "textflag.h"

// func sgdAVX2(n int, w, grad, v *float32, lr, momentum, wd float32)
TEXT ·sgdAVX2(SB), NOSPLIT, $0-44
	MOVQ         n+0(FP), CX
	MOVQ         w+8(FP), DI
	MOVQ         grad+16(FP), SI
	MOVQ         v+24(FP), DX
	VBROADCASTSS lr+32(FP), Y12
	VBROADCASTSS momentum+36(FP), Y13
	VBROADCASTSS wd+40(FP), Y14

sgdloop:
	CMPQ    CX, $8
	JL      sgddone
	VMOVUPS (DI), Y0          // w
	VMULPS  Y0, Y14, Y1       // float32(wd*w)
	VADDPS  (SI), Y1, Y1      // gg = g + float32(wd*w)
	VMULPS  (DX), Y13, Y2     // float32(momentum*v)
	VADDPS  Y1, Y2, Y2        // v = float32(momentum*v) + gg
	VMOVUPS Y2, (DX)
	VMULPS  Y2, Y12, Y2       // float32(lr*v)
	VSUBPS  Y2, Y0, Y0        // w - float32(lr*v)
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     sgdloop

sgddone:
	VZEROUPPER
	RET

// func adamWAVX2(n int, w, grad, m, v *float32, p *adamParams)
//
// p holds b1, ob1, b2, ob2, c1, c2, eps, wd, lr at offsets 0, 4, ..., 32.
TEXT ·adamWAVX2(SB), NOSPLIT, $0-48
	MOVQ         n+0(FP), CX
	MOVQ         w+8(FP), DI
	MOVQ         grad+16(FP), SI
	MOVQ         m+24(FP), R8
	MOVQ         v+32(FP), R9
	MOVQ         p+40(FP), AX
	VBROADCASTSS 0(AX), Y6   // b1
	VBROADCASTSS 4(AX), Y7   // ob1
	VBROADCASTSS 8(AX), Y8   // b2
	VBROADCASTSS 12(AX), Y9  // ob2
	VBROADCASTSS 16(AX), Y10 // c1
	VBROADCASTSS 20(AX), Y11 // c2
	VBROADCASTSS 24(AX), Y12 // eps
	VBROADCASTSS 28(AX), Y13 // wd
	VBROADCASTSS 32(AX), Y14 // lr

adamloop:
	CMPQ    CX, $8
	JL      adamdone
	VMOVUPS (SI), Y0          // g
	VMULPS  (R8), Y6, Y1      // float32(b1*m)
	VMULPS  Y0, Y7, Y2        // float32(ob1*g)
	VADDPS  Y2, Y1, Y1        // m
	VMOVUPS Y1, (R8)
	VMULPS  Y0, Y9, Y2        // float32(ob2*g)
	VMULPS  Y0, Y2, Y2        // float32(float32(ob2*g)*g)
	VMULPS  (R9), Y8, Y3      // float32(b2*v)
	VADDPS  Y2, Y3, Y3        // v
	VMOVUPS Y3, (R9)
	VMULPS  Y1, Y10, Y1       // mh = float32(m*c1)
	VMULPS  Y3, Y11, Y3       // vh = float32(v*c2)
	VSQRTPS Y3, Y3            // Sqrt(vh)
	VADDPS  Y12, Y3, Y3       // Sqrt(vh) + eps
	VDIVPS  Y3, Y1, Y1        // u = mh / (Sqrt(vh) + eps)
	VMOVUPS (DI), Y4          // w
	VMULPS  Y4, Y13, Y5       // float32(wd*w)
	VADDPS  Y5, Y1, Y1        // u + float32(wd*w)
	VMULPS  Y1, Y14, Y1       // float32(lr*(...))
	VSUBPS  Y1, Y4, Y4        // w - float32(lr*(...))
	VMOVUPS Y4, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	SUBQ    $8, CX
	JMP     adamloop

adamdone:
	VZEROUPPER
	RET
