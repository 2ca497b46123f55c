//go:build amd64 && !purego

#include "textflag.h"

// func dotI8BlockAVX2(q *int16, c *int8, dims, n int, out *int32)
//
// For each of the n rows of dims int8 codes at c, writes to out the dot
// product with the dims int16s at q: codes are sign-extended to int16
// (VPMOVSXBW), multiplied and summed in pairs to int32 (VPMADDWD).
TEXT ·dotI8BlockAVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), R8
	MOVQ c+8(FP), DI
	MOVQ dims+16(FP), R9
	MOVQ n+24(FP), R10
	MOVQ out+32(FP), R11

row:
	TESTQ R10, R10
	JZ    done
	MOVQ  R8, SI
	MOVQ  R9, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1

loop32:
	CMPQ      CX, $32
	JL        loop16
	VPMOVSXBW (DI), Y2
	VPMOVSXBW 16(DI), Y3
	VPMADDWD  (SI), Y2, Y2
	VPMADDWD  32(SI), Y3, Y3
	VPADDD    Y2, Y0, Y0
	VPADDD    Y3, Y1, Y1
	ADDQ      $32, DI
	ADDQ      $64, SI
	SUBQ      $32, CX
	JMP       loop32

loop16:
	CMPQ      CX, $16
	JL        reduce
	VPMOVSXBW (DI), Y2
	VPMADDWD  (SI), Y2, Y2
	VPADDD    Y2, Y0, Y0
	ADDQ      $16, DI
	ADDQ      $32, SI
	SUBQ      $16, CX

reduce:
	VPADDD       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX

tail:
	TESTQ   CX, CX
	JZ      store
	MOVBQSX (DI), BX
	MOVWQSX (SI), DX
	IMULQ   DX, BX
	ADDL    BX, AX
	INCQ    DI
	ADDQ    $2, SI
	DECQ    CX
	JMP     tail

store:
	MOVL AX, (R11)
	ADDQ $4, R11
	DECQ R10
	JMP  row

done:
	VZEROUPPER
	RET
