//go:build amd64 && !purego

package local

import "golang.org/x/sys/cpu"

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
