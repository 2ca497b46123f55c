package chunk

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// ChunkAll chunks many texts with c on up to workers goroutines (workers <=
// 0 means runtime.GOMAXPROCS(0)) and returns the pieces of texts[i] at index
// i. Both chunkers of this package are safe for concurrent use. It stops at
// the first error, returned as "chunk: text i: ...", or when ctx is done.
func ChunkAll(ctx context.Context, c Chunker, texts []string, workers int) ([][]Piece, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(texts) {
		workers = len(texts)
	}
	out := make([][]Piece, len(texts))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				pieces, err := c.Chunk(texts[i])
				if err != nil {
					once.Do(func() {
						firstErr = fmt.Errorf("chunk: text %d: %w", i, err)
						cancel()
					})
					continue
				}
				out[i] = pieces
			}
		})
	}
feed:
	for i := range texts {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("chunk: %w", err)
	}
	return out, nil
}
