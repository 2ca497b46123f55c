//go:build !unix

package local

import (
	"fmt"
	"io"
	"os"
)

// mapFile reads f's size bytes into memory (no mmap on this platform).
func mapFile(f *os.File, size int64) ([]byte, error) {
	m := make([]byte, size)
	if _, err := f.ReadAt(m, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("vectorstore/local: read %s: %w", f.Name(), err)
	}
	return m, nil
}

func unmapFile([]byte) {}
