package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
)

// metaValue returns a random value for field f, of several JSON types per
// field so that filters meet values of other types, arrays (empty, with
// nulls, nested) and objects.
func metaValue(r *rand.Rand, f string) (any, bool) {
	if r.IntN(8) == 0 {
		return nil, false // missing
	}
	strs := []any{"en", "de", "fr", "B", "a", "é", "1", ""}
	nums := []any{1.0, 2.0, 2.5, -3.0, 2020.0, 1e21}
	pick := func(vs []any) any { return vs[r.IntN(len(vs))] }
	switch r.IntN(10) {
	case 0:
		return nil, true // JSON null
	case 1:
		return []any{}, true
	case 2:
		return []any{nil, pick(strs)}, true
	case 3:
		return []any{[]any{pick(nums)}}, true // nested: never matches a scalar condition
	case 4:
		return map[string]any{"x": pick(nums)}, true
	case 5:
		return []any{pick(strs), pick(nums), r.IntN(2) == 0}, true
	case 6:
		return r.IntN(2) == 0, true
	case 7:
		return record.FormatTime(time.Date(2024, 1, 1+r.IntN(60), 0, 0, 0, 0, time.UTC)), true
	}
	if f == "lang" || r.IntN(2) == 0 {
		return pick(strs), true
	}
	return pick(nums), true
}

var metaFields = []string{"lang", "year", "tags", "mixed"}

// randFilter returns a random valid filter over metaFields, nested up to
// depth levels.
func randFilter(r *rand.Rand, depth int) filter.Filter {
	vals := []any{"en", "de", "B", "a", "é", "1", "", 1.0, 2.0, 2.5, -3.0, 2020.0, 1e21, true, false,
		record.FormatTime(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC))}
	field := metaFields[r.IntN(len(metaFields))]
	n := r.IntN(10)
	if depth > 0 && n < 3 {
		var args []filter.Filter
		for range 1 + r.IntN(3) {
			args = append(args, randFilter(r, depth-1))
		}
		switch n {
		case 0:
			return filter.Filter{Op: filter.OpAnd, Args: args}
		case 1:
			return filter.Filter{Op: filter.OpOr, Args: args}
		default:
			return filter.Not(args[0])
		}
	}
	switch n % 5 {
	case 0:
		return filter.Eq(field, vals[r.IntN(len(vals))])
	case 1:
		var in []any
		for range 1 + r.IntN(4) {
			in = append(in, vals[r.IntN(len(vals))])
		}
		return filter.In(field, in...)
	case 2:
		return filter.Exists(field)
	}
	var bounds []any
	if r.IntN(2) == 0 {
		bounds = []any{-5.0, 1.0, 2.0, 2.5, 2020.0, 1e22}
	} else {
		bounds = []any{"", "B", "a", "en", "z", "é", record.FormatTime(time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC))}
	}
	b := func() any { return bounds[r.IntN(len(bounds))] }
	f := filter.Filter{Op: filter.OpRange, Field: field}
	switch r.IntN(5) {
	case 0:
		f.Gt = b()
	case 1:
		f.Gte = b()
	case 2:
		f.Lt = b()
	case 3:
		f.Lte = b()
	default:
		f.Gte, f.Lt = b(), b()
	}
	return f
}

type metaDoc struct {
	source, key, chunk string
	meta               record.Metadata
}

// TestMetadataFilters: QueryDocumentsPage and SearchLexical select exactly
// the documents filter.Match selects, for hand-written and random filters,
// never another tenant's, and page in source then key order.
func TestMetadataFilters(t *testing.T) {
	p, url := pool(t, 4)
	schema := testsvc.Schema(t, url)
	s := lexStore(t, p, schema, []string{"ta", "tb"}, []string{"x", "y"})
	ctx := t.Context()
	r := rand.New(rand.NewPCG(10, 11))
	var docs []metaDoc
	for _, ten := range []string{"ta", "tb"} {
		for _, bot := range []string{"x", "y"} {
			src := "src-" + ten + "-" + bot
			var items []storage.DocumentWithChunks
			for i := range 120 {
				m := record.Metadata{}
				for _, f := range metaFields {
					if v, ok := metaValue(r, f); ok {
						m[f] = v
					}
				}
				if i%17 == 0 {
					m = nil
				}
				key := fmt.Sprintf("k%03d", i)
				if i%5 == 0 {
					key = fmt.Sprintf("K%03d", i) // byte order: upper case first
				}
				id := src + "-" + key
				items = append(items, storage.DocumentWithChunks{
					Document: record.Document{ID: "d-" + id, TenantID: ten, SourceID: src, Key: key, Metadata: m},
					Chunks:   []record.Chunk{{ID: "c-" + id, Text: "alpha " + zipfText(rand.NewZipf(r, 1.2, 1, 50), 5)}},
				})
				if ten == "ta" {
					docs = append(docs, metaDoc{source: src, key: key, chunk: "c-" + id, meta: m})
				}
			}
			_, err := s.PutDocuments(ctx, items)
			require.NoError(t, err)
		}
	}
	// Metadata reads back as stored, JSON types included.
	got, err := s.GetDocumentByKey(ctx, "ta", docs[1].source, docs[1].key)
	require.NoError(t, err)
	require.Equal(t, docs[1].meta, got.Metadata)

	check := func(name string, f filter.Filter, botID string) {
		t.Helper()
		require.NoError(t, f.Validate("filter"), name)
		var want []string
		wantChunks := map[string]bool{}
		for _, d := range docs {
			if (botID == "" || d.source == "src-ta-"+botID[len("ta-"):]) && f.Match(d.meta) {
				want = append(want, d.source+"/"+d.key)
				wantChunks[d.chunk] = true
			}
		}
		sort.Strings(want) // byte-wise, as the store orders
		var have []string
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 200, name)
			page, next, err := s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: "ta", BotID: botID, Filter: f}, storage.Page{Limit: 37, Cursor: cursor})
			require.NoError(t, err, name)
			for _, d := range page {
				require.Equal(t, "ta", d.TenantID, name)
				have = append(have, d.SourceID+"/"+d.Key)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if want == nil {
			want = []string{}
		}
		if have == nil {
			have = []string{}
		}
		require.Equal(t, want, have, "%s: %s", name, mustJSON(f))

		m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "ta", BotID: botID, Text: "alpha", Limit: 1000, Filter: f})
		require.NoError(t, err, name)
		gotChunks := map[string]bool{}
		for _, x := range m {
			gotChunks[x.ChunkID] = true
		}
		require.Equal(t, wantChunks, gotChunks, "%s (lexical): %s", name, mustJSON(f))
	}
	fixed := map[string]filter.Filter{
		"eq string":           filter.Eq("lang", "en"),
		"eq number vs string": filter.Eq("mixed", 1),
		"eq string one":       filter.Eq("mixed", "1"),
		"eq bool":             filter.Eq("year", true),
		"in":                  filter.In("tags", "de", 2.5, false),
		"range number":        filter.Between("year", 1, 2021),
		"range string":        filter.Gte("lang", "a"),
		"range time":          filter.Lt("mixed", time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC)),
		"exists":              filter.Exists("tags"),
		"not exists":          filter.Not(filter.Exists("tags")),
		"not eq":              filter.Not(filter.Eq("lang", "en")),
		"and or":              filter.And(filter.Or(filter.Eq("lang", "de"), filter.Gt("year", 2)), filter.Not(filter.In("tags", "a", "B"))),
	}
	names := make([]string, 0, len(fixed))
	for n := range fixed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		check(n, fixed[n], "")
	}
	check("bot scope", filter.Exists("lang"), "ta-x")
	for i := range 60 {
		check(fmt.Sprintf("random %d", i), randFilter(r, 3), []string{"", "ta-y"}[i%2])
	}

	// Invalid filters name the field.
	bad := filter.Filter{Op: filter.OpEq, Field: "bad key!", Values: []any{"x"}}
	_, _, err = s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: "ta", Filter: bad}, storage.Page{Limit: 5})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorContains(t, err, "filter")
	_, err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "ta", Text: "alpha", Filter: bad})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorContains(t, err, "filter")
}

func mustJSON(f filter.Filter) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// TestDocumentQueryPlans: with the planner's sequential scans off (tables
// this small would be read whole), a bot's and a source's listing is an
// index range scan in order, with no sort, and a key lookup an index
// probe; an Eq filter can use the GIN index.
func TestDocumentQueryPlans(t *testing.T) {
	p, url := pool(t, 2)
	schema := testsvc.Schema(t, url)
	s := lexStore(t, p, schema, []string{"t"}, []string{"a"})
	putItems(t, s, "t", "src-t-a", "k", 50, func(i int) (string, string) { return "title", "text" })
	ctx := t.Context()
	tx, err := p.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SET LOCAL enable_seqscan = off; SET LOCAL search_path = "+quoteIdent(schema)+"; ANALYZE documents")
	require.NoError(t, err)
	plan := func(q string, args ...any) string {
		rows, err := tx.Query(ctx, "EXPLAIN "+q, args...)
		require.NoError(t, err)
		var b bytes.Buffer
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			b.WriteString(line + "\n")
		}
		require.NoError(t, rows.Err())
		return b.String()
	}
	pl := plan(`SELECT id FROM documents d WHERE d.tenant_id = $1 AND d.bot_id = $2 AND (d.source_id COLLATE "C", d.key COLLATE "C") > ($3, $4)
		ORDER BY d.source_id COLLATE "C", d.key COLLATE "C" LIMIT 10`, "t", "t-a", "s", "k")
	require.Contains(t, pl, "documents_bot_source_key", pl)
	require.NotContains(t, pl, "Sort", pl)
	pl = plan(`SELECT id FROM documents d WHERE d.tenant_id = $1 AND d.source_id COLLATE "C" = $2 AND (d.source_id COLLATE "C", d.key COLLATE "C") > ($2, $3)
		ORDER BY d.source_id COLLATE "C", d.key COLLATE "C" LIMIT 10`, "t", "src-t-a", "k")
	require.Contains(t, pl, "documents_tenant_source_key", pl)
	require.NotContains(t, pl, "Filter:", pl) // the source's equality is an index condition
	require.NotContains(t, pl, "Sort", pl)
	pl = plan(`SELECT id FROM documents WHERE source_id = $2 AND key = $3 AND tenant_id = $1`, "t", "src-t-a", "k1")
	require.Contains(t, pl, "documents_source_key", pl)
	pl = plan(`SELECT id FROM documents d WHERE d.metadata @> ANY($1::jsonb[])`, []string{`{"lang":"en"}`, `{"lang":["en"]}`})
	require.Contains(t, pl, "documents_metadata", pl)
}

func quoteIdent(s string) string {
	b, _ := json.Marshal(s) // a schema name of letters, digits and '_': JSON quoting is SQL quoting
	return string(b)
}

// TestDeleteTenantInterrupted: an erase cancelled after its first batch
// has already removed the tenant's tokens and users and left documents
// whole with their chunks; a second call finishes it, after which nothing
// of the tenant is left (BM25 statistics included) and the other tenant's
// statistics and scores are what they were.
func TestDeleteTenantInterrupted(t *testing.T) {
	p, url := pool(t, 4)
	schema := testsvc.Schema(t, url)
	s := lexStore(t, p, schema, []string{"gone", "kept"}, []string{"a", "b"})
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := rand.New(rand.NewPCG(5, 6))
	z := rand.NewZipf(r, 1.1, 2, 500)
	for _, ten := range []string{"gone", "kept"} {
		for _, bot := range []string{"a", "b"} {
			putItems(t, s, ten, "src-"+ten+"-"+bot, "k", 120, func(int) (string, string) { return zipfText(z, 2), zipfText(z, 30) })
		}
		require.NoError(t, s.CreateUser(ctx, record.User{ID: "u-" + ten, TenantID: ten, Email: ten + "@x.org", Role: record.RoleAdmin, CreatedAt: now, UpdatedAt: now}))
		require.NoError(t, s.CreateAPIToken(ctx, record.APIToken{ID: "tok-" + ten, TenantID: ten, UserID: "u-" + ten, Hash: []byte("h-" + ten), CreatedAt: now}))
		require.NoError(t, s.EnqueueJob(ctx, record.Job{ID: "j-" + ten, TenantID: ten, SourceID: "src-" + ten + "-a", Kind: "ingest", Status: record.JobQueued,
			RunAt: now, CreatedAt: now, UpdatedAt: now, Payload: []byte{0, 1, 2}, TraceContext: "00-abc-def-01"}))
		require.NoError(t, s.CreateConversation(ctx, record.Conversation{ID: "conv-" + ten, TenantID: ten, BotID: ten + "-a", CreatedAt: now, UpdatedAt: now}))
		_, err := s.AppendMessages(ctx, ten, "conv-"+ten, []record.ConversationMessage{{ID: "m-" + ten, Role: "user", Content: "hi", CreatedAt: now}}, now)
		require.NoError(t, err)
		require.NoError(t, s.AddUsage(ctx, record.Usage{TenantID: ten, BotID: ten + "-a", Model: "m", Kind: "chat", Day: now, Requests: 1}))
	}
	j, err := s.GetJob(ctx, "kept", "j-kept")
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1, 2}, j.Payload)
	require.Equal(t, "00-abc-def-01", j.TraceContext)

	queries := []string{"w2 w3", "w10 w40 w77", "w5"}
	before := make([][]storage.LexicalMatch, len(queries))
	for i, q := range queries {
		before[i], err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "kept", Text: q, Limit: 10})
		require.NoError(t, err)
	}
	stats := func(tenant string) string {
		var out string
		require.NoError(t, p.QueryRow(ctx, `SELECT coalesce(string_agg(lexeme || '/' || bot_id || '=' || df || ',' || len, ' ' ORDER BY lexeme, bot_id), '')
			FROM (SELECT lexeme, bot_id, sum(df) AS df, sum(len) AS len FROM (
				SELECT lexeme, bot_id, df, len FROM `+quoteIdent(schema)+`.lexeme_stats WHERE tenant_id = $1
				UNION ALL SELECT lexeme, bot_id, df, len FROM `+quoteIdent(schema)+`.lexeme_deltas WHERE tenant_id = $1) u
			GROUP BY 1, 2 HAVING sum(df) <> 0 OR sum(len) <> 0) x`, tenant).Scan(&out))
		return out
	}
	keptStats := stats("kept")
	require.NotEmpty(t, keptStats)

	// Interrupted: batches of 50 documents, the context cancelled after
	// the first.
	cctx, cancel := context.WithCancel(ctx)
	batches := 0
	s.SetEraseBatches(50, 400, 1, func() { batches++; cancel() })
	err = s.DeleteTenant(cctx, "gone")
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, batches)
	_, err = s.GetTenant(ctx, "gone")
	require.NoError(t, err, "the tenant row goes last")
	_, err = s.APITokenByHash(ctx, []byte("h-gone"))
	require.ErrorIs(t, err, record.ErrNotFound, "tokens go first")
	_, err = s.GetUser(ctx, "gone", "u-gone")
	require.ErrorIs(t, err, record.ErrNotFound, "users go first")
	docs, chunks, err := s.CountContent(ctx, "gone")
	require.NoError(t, err)
	require.Greater(t, docs, 0)
	require.Less(t, docs, 480, "one batch went")
	require.Equal(t, docs, chunks, "every remaining document keeps its one chunk")
	var orphans int
	require.NoError(t, p.QueryRow(ctx, `SELECT count(*) FROM `+quoteIdent(schema)+`.chunks c WHERE c.tenant_id = 'gone'
		AND NOT EXISTS (SELECT 1 FROM `+quoteIdent(schema)+`.documents d WHERE d.id = c.document_id)`).Scan(&orphans))
	require.Zero(t, orphans)

	// Finished by a second call.
	s.SetEraseBatches(50, 400, 1, nil)
	require.NoError(t, s.DeleteTenant(ctx, "gone"))
	_, err = s.GetTenant(ctx, "gone")
	require.ErrorIs(t, err, record.ErrNotFound)
	require.ErrorIs(t, s.DeleteTenant(ctx, "gone"), record.ErrNotFound)
	for _, table := range []string{"users", "api_tokens", "bots", "sources", "documents", "chunks", "jobs", "conversations",
		"conversation_messages", "feedback", "usage_daily", "request_windows", "lexeme_stats", "lexeme_deltas"} {
		var n int
		require.NoError(t, p.QueryRow(ctx, `SELECT count(*) FROM `+quoteIdent(schema)+`.`+table+` WHERE tenant_id = 'gone'`).Scan(&n))
		require.Zero(t, n, table)
	}
	require.Equal(t, keptStats, stats("kept"), "the other tenant's statistics")
	for i, q := range queries {
		after, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "kept", Text: q, Limit: 10})
		require.NoError(t, err)
		sameTop(t, q, before[i], after)
	}
	_, err = s.APITokenByHash(ctx, []byte("h-kept"))
	require.NoError(t, err)
	docs, _, err = s.CountContent(ctx, "kept")
	require.NoError(t, err)
	require.Equal(t, 240, docs)
}

// TestUpdateTenant: name and slug change; a slug of another tenant is a
// conflict, an unknown tenant not found.
func TestUpdateTenant(t *testing.T) {
	p, url := pool(t, 2)
	s, err := postgres.New(t.Context(), p, postgres.WithSchema(testsvc.Schema(t, url)))
	require.NoError(t, err)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, id := range []string{"a", "b"} {
		require.NoError(t, s.CreateTenant(ctx, record.Tenant{ID: id, Name: id, Slug: id, CreatedAt: now, UpdatedAt: now}))
	}
	later := now.Add(time.Minute)
	require.NoError(t, s.UpdateTenant(ctx, record.Tenant{ID: "a", Name: "Alpha", Slug: "alpha", UpdatedAt: later}))
	got, err := s.GetTenantBySlug(ctx, "alpha")
	require.NoError(t, err)
	require.Equal(t, record.Tenant{ID: "a", Name: "Alpha", Slug: "alpha", CreatedAt: now, UpdatedAt: later}, got)
	require.ErrorIs(t, s.UpdateTenant(ctx, record.Tenant{ID: "b", Name: "B", Slug: "alpha", UpdatedAt: later}), record.ErrConflict)
	require.ErrorIs(t, s.UpdateTenant(ctx, record.Tenant{ID: "zz", Slug: "zz", UpdatedAt: later}), record.ErrNotFound)
	require.ErrorIs(t, s.UpdateTenant(ctx, record.Tenant{Slug: "x"}), record.ErrEmptyTenant)
	require.ErrorIs(t, s.UpdateTenant(ctx, record.Tenant{ID: "a"}), record.ErrInvalidInput)
}
