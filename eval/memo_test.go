package eval

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// memoDepth is how many lexical matches lexicalMemo fetches at least: the
// candidates a hybrid search of the top 10 asks for.
const memoDepth = 40

// lexicalMemo is a Storage whose SearchLexical asks the store once per
// query (for at least memoDepth matches) and answers later calls for the
// same query from the first answer's prefix. The test asks every question
// in lexical mode (20 candidates) and in hybrid mode (40), and full-text
// search is what the race detector slows most (about 0.5 s a query on the
// pure-Go SQLite): this halves the test's time without changing a result,
// because the store ranks by (score, rowid), so its top n is the prefix of
// its top m ≥ n. TestRetrievalQuality checks that on real queries
// (checkPrefix).
type lexicalMemo struct {
	storage.Storage
	batcher storage.DocumentBatcher

	mu    sync.Mutex
	cache map[string]memoEntry
}

// memoEntry is one answer of the store: the matches for a limit.
type memoEntry struct {
	limit   int
	matches []storage.LexicalMatch
}

// newLexicalMemo wraps st, which must also be a DocumentBatcher (as
// storage/sqlite is), so that ingestion takes the same path through the
// memo as without it.
func newLexicalMemo(st storage.Storage) (*lexicalMemo, error) {
	b, ok := st.(storage.DocumentBatcher)
	if !ok {
		return nil, fmt.Errorf("eval: memo: %T is not a storage.DocumentBatcher", st)
	}
	return &lexicalMemo{Storage: st, batcher: b, cache: map[string]memoEntry{}}, nil
}

// PutDocuments forwards to the store's batch write.
func (m *lexicalMemo) PutDocuments(ctx context.Context, docs []storage.DocumentWithChunks) ([]record.Document, error) {
	return m.batcher.PutDocuments(ctx, docs)
}

// SearchLexical answers from the memo when it holds the query with at
// least q.Limit matches (or all there are).
func (m *lexicalMemo) SearchLexical(ctx context.Context, q storage.LexicalQuery) ([]storage.LexicalMatch, error) {
	if q.Limit <= 0 {
		return m.Storage.SearchLexical(ctx, q)
	}
	key := strings.Join(append([]string{q.TenantID, q.BotID, q.Language, q.Text}, q.SourceIDs...), "\x00")
	m.mu.Lock()
	e, ok := m.cache[key]
	m.mu.Unlock()
	// An answer with fewer matches than its limit holds every match.
	if !ok || (e.limit < q.Limit && len(e.matches) == e.limit) {
		fetch := q
		fetch.Limit = max(q.Limit, memoDepth)
		got, err := m.Storage.SearchLexical(ctx, fetch)
		if err != nil {
			return nil, err
		}
		e = memoEntry{limit: fetch.Limit, matches: got}
		m.mu.Lock()
		m.cache[key] = e
		m.mu.Unlock()
	}
	return slices.Clone(e.matches[:min(q.Limit, len(e.matches))]), nil
}

// checkPrefix asks the store itself (not the memo) for the top n matches
// of q and compares them with the memo's answer: they must be equal.
func (m *lexicalMemo) checkPrefix(ctx context.Context, q storage.LexicalQuery) error {
	direct, err := m.Storage.SearchLexical(ctx, q)
	if err != nil {
		return err
	}
	memo, err := m.SearchLexical(ctx, q)
	if err != nil {
		return err
	}
	if !slices.Equal(direct, memo) {
		return fmt.Errorf("eval: memo: %q limit %d: the store gives %v, the memo %v", q.Text, q.Limit, direct, memo)
	}
	return nil
}
