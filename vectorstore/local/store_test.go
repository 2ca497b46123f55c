package local

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/vectorstoretest"
)

func TestConformanceMemory(t *testing.T) {
	vectorstoretest.Run(t, func(t *testing.T) vectorstore.VectorStore {
		s, err := Open("")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, 16)
}

func TestConformanceDisk(t *testing.T) {
	var mu sync.Mutex
	dirs := map[vectorstore.VectorStore]string{}
	open := func(t *testing.T, dir string, opts ...Option) vectorstore.VectorStore {
		s, err := Open(dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		dirs[s] = dir
		mu.Unlock()
		return s
	}
	vectorstoretest.RunOptions(t, func(t *testing.T) vectorstore.VectorStore {
		// A tiny compaction threshold so that snapshots happen during the suite.
		return open(t, filepath.Join(t.TempDir(), "vs"), WithCompactionThreshold(4<<10))
	}, 16, vectorstoretest.Options{
		Reopen: func(t *testing.T, old vectorstore.VectorStore) vectorstore.VectorStore {
			mu.Lock()
			dir := dirs[old]
			mu.Unlock()
			return open(t, dir, WithCompactionThreshold(4<<10))
		},
	})
}
