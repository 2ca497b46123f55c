//go:build !amd64 || purego

package local

import "unsafe"

func dot(a, b []float32) float32 { return dotGeneric(a, b) }

func dotBlock(q, rows []float32, out []float32) { dotBlockGeneric(q, rows, out) }

func dotI8Block(q []int16, codes []int8, out []int32) { dotI8BlockGeneric(q, codes, out) }

func prefetchRange(p unsafe.Pointer, n int) {}
