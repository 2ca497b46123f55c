//go:build amd64 && !purego

package local

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the assembly kernel: AVX2 and FMA, with the OS saving
// the YMM registers (cpu.X86.HasAVX2 implies the latter).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotAVX2 returns the dot product of the n float32s at a and b.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

func dot(a, b []float32) float32 {
	if !useAVX2 || len(a) == 0 {
		return dotGeneric(a, b)
	}
	b = b[:len(a)]
	return dotAVX2(&a[0], &b[0], len(a))
}

func dotBlock(q, rows []float32, out []float32) {
	d := len(q)
	if !useAVX2 || d == 0 {
		dotBlockGeneric(q, rows, out)
		return
	}
	rows = rows[:len(out)*d]
	for j := range out {
		out[j] = dotAVX2(&q[0], &rows[j*d], d)
	}
}

// dotI8BlockAVX2 scores n rows of dims int8 codes against q (see
// dot_i8_amd64.s).
//
//go:noescape
func dotI8BlockAVX2(q *int16, c *int8, dims, n int, out *int32)

func dotI8Block(q []int16, codes []int8, out []int32) {
	d := len(q)
	if !useAVX2 || d == 0 || len(out) == 0 {
		dotI8BlockGeneric(q, codes, out)
		return
	}
	codes = codes[:len(out)*d]
	dotI8BlockAVX2(&q[0], &codes[0], d, len(out), &out[0])
}

// prefetchRange asks the CPU to bring the n bytes at p into its caches
// (PREFETCHT0 per cache line); it never faults.
//
//go:noescape
func prefetchRange(p unsafe.Pointer, n int)
