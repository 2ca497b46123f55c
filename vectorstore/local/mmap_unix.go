//go:build unix

package local

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps f's size bytes copy-on-write: the Store may change the
// mapped rows in memory; the file never changes.
func mapFile(f *os.File, size int64) ([]byte, error) {
	if int64(int(size)) != size {
		return nil, fmt.Errorf("vectorstore/local: %s is too large to map", f.Name())
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("vectorstore/local: map %s: %w", f.Name(), err)
	}
	return m, nil
}

func unmapFile(m []byte) { syscall.Munmap(m) }
