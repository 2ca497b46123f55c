package minirag

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/sqlite"
)

// batchSpy is a SQLite store (with its storage.DocumentBatcher) that counts
// PutDocuments and PutDocument calls and fails, in both, any document whose
// key is failKey.
type batchSpy struct {
	*sqlite.Store
	*spyState
}

// spyState is shared by a batchSpy and the spies of its transactions.
type spyState struct {
	mu                     sync.Mutex
	batches, batched, puts int
	failKey                string
}

// InTx runs fn with a spy of the transaction, so that the calls made in
// it are counted too.
func (s *batchSpy) InTx(ctx context.Context, fn func(tx storage.Storage) error) error {
	return s.Store.InTx(ctx, func(tx storage.Storage) error {
		return fn(&batchSpy{Store: tx.(*sqlite.Store), spyState: s.spyState})
	})
}

var errSpy = errors.New("spy: refused")

func (s *batchSpy) PutDocuments(ctx context.Context, docs []storage.DocumentWithChunks) ([]record.Document, error) {
	s.mu.Lock()
	s.batches++
	fail := s.failKey
	s.mu.Unlock()
	for i, d := range docs {
		if d.Document.Key == fail {
			return nil, fmt.Errorf("documents[%d]: %w", i, errSpy)
		}
	}
	out, err := s.Store.PutDocuments(ctx, docs)
	if err == nil {
		s.mu.Lock()
		s.batched += len(docs)
		s.mu.Unlock()
	}
	return out, err
}

func (s *batchSpy) PutDocument(ctx context.Context, d record.Document, chunks []record.Chunk) (record.Document, error) {
	s.mu.Lock()
	s.puts++
	fail := s.failKey
	s.mu.Unlock()
	if d.Key == fail {
		return record.Document{}, errSpy
	}
	return s.Store.PutDocument(ctx, d, chunks)
}

func (s *batchSpy) counts() (batches, batched, puts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batches, s.batched, s.puts
}

// TestIngestUsesDocumentBatcher: a store offering storage.DocumentBatcher
// gets a group of documents in one PutDocuments call; when that call
// fails, each document is stored on its own, and only the bad one fails.
func TestIngestUsesDocumentBatcher(t *testing.T) {
	var spy *batchSpy
	e := newIngestEnv(t, func(c *Config) {
		spy = &batchSpy{Store: c.Storage.(*sqlite.Store), spyState: &spyState{}}
		c.Storage = spy
	})
	h, bot := e.tenantWithBot(t, "batch")
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("doc-%02d.md", i)] = fmt.Sprintf("# Page %d\n\nPage %d explains topic%d in a short paragraph.\n", i, i, i)
	}
	writeFiles(t, dir, files)
	src := e.dirSource(t, h, bot.ID, dir)

	// One embedding request for all 40 documents: the writer gets them
	// together.
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{BatchSize: 64})
	require.NoError(t, err)
	assert.Equal(t, 40, res.Added)
	batches, batched, puts := spy.counts()
	assert.Positive(t, batches, "PutDocuments calls")
	assert.Equal(t, 40, batched+puts, "every document stored once, by PutDocuments or PutDocument")
	assert.Greater(t, batched, puts, "most documents go through PutDocuments")
	assert.Len(t, storedTexts(t, e, h.TenantID(), src.ID), 40)

	// Every document changes; the store refuses doc-07.md.
	for k := range files {
		files[k] += "\nA second paragraph was added.\n"
	}
	writeFiles(t, dir, files)
	spy.mu.Lock()
	spy.failKey, spy.batches, spy.batched, spy.puts = "doc-07.md", 0, 0, 0
	spy.mu.Unlock()
	res, err = h.Ingest(e.ctx, src.ID, IngestOptions{BatchSize: 64})
	require.Error(t, err)
	assert.ErrorIs(t, err, errSpy)
	require.Len(t, res.Failed, 1)
	assert.Equal(t, "doc-07.md", res.Failed[0].Key)
	assert.Equal(t, 39, res.Updated, "the group's other documents are stored one by one")
	_, _, puts = spy.counts()
	assert.GreaterOrEqual(t, puts, 2, "a failed PutDocuments falls back to PutDocument")

	docs, err := e.c.Storage().ListDocuments(e.ctx, h.TenantID(), src.ID)
	require.NoError(t, err)
	require.Len(t, docs, 40)
	for _, d := range docs {
		cs, err := e.c.Storage().ListChunks(e.ctx, h.TenantID(), d.ID)
		require.NoError(t, err)
		text := ""
		for _, c := range cs {
			text += c.Text
		}
		if d.Key == "doc-07.md" {
			assert.NotContains(t, text, "second paragraph", "the refused document keeps its previous version")
		} else {
			assert.Contains(t, text, "second paragraph", "document %s was updated", d.Key)
		}
	}
}
