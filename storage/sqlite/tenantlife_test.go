package sqlite

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// TestDeleteTenantFullText: DeleteTenant removes the tenant's rows from
// both full-text tables (stemmed and plain), and only them.
func TestDeleteTenantFullText(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, ten := range []string{"ta", "tb"} {
		must(t, s.CreateTenant(ctx, record.Tenant{ID: ten, Name: ten, Slug: ten, CreatedAt: now, UpdatedAt: now}))
		for _, lang := range []string{"english", "german"} {
			bot := ten + "-" + lang
			must(t, s.CreateBot(ctx, record.Bot{ID: bot, TenantID: ten, Name: bot, Language: lang, CreatedAt: now, UpdatedAt: now}))
			src := bot + "-src"
			must(t, s.CreateSource(ctx, record.Source{ID: src, TenantID: ten, BotID: bot, Name: src, Type: record.SourceText,
				Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}))
			_, err := s.PutDocument(ctx, record.Document{ID: src + "-doc", TenantID: ten, SourceID: src, Key: "k", Title: "title",
				CreatedAt: now, UpdatedAt: now}, []record.Chunk{{ID: src + "-c1", Text: "hello world"}, {ID: src + "-c2", Text: "more words"}})
			must(t, err)
		}
	}
	count := func(table, tenant string) int {
		t.Helper()
		var n int
		err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE `+table+` MATCH ?`,
			"scope : "+scopeToken('t', tenant)).Scan(&n)
		must(t, err)
		return n
	}
	for _, table := range []string{"chunks_fts", "chunks_fts_plain"} {
		if a, b := count(table, "ta"), count(table, "tb"); a != 2 || b != 2 {
			t.Fatalf("%s before DeleteTenant: %d rows of ta, %d of tb; want 2 each", table, a, b)
		}
	}
	must(t, s.DeleteTenant(ctx, "ta"))
	for _, table := range []string{"chunks_fts", "chunks_fts_plain"} {
		if a, b := count(table, "ta"), count(table, "tb"); a != 0 || b != 2 {
			t.Errorf("%s after DeleteTenant(ta): %d rows of ta, %d of tb; want 0 and 2", table, a, b)
		}
		var n int
		must(t, s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n))
		if n != 2 {
			t.Errorf("%s after DeleteTenant(ta): %d rows in all, want tb's 2", table, n)
		}
	}
}

// TestQueryDocumentsPlan: a tenant's or a bot's documents are one range
// scan of an index in (source_id, key) order, without a sort.
func TestQueryDocumentsPlan(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for query, index := range map[string]string{
		`SELECT id FROM documents WHERE tenant_id = 't' AND (source_id, key) > ('s', 'k') ORDER BY source_id, key LIMIT 10`:                  "documents_tenant",
		`SELECT id FROM documents WHERE tenant_id = 't' AND bot_id = 'b' AND (source_id, key) > ('s', 'k') ORDER BY source_id, key LIMIT 10`: "documents_bot",
	} {
		rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query)
		must(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			must(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		must(t, rows.Err())
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "INDEX "+index) || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("plan of %s: %q, want a search of %s without a sort", query, p, index)
		}
	}
}

// TestLoadByIDPlan: GetChunks, GetDocuments and GetChunksWithDocuments
// find each row by its key (tenant and ID, the document by its primary
// key), never by a scan of the tenant's rows.
func TestLoadByIDPlan(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		query, prefix string
		tables        int
	}{{getChunksSQL, "", 1}, {getDocsSQL, "", 1}, {getChunkDocSQL, "c.", 2}} {
		query := byIDsSQL(c.query, c.prefix, 3)
		rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, "t", "a", "b", "c")
		must(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			must(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		must(t, rows.Err())
		rows.Close()
		ok := len(plan) == c.tables
		for _, step := range plan {
			// "SEARCH chunks USING INDEX chunks_tenant_id (tenant_id=? AND id=?)",
			// not "SEARCH chunks USING INDEX chunks_tenant (tenant_id=?)".
			ok = ok && strings.HasPrefix(step, "SEARCH ") && (strings.HasSuffix(step, " id=?)") || strings.HasSuffix(step, "(id=?)"))
		}
		if !ok {
			t.Errorf("plan of %s:\n%q\nwant each table searched by its ID", query, plan)
		}
	}
}

// TestCompileFilterBindsValues: values and fields reach SQLite as
// arguments, never as SQL text.
func TestCompileFilterBindsValues(t *testing.T) {
	evil := `x'); DROP TABLE documents; --`
	sql, args := compileFilter("metadata", filter.And(filter.Eq("f", evil), filter.In("g", evil, 1.0, "y"),
		filter.Gte("h", evil), filter.Not(filter.Exists("k"))))
	if strings.Contains(sql, "DROP") || strings.Contains(sql, `"f"`) || strings.Contains(sql, `"k"`) {
		t.Errorf("compiled filter holds a value or a field: %s", sql)
	}
	if n := strings.Count(sql, "?"); n != len(args) {
		t.Errorf("compiled filter has %d parameters and %d arguments: %s %v", n, len(args), sql, args)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestLexicalFilterPlan: a lexical search loops over the full-text
// matches and looks up each one's chunk (and, filtered, document) by key;
// it never scans the tenant's chunks.
func TestLexicalFilterPlan(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := storage.LexicalQuery{TenantID: "t", BotID: "b", SourceIDs: []string{"s"}, Text: "x", Limit: 10,
		Filter: filter.And(filter.Eq("lang", "en"), filter.In("tags", "a", "b"), filter.Not(filter.Exists("k")))}
	unfiltered := q
	unfiltered.Filter = filter.Filter{}
	for _, c := range []struct {
		q          storage.LexicalQuery
		candidates int
	}{{q, 0}, {q, 256}, {unfiltered, 0}} {
		query, args := lexicalSQL(c.q, ftsQuery(c.q), 10, c.candidates)
		rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		must(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			must(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		must(t, rows.Err())
		rows.Close()
		p := strings.Join(plan, "; ")
		for _, want := range []string{"SCAN m", "SEARCH c USING INTEGER PRIMARY KEY", "SEARCH d USING"} {
			if want == "SEARCH d USING" && c.q.Filter.IsZero() {
				continue
			}
			if !strings.Contains(p, want) {
				t.Errorf("plan %q lacks %q", p, want)
			}
		}
		for _, step := range plan {
			if step == "SCAN c" || strings.HasPrefix(step, "SEARCH c USING INDEX") || strings.HasPrefix(step, "SEARCH m ") {
				t.Errorf("plan %q scans the chunks and probes the matches", p)
			}
		}
	}
}

// TestLexicalFilterCandidates: trying the best matches first gives what
// filtering every match gives, whether enough of them pass, all matches
// were among them, or the search must go on to every match.
func TestLexicalFilterCandidates(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, s.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}))
	must(t, s.CreateBot(ctx, record.Bot{ID: "b", TenantID: "t", CreatedAt: now, UpdatedAt: now}))
	must(t, s.CreateSource(ctx, record.Source{ID: "s", TenantID: "t", BotID: "b", Type: record.SourceText, Status: record.StatusPending}))
	for i := range 60 {
		// Scores differ: more repetitions of the word in shorter texts.
		text := strings.Repeat("zebra ", 1+i%7) + strings.Repeat("filler ", i%11)
		_, err := s.PutDocument(ctx, record.Document{ID: "d" + strconv.Itoa(i), TenantID: "t", SourceID: "s", Key: strconv.Itoa(i),
			Metadata: record.Metadata{"i": float64(i), "odd": i%2 == 1}}, []record.Chunk{{ID: "c" + strconv.Itoa(i), Text: text}})
		must(t, err)
	}
	defer func(n int) { filterCandidates = n }(filterCandidates)
	for _, f := range []filter.Filter{
		filter.Eq("odd", true),    // enough pass among the best
		filter.In("i", 3.0, 59.0), // few pass: every match is filtered
		filter.Gte("i", 55.0),     // some
		filter.Eq("i", 1000.0),    // none
		filter.Not(filter.Eq("i", 0.0)),
	} {
		for _, limit := range []int{1, 3, 10, 100} {
			q := storage.LexicalQuery{TenantID: "t", BotID: "b", Text: "zebra", Limit: limit, Filter: f}
			query, args := lexicalSQL(q, ftsQuery(q), limit, 0)
			want, err := queryList(ctx, s.q, "test", func(sc interface{ Scan(...any) error }) (storage.LexicalMatch, error) {
				var m storage.LexicalMatch
				err := sc.Scan(&m.ChunkID, &m.Score)
				return m, err
			}, query, args...)
			must(t, err)
			for _, n := range []int{1, 4, 50, 256} {
				filterCandidates = n
				got, err := s.SearchLexical(ctx, q)
				must(t, err)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("filter %v, limit %d, %d candidates first: got %v, want %v", f, limit, n, got, want)
				}
			}
		}
	}
}
