package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
)

// lexStore returns a store on a new schema with tenants and, per tenant,
// bots and one source per bot (IDs "src-<tenant>-<bot>").
func lexStore(t *testing.T, p *pgxpool.Pool, schema string, tenants, bots []string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	ctx := t.Context()
	s, err := postgres.New(ctx, p, append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	require.NoError(t, err)
	now := time.Now().UTC()
	for _, ten := range tenants {
		require.NoError(t, s.CreateTenant(ctx, record.Tenant{ID: ten, Slug: ten, CreatedAt: now, UpdatedAt: now}))
		for _, b := range bots {
			require.NoError(t, s.CreateBot(ctx, record.Bot{ID: ten + "-" + b, TenantID: ten, Language: "english", CreatedAt: now, UpdatedAt: now}))
			require.NoError(t, s.CreateSource(ctx, record.Source{ID: "src-" + ten + "-" + b, TenantID: ten, BotID: ten + "-" + b,
				Type: record.SourceText, Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}))
		}
	}
	return s
}

// zipfText returns n words of a Zipf-distributed vocabulary (w0 most
// common).
func zipfText(z *rand.Zipf, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("w%d", z.Uint64())
	}
	return strings.Join(w, " ")
}

// putItems stores count one-chunk documents with keys prefix+i in src.
func putItems(t *testing.T, s *postgres.Store, tenant, src, prefix string, count int, text func(i int) (title, body string)) {
	t.Helper()
	var items []storage.DocumentWithChunks
	for i := range count {
		title, body := text(i)
		id := fmt.Sprintf("%s-%s%d", src, prefix, i)
		items = append(items, storage.DocumentWithChunks{
			Document: record.Document{ID: "d-" + id, TenantID: tenant, SourceID: src, Key: prefix + fmt.Sprint(i), Title: title},
			Chunks:   []record.Chunk{{ID: "c-" + id, Text: body}},
		})
	}
	for i := 0; i < len(items); i += 50 {
		_, err := s.PutDocuments(t.Context(), items[i:min(i+50, len(items))])
		require.NoError(t, err)
	}
}

// bruteBM25 scores every chunk of the scope from the tsvectors themselves
// (lexemes, positions and weights read back with unnest) and returns the
// best k as "id score" pairs.
func bruteBM25(t *testing.T, p *pgxpool.Pool, schema, tenant, bot, query string, k int, k1, b float64) []storage.LexicalMatch {
	t.Helper()
	ctx := t.Context()
	var terms []string
	require.NoError(t, p.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT l), '{}') FROM unnest(tsvector_to_array(to_tsvector('english', $1))) l`, query).Scan(&terms))
	rows, err := p.Query(ctx, `SELECT c.id, u.lexeme, u.weights::text[] FROM `+pgx.Identifier{schema}.Sanitize()+`.chunks c, unnest(c.tsv) u
		WHERE c.tenant_id = $1 AND ($2 = '' OR c.bot_id = $2)`, tenant, bot)
	require.NoError(t, err)
	tf := map[string]map[string]float64{} // chunk -> lexeme -> weighted frequency
	length := map[string]float64{}
	for rows.Next() {
		var id, lex string
		var ws []string
		require.NoError(t, rows.Scan(&id, &lex, &ws))
		if tf[id] == nil {
			tf[id] = map[string]float64{}
		}
		for _, w := range ws {
			length[id]++
			if w == "A" {
				tf[id][lex]++
			} else {
				tf[id][lex] += 0.5
			}
		}
	}
	require.NoError(t, rows.Err())
	n := float64(len(tf))
	var total float64
	for _, l := range length {
		total += l
	}
	avg := total / n
	df := map[string]float64{}
	for _, m := range tf {
		for _, lex := range terms {
			if m[lex] > 0 {
				df[lex]++
			}
		}
	}
	var out []storage.LexicalMatch
	for id, m := range tf {
		var score float64
		matched := false
		for _, lex := range terms {
			f := m[lex]
			if f == 0 {
				continue
			}
			matched = true
			idf := max(math.Log((n-df[lex]+0.5)/(df[lex]+0.5)), 1e-6)
			score += idf * f * (k1 + 1) / (f + k1*(1-b+b*length[id]/avg))
		}
		if matched {
			out = append(out, storage.LexicalMatch{ChunkID: id, Score: score})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ChunkID < out[j].ChunkID
	})
	return out[:min(k, len(out))]
}

// sameTop checks that got is want: the same chunks in the same order (up to
// chunks tying in score) with the same scores.
func sameTop(t *testing.T, what string, want, got []storage.LexicalMatch) {
	t.Helper()
	if !assertClose(want, got) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func assertClose(want, got []storage.LexicalMatch) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if math.Abs(want[i].Score-got[i].Score) > 1e-6*math.Max(1, want[i].Score) {
			return false
		}
		if want[i].ChunkID != got[i].ChunkID && (i+1 >= len(want) || math.Abs(want[i].Score-want[i+1].Score) > 1e-9) &&
			(i == 0 || math.Abs(want[i].Score-want[i-1].Score) > 1e-9) {
			return false
		}
	}
	return true
}

// TestLexicalBM25Exact: SearchLexical's top k, found from the rarest terms
// first with the score bound, is the exact BM25 top k computed over every
// chunk of the scope, scores included; for the bot's and for the whole
// tenant's statistics, and with other BM25 parameters.
func TestLexicalBM25Exact(t *testing.T) {
	p, url := pool(t, 4)
	schema := testsvc.Schema(t, url)
	s := lexStore(t, p, schema, []string{"t"}, []string{"a", "b"})
	r := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(r, 1.1, 2, 3000)
	for _, bot := range []string{"a", "b"} {
		putItems(t, s, "t", "src-t-"+bot, "k", 600, func(int) (string, string) { return zipfText(z, 3), zipfText(z, 20+r.IntN(120)) })
	}
	ctx := t.Context()
	for i := range 15 {
		q := zipfText(z, 3) + " " + fmt.Sprintf("w%d w%d", 20+r.IntN(400), 20+r.IntN(2000))
		got, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", BotID: "t-a", Text: q, Limit: 10})
		require.NoError(t, err)
		sameTop(t, fmt.Sprintf("query %d %q, bot", i, q), bruteBM25(t, p, schema, "t", "t-a", q, 10, 1.2, 0.75), got)
		got, err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", Text: q, Limit: 10})
		require.NoError(t, err)
		sameTop(t, fmt.Sprintf("query %d %q, tenant", i, q), bruteBM25(t, p, schema, "t", "", q, 10, 1.2, 0.75), got)
	}
	other, err := postgres.New(ctx, p, postgres.WithSchema(schema), postgres.WithBM25(postgres.BM25{K1: 2, B: 0.3}))
	require.NoError(t, err)
	q := "w3 w40 w700"
	got, err := other.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", BotID: "t-b", Text: q, Limit: 5})
	require.NoError(t, err)
	sameTop(t, "k1 2, b 0.3", bruteBM25(t, p, schema, "t", "t-b", q, 5, 2, 0.3), got)
}

// TestLexicalStatisticsPerTenant: a tenant's BM25 scores do not move when
// another tenant stores text full of the same words.
func TestLexicalStatisticsPerTenant(t *testing.T) {
	p, url := pool(t, 4)
	s := lexStore(t, p, testsvc.Schema(t, url), []string{"a", "b"}, []string{"x"})
	ctx := t.Context()
	putItems(t, s, "b", "src-b-x", "k", 20, func(i int) (string, string) {
		if i == 0 {
			return "Pelican", "the pelican eats fish at the harbour"
		}
		return "Other", fmt.Sprintf("filler text number %d about boats", i)
	})
	q := storage.LexicalQuery{TenantID: "b", Text: "pelican fish", Limit: 5}
	before, err := s.SearchLexical(ctx, q)
	require.NoError(t, err)
	require.Len(t, before, 1)
	putItems(t, s, "a", "src-a-x", "k", 200, func(int) (string, string) { return "Pelican fish", "pelican fish pelican fish" })
	after, err := s.SearchLexical(ctx, q)
	require.NoError(t, err)
	require.Equal(t, before, after, "tenant a's pelicans changed tenant b's scores")
	got, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "a", Text: "harbour", Limit: 5})
	require.NoError(t, err)
	require.Empty(t, got, "tenant a found tenant b's chunk")
}

// statsSnapshot reads the statistics as searches see them (folded plus
// pending) and as they should be (recounted from the chunks), per tenant,
// bot and lexeme ("" holding the chunk count and total length).
func statsSnapshot(t *testing.T, p *pgxpool.Pool, schema string) (seen, want map[string][2]int64) {
	t.Helper()
	ctx := context.Background()
	sc := pgx.Identifier{schema}.Sanitize()
	read := func(q string) map[string][2]int64 {
		rows, err := p.Query(ctx, q)
		require.NoError(t, err)
		out := map[string][2]int64{}
		for rows.Next() {
			var ten, bot, lex string
			var df, ln int64
			require.NoError(t, rows.Scan(&ten, &bot, &lex, &df, &ln))
			if df != 0 || ln != 0 {
				out[ten+"/"+bot+"/"+lex] = [2]int64{df, ln}
			}
		}
		require.NoError(t, rows.Err())
		return out
	}
	seen = read(`SELECT tenant_id, bot_id, lexeme, sum(df)::bigint, sum(len)::bigint FROM (
		SELECT tenant_id, bot_id, lexeme, df, len FROM ` + sc + `.lexeme_stats
		UNION ALL SELECT tenant_id, bot_id, lexeme, df, len FROM ` + sc + `.lexeme_deltas) s GROUP BY 1, 2, 3`)
	want = read(`SELECT tenant_id, bot_id, l, count(*), 0::bigint FROM ` + sc + `.chunks, unnest(tsvector_to_array(tsv)) l GROUP BY 1, 2, 3
		UNION ALL SELECT tenant_id, bot_id, '', count(*), sum(tsv_len)::bigint FROM ` + sc + `.chunks GROUP BY 1, 2`)
	return seen, want
}

// TestLexicalStatisticsConcurrentWriters: writers on separate pools (as
// separate processes would be) insert, replace and delete documents of the
// same tenant and bots at once, some in transactions that roll back, while
// stores fold the statistics; afterwards the statistics equal a recount
// from the chunks, before and after a final fold.
func TestLexicalStatisticsConcurrentWriters(t *testing.T) {
	_, url := pool(t, 1)
	schema := testsvc.Schema(t, url)
	setup := testsvc.Pool(t, testsvc.PoolConfig(t, url, 2))
	lexStore(t, setup, schema, []string{"t", "u"}, []string{"a", "b"})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		p := testsvc.Pool(t, testsvc.PoolConfig(t, url, 2))
		s, err := postgres.New(t.Context(), p, postgres.WithSchema(schema))
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			z := rand.NewZipf(r, 1.1, 2, 500)
			for i := range 30 {
				ten := []string{"t", "u"}[r.IntN(2)]
				src := "src-" + ten + "-" + []string{"a", "b"}[r.IntN(2)]
				key := fmt.Sprintf("k%d", r.IntN(20)) // shared keys: replacements
				d := record.Document{ID: fmt.Sprintf("d-%d-%d", w, i), TenantID: ten, SourceID: src, Key: key, Title: zipfText(z, 2)}
				chunks := []record.Chunk{{ID: fmt.Sprintf("c-%d-%d-0", w, i), Text: zipfText(z, 30)}, {ID: fmt.Sprintf("c-%d-%d-1", w, i), Text: zipfText(z, 10)}}
				var err error
				switch i % 5 {
				case 3: // a rolled-back write leaves no trace
					err = s.InTx(ctx, func(tx storage.Storage) error {
						if _, err := tx.PutDocument(ctx, d, chunks); err != nil {
							return err
						}
						return fmt.Errorf("roll back")
					})
					if err != nil && err.Error() == "roll back" {
						err = nil
					}
				case 4:
					docs, lerr := s.ListDocuments(ctx, ten, src)
					if lerr == nil && len(docs) > 0 {
						err = s.DeleteDocument(ctx, ten, docs[r.IntN(len(docs))].ID)
						if err != nil && strings.Contains(err.Error(), "not found") {
							err = nil
						}
					}
				default:
					_, err = s.PutDocument(ctx, d, chunks)
					if err != nil && strings.Contains(err.Error(), "conflict") {
						err = nil // two writers on one key at once: one wins
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen, want := statsSnapshot(t, setup, schema)
	require.Equal(t, want, seen, "statistics (folded + pending) against a recount")
	// Fold everything (as the stores do every few writes): nothing stays
	// pending, and the sums are unchanged.
	s, err := postgres.New(t.Context(), setup, postgres.WithSchema(schema))
	require.NoError(t, err)
	for _, ten := range []string{"t", "u"} {
		s.FoldStats(t.Context(), ten)
	}
	var pending int
	require.NoError(t, setup.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{schema}.Sanitize()+`.lexeme_deltas`).Scan(&pending))
	require.Zero(t, pending, "deltas left after folding")
	seen, want = statsSnapshot(t, setup, schema)
	require.Equal(t, want, seen, "statistics after folding against a recount")
}
