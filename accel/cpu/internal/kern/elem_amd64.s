//go:build amd64 && !purego

#include "textflag.h"

// func reluAVX2(n int, y, x *float32)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ   n+0(FP), CX
	MOVQ   y+8(FP), DI
	MOVQ   x+16(FP), SI
	VXORPS Y15, Y15, Y15 // +0

reluloop:
	CMPQ    CX, $8
	JL      reludone
	VMOVUPS (SI), Y0
	VMAXPS  Y15, Y0, Y0 // Intel VMAXPS y0, y0, y15: x > +0 ? x : +0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     reluloop

reludone:
	VZEROUPPER
	RET

// func reluGradAVX2(n int, dx, dy, y *float32)
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ   n+0(FP), CX
	MOVQ   dx+8(FP), DI
	MOVQ   dy+16(FP), SI
	MOVQ   y+24(FP), DX
	VXORPS Y15, Y15, Y15 // +0

rgloop:
	CMPQ    CX, $8
	JL      rgdone
	VMOVUPS (DX), Y0
	VCMPPS  $0x1e, Y15, Y0, Y0 // Intel VCMPPS y0, y0, y15, GT_OQ: y > +0, false for NaN
	VANDPS  (SI), Y0, Y0       // dy where y > 0, else +0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     rgloop

rgdone:
	VZEROUPPER
	RET
