//go:build amd64 && !purego

#include "textflag.h"

// func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// ROW4 adds float32(A(r,l)*B(l,0..15)) to the accumulators lo, hi of row r:
// the product is rounded by VMULPS, then added by VADDPS (never an FMA).
#define ROW4(addr, lo, hi) \
	VBROADCASTSS addr, Y10 \
	VMULPS       Y8, Y10, Y11 \
	VMULPS       Y9, Y10, Y12 \
	VADDPS       Y11, lo, lo \
	VADDPS       Y12, hi, hi

// func gemm4x16(k int, a *float32, ars, acs int, b *float32, ldb int, c *float32, ldc int, accumulate bool)
//
// Accumulators: row 0 in Y0 (columns 0-7) and Y1 (8-15), row 1 in Y2, Y3,
// row 2 in Y4, Y5, row 3 in Y6, Y7. B row l is in Y8, Y9.
TEXT ·gemm4x16(SB), NOSPLIT, $0-65
	MOVQ    k+0(FP), CX
	MOVQ    a+8(FP), SI
	MOVQ    ars+16(FP), R8
	MOVQ    acs+24(FP), R9
	MOVQ    b+32(FP), DI
	MOVQ    ldb+40(FP), R13
	MOVQ    c+48(FP), DX
	MOVQ    ldc+56(FP), R10
	MOVBLZX accumulate+64(FP), AX
	SHLQ    $2, R8
	SHLQ    $2, R9
	SHLQ    $2, R13
	SHLQ    $2, R10
	LEAQ    (R8)(R8*2), R11   // 3*ars bytes
	LEAQ    (R10)(R10*2), R12 // 3*ldc bytes
	TESTQ   AX, AX
	JZ      zero4
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS (DX)(R10*1), Y2
	VMOVUPS 32(DX)(R10*1), Y3
	VMOVUPS (DX)(R10*2), Y4
	VMOVUPS 32(DX)(R10*2), Y5
	VMOVUPS (DX)(R12*1), Y6
	VMOVUPS 32(DX)(R12*1), Y7
	JMP     loop4

zero4:
	// +0 start: a sum of -0 products is +0, as in the pure-Go fold.
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop4:
	TESTQ   CX, CX
	JZ      done4
	VMOVUPS (DI), Y8
	VMOVUPS 32(DI), Y9
	ROW4((SI), Y0, Y1)
	ROW4((SI)(R8*1), Y2, Y3)
	ROW4((SI)(R8*2), Y4, Y5)
	ROW4((SI)(R11*1), Y6, Y7)
	ADDQ    R13, DI
	ADDQ    R9, SI
	DECQ    CX
	JMP     loop4

done4:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (DX)(R10*1)
	VMOVUPS Y3, 32(DX)(R10*1)
	VMOVUPS Y4, (DX)(R10*2)
	VMOVUPS Y5, 32(DX)(R10*2)
	VMOVUPS Y6, (DX)(R12*1)
	VMOVUPS Y7, 32(DX)(R12*1)
	VZEROUPPER
	RET

// func gemm1x16(k int, a *float32, acs int, b *float32, ldb int, c *float32, accumulate bool)
TEXT ·gemm1x16(SB), NOSPLIT, $0-49
	MOVQ    k+0(FP), CX
	MOVQ    a+8(FP), SI
	MOVQ    acs+16(FP), R9
	MOVQ    b+24(FP), DI
	MOVQ    ldb+32(FP), R13
	MOVQ    c+40(FP), DX
	MOVBLZX accumulate+48(FP), AX
	SHLQ    $2, R9
	SHLQ    $2, R13
	TESTQ   AX, AX
	JZ      zero1
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	JMP     loop1

zero1:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

loop1:
	TESTQ   CX, CX
	JZ      done1
	VMOVUPS (DI), Y8
	VMOVUPS 32(DI), Y9
	ROW4((SI), Y0, Y1)
	ADDQ    R13, DI
	ADDQ    R9, SI
	DECQ    CX
	JMP     loop1

done1:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VZEROUPPER
	RET
