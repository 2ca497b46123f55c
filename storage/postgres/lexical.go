package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// BM25 holds the parameters of lexical ranking (Okapi BM25): K1 saturates
// a term's frequency in a chunk, B scales the length normalization. A zero
// field means its default, DefaultBM25K1 or DefaultBM25B; B is clamped to
// [0, 1], and a negative B means 0 (no length normalization).
type BM25 struct {
	K1, B float64
}

// The BM25 defaults, SQLite FTS5's, which the labeled set measured best
// among the values tried (docs/QUALITY.md, "BM25 on PostgreSQL").
const (
	DefaultBM25K1 = 1.2
	DefaultBM25B  = 0.75
)

// WithBM25 sets the BM25 parameters of SearchLexical.
func WithBM25(p BM25) Option { return func(o *options) { o.bm25 = p } }

// withDefaults returns p with zero fields set to the defaults.
func (p BM25) withDefaults() BM25 {
	if p.K1 <= 0 {
		p.K1 = DefaultBM25K1
	}
	switch {
	case p.B == 0:
		p.B = DefaultBM25B
	case p.B < 0:
		p.B = 0
	case p.B > 1:
		p.B = 1
	}
	return p
}

// Lexical search tuning.
const (
	// maxQueryTerms bounds the distinct lexemes of a query (the rarest
	// are kept).
	maxQueryTerms = 64
	// candidateBudget is how many chunks the first candidate query may
	// read from the GIN index: the rarest terms whose document
	// frequencies add up to it (at least one term).
	candidateBudget = 500
	// maxCandidates bounds the chunks one candidate query scores, whatever
	// the terms (a query of only very common terms).
	maxCandidates = 50000
	// foldEvery: a Store folds a tenant's pending statistics after this
	// many of its writes outside a transaction; foldPending: a search
	// folds them when it finds more delta statements than this.
	foldEvery   = 8
	foldPending = 64
	// filterPerCandidate: a candidate query with a metadata filter
	// checks it candidate by candidate when the candidates (the chunks
	// holding its terms) are at most this many, and lets the planner join
	// with the documents the filter selects otherwise.
	filterPerCandidate = 4000
	// idfFloor is the IDF of a term in half the chunks or more, as in
	// SQLite FTS5 (whose formula this is): such a term still matches, with
	// next to no weight.
	idfFloor = 1e-6
)

// How SearchLexical applies a metadata filter: adaptive (see
// SearchLexical), or, for benchmarks comparing them, always candidate by
// candidate or always as a join.
const (
	lexFilterAdaptive = iota
	lexFilterEach
	lexFilterJoin
)

// lexTerm is a query lexeme with its statistics in the query's scope.
type lexTerm struct {
	lexeme string
	df     int64
	idf    float64
}

// SearchLexical ranks the tenant's chunks against q.Text by BM25, best
// first. The words of q.Text are normalized by to_tsvector in q.Language
// ("english" when empty; a name not in pg_ts_config is
// record.ErrInvalidInput naming "language") into distinct lexemes, and a
// chunk matches when it holds any of them. A chunk's score is
//
//	Σ idf(t) · f(t)·(k1+1) / (f(t) + k1·(1 − b + b·len/avglen))
//
// over the query's lexemes t, where f(t) is t's occurrences in the chunk
// text plus half its occurrences in the document title (the weights of
// storage/sqlite), len the chunk's token positions, and idf(t) =
// ln((N − n(t) + 0.5)/(n(t) + 0.5)) (at least 1e-6) with N the chunks and
// n(t) those holding t: statistics of the query's bot when q.BotID is set,
// else of the whole tenant, never of another tenant. Score is that BM25
// value (higher is better, comparable with storage/sqlite's).
//
// Candidates come from the GIN index, the rarest lexemes first: chunks
// holding only lexemes whose summed score bound, idf·(k1+1) each, stays
// below the k-th best score found cannot enter the top k and are never
// read, so a query of common words does not score half the corpus.
//
// q.Filter (package filter) keeps only the chunks of documents whose
// metadata match it, inside the candidate query, before scoring (see
// filter.go for its SQL): checked candidate by candidate (one probe of the
// chunk's document) while the candidates are at most 4,000 and a round
// finds enough matches, else as a join the planner chooses (from the GIN
// index for Eq and In), which is cheaper for a filter selective next to
// the candidates. The statistics stay those of the whole scope, as FTS5's
// are under a WHERE clause. The pruning above stays exact: a
// matching chunk left out holds only terms whose bound is below the k-th
// score.
func (s *Store) SearchLexical(ctx context.Context, q storage.LexicalQuery) ([]storage.LexicalMatch, error) {
	const op = "search lexical"
	if err := begin(ctx, op, q.TenantID); err != nil {
		return nil, err
	}
	lang, ok, err := s.language(ctx, q.Language)
	if err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	if !ok {
		return nil, fmt.Errorf("postgres: %s: %w", op, record.Invalid("language", "is not a PostgreSQL text search configuration"))
	}
	if err := q.Filter.Validate("filter"); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLexicalLimit
	}
	if !hasWord(q.Text) {
		return []storage.LexicalMatch{}, nil
	}
	terms, n, avgLen, pending, err := s.lexStats(ctx, lang, q)
	if err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	if pending > foldPending && !s.inTx {
		s.foldStats(ctx, q.TenantID)
	}
	if len(terms) == 0 || n == 0 {
		return []storage.LexicalMatch{}, nil
	}
	p := s.bm25
	// bound[i] is the most the terms from i on can add to a score.
	bound := make([]float64, len(terms)+1)
	for i := len(terms) - 1; i >= 0; i-- {
		bound[i] = bound[i+1] + terms[i].idf*(p.K1+1)
	}
	e, sum := 1, terms[0].df
	for e < len(terms) && sum+terms[e].df <= candidateBudget {
		sum += terms[e].df
		e++
	}
	// A filter is checked candidate by candidate until a round finds
	// fewer than limit matches: the filter is then selective next to the
	// candidates, and the planner's join from the documents it selects
	// (the GIN index for Eq and In) is the cheaper way, if the GIN index
	// can answer the filter (else the join reads every document).
	filterEach := true
	for {
		out, err := s.lexScore(ctx, q, terms, e, n, avgLen, limit, filterEach)
		if err != nil {
			return nil, err // translated by lexScore
		}
		if e == len(terms) {
			return out, nil
		}
		if len(out) == limit {
			kth := out[limit-1].Score
			if kth > bound[e] {
				return out, nil
			}
			// The fewest more terms that make the rest unable to reach the
			// k-th score.
			for e < len(terms) && bound[e] >= kth {
				e++
			}
			continue
		}
		// Fewer than limit matches: the next terms, up to four times the
		// chunks read so far.
		filterEach = !indexable(q.Filter)
		budget := 4 * max(sum, candidateBudget)
		sum += terms[e].df
		e++
		for e < len(terms) && sum+terms[e].df <= budget {
			sum += terms[e].df
			e++
		}
	}
}

// lexStats returns q's distinct lexemes that occur in its scope, rarest
// first (at most maxQueryTerms), with the scope's chunk count and average
// length, and the number of delta statements not folded yet.
func (s *Store) lexStats(ctx context.Context, lang string, q storage.LexicalQuery) ([]lexTerm, int64, float64, int64, error) {
	botCond := ""
	args := []any{lang, q.Text, q.TenantID}
	if q.BotID != "" {
		args = append(args, q.BotID)
		botCond = " AND bot_id = $4"
	}
	sum := func(table, col string) string {
		return `coalesce((SELECT sum(` + col + `) FROM @.` + table + ` WHERE tenant_id = $3 AND lexeme = t.lexeme` + botCond + `), 0)`
	}
	rows, err := s.q.Query(ctx, s.sql(`WITH t (lexeme) AS (
			SELECT DISTINCT l FROM unnest(tsvector_to_array(to_tsvector($1::regconfig, $2))) AS l
			UNION ALL SELECT '')
		SELECT t.lexeme, `+sum("lexeme_stats", "df")+` + `+sum("lexeme_deltas", "df")+`,
			`+sum("lexeme_stats", "len")+` + `+sum("lexeme_deltas", "len")+`,
			CASE WHEN t.lexeme = '' THEN (SELECT count(*) FROM @.lexeme_deltas WHERE tenant_id = $3 AND lexeme = '') ELSE 0 END
		FROM t`), args...)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	defer rows.Close()
	var (
		terms           []lexTerm
		n, total, pend  int64
		lexeme          string
		df, length, pnd int64
	)
	for rows.Next() {
		if err := rows.Scan(&lexeme, &df, &length, &pnd); err != nil {
			return nil, 0, 0, 0, err
		}
		if lexeme == "" {
			n, total, pend = df, length, pnd
			continue
		}
		if df > 0 {
			terms = append(terms, lexTerm{lexeme: lexeme, df: df})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, 0, err
	}
	if n <= 0 {
		return nil, 0, 0, pend, nil
	}
	for i := range terms {
		t := &terms[i]
		t.idf = max(math.Log((float64(n)-float64(t.df)+0.5)/(float64(t.df)+0.5)), idfFloor)
	}
	sort.Slice(terms, func(i, j int) bool {
		if terms[i].df != terms[j].df {
			return terms[i].df < terms[j].df
		}
		return terms[i].lexeme < terms[j].lexeme
	})
	if len(terms) > maxQueryTerms {
		terms = terms[:maxQueryTerms]
	}
	avg := float64(total) / float64(n)
	if avg <= 0 {
		avg = 1
	}
	return terms, n, avg, pend, nil
}

// tsqueryLexeme quotes a lexeme as a tsquery operand.
func tsqueryLexeme(l string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(l) + "'"
}

// lexScore scores, by BM25 over all terms, the chunks of q's scope that
// hold any of terms[:e], and returns the best limit. filterEach allows
// checking q.Filter candidate by candidate (see below).
func (s *Store) lexScore(ctx context.Context, q storage.LexicalQuery, terms []lexTerm, e int, n int64, avgLen float64, limit int, filterEach bool) ([]storage.LexicalMatch, error) {
	p := s.bm25
	cand := make([]string, e)
	for i := range cand {
		cand[i] = tsqueryLexeme(terms[i].lexeme)
	}
	args := []any{q.TenantID, strings.Join(cand, " | ")}
	where := "c.tenant_id = $1 AND c.tsv @@ $2::tsquery"
	if q.BotID != "" {
		args = append(args, q.BotID)
		where += " AND c.bot_id = $" + strconv.Itoa(len(args))
	}
	if len(q.SourceIDs) > 0 {
		args = append(args, q.SourceIDs)
		where += " AND c.source_id = ANY($" + strconv.Itoa(len(args)) + "::text[])"
	}
	if !q.Filter.IsZero() {
		// The metadata filter keeps candidates before they are scored
		// (and before the candidate LIMIT): the chunk's document must
		// match it.
		a := &whereArgs{args: args}
		cond, err := metadataWhere(q.Filter, "d.metadata", a)
		if err != nil {
			return nil, fmt.Errorf("postgres: search lexical: %w", record.Invalid("filter", err.Error()))
		}
		args = a.args
		var cands int64
		for _, t := range terms[:e] {
			cands += t.df
		}
		if s.lexFilter == lexFilterEach || s.lexFilter == lexFilterAdaptive && cands <= filterPerCandidate && filterEach {
			// Few candidates: the filter is checked on each one's
			// document (a scalar subquery, which the planner cannot
			// turn into a join): one probe of the documents' primary key
			// per candidate. As a join, the planner reads every document
			// the filter selects (a GIN bitmap, or all of them for a
			// range), whatever the candidates: several times slower for
			// a broad filter or a range (docs/PERFORMANCE.md).
			where += " AND (SELECT " + cond + " FROM @.documents d WHERE d.tenant_id = c.tenant_id AND d.id = c.document_id)"
		} else {
			where += " AND EXISTS (SELECT 1 FROM @.documents d WHERE d.tenant_id = c.tenant_id AND d.id = c.document_id AND " + cond + ")"
		}
	}
	// K = k1·(1 − b + b·len/avglen), once per chunk; a term adds
	// idf·(k1+1)·(1 − K/(f + K)), which is idf·f·(k1+1)/(f + K) with f
	// written once. f is ts_rank_cd of the one lexeme with weights
	// {D, C, B, A} = {0, 0, 0.5, 1} and no normalization: the sum of the
	// weights of its positions.
	var score strings.Builder
	for i, t := range terms {
		if i > 0 {
			score.WriteString(" + ")
		}
		args = append(args, tsqueryLexeme(t.lexeme))
		fmt.Fprintf(&score, "CASE WHEN c.v @@ $%[2]d::tsquery THEN %[1]s * (1 - c.k / (ts_rank_cd('{0,0,0.5,1}'::real[], c.v, $%[2]d::tsquery, 0) + c.k)) ELSE 0 END",
			strconv.FormatFloat(t.idf*(p.K1+1), 'g', -1, 64), len(args))
	}
	args = append(args, limit)
	k := "(" + strconv.FormatFloat(p.K1*(1-p.B), 'g', -1, 64) + " + " +
		strconv.FormatFloat(p.K1*p.B/avgLen, 'g', -1, 64) + " * c.tsv_len)"
	// The subquery (not flattened, for its LIMIT) detoasts each chunk's
	// tsvector once (the concatenation), not once per term.
	sq := `SELECT c.id, ` + score.String() + ` AS score
		FROM (SELECT c.id, ` + k + ` AS k, c.tsv || ''::tsvector AS v FROM @.chunks c
			WHERE ` + where + ` LIMIT ` + strconv.Itoa(maxCandidates) + `) c
		ORDER BY score DESC, c.id
		LIMIT $` + strconv.Itoa(len(args))
	_ = n
	return list(ctx, s, "search lexical", func(r pgx.Row) (storage.LexicalMatch, error) {
		var m storage.LexicalMatch
		err := r.Scan(&m.ChunkID, &m.Score)
		return m, err
	}, sq, args...)
}

// foldKey is the advisory lock key of a tenant's statistics fold.
func (s *Store) foldKey(tenantID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("minirag/storage/postgres/bm25\x00" + s.schema + "\x00" + tenantID))
	return int64(h.Sum64())
}

// foldStats folds the tenant's pending statistics deltas into
// lexeme_stats, in one transaction holding the tenant's advisory lock
// (skipped when another session holds it: that one is folding). It is
// maintenance: a failure is logged, and the deltas stay to be folded by a
// later call (readers sum both tables, so nothing is ever miscounted).
func (s *Store) foldStats(ctx context.Context, tenantID string) {
	err := s.tx(ctx, "fold lexical statistics", func(tx *Store) error {
		var got bool
		if err := tx.q.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1::bigint)`, s.foldKey(tenantID)).Scan(&got); err != nil || !got {
			return err
		}
		rows, err := tx.q.Query(ctx, tx.sql(`WITH moved AS (DELETE FROM @.lexeme_deltas WHERE tenant_id = $1 RETURNING lexeme, bot_id, df, len)
			INSERT INTO @.lexeme_stats AS s (tenant_id, lexeme, bot_id, df, len)
			SELECT $1, lexeme, bot_id, sum(df), sum(len) FROM moved GROUP BY lexeme, bot_id ORDER BY lexeme, bot_id
			ON CONFLICT (tenant_id, lexeme, bot_id) DO UPDATE SET df = s.df + EXCLUDED.df, len = s.len + EXCLUDED.len
			RETURNING lexeme, bot_id, df, len`), tenantID)
		if err != nil {
			return err
		}
		var zl, zb []string
		for rows.Next() {
			var l, b string
			var df, ln int64
			if err := rows.Scan(&l, &b, &df, &ln); err != nil {
				rows.Close()
				return err
			}
			if df == 0 && ln == 0 {
				zl, zb = append(zl, l), append(zb, b)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(zl) > 0 {
			_, err = tx.q.Exec(ctx, tx.sql(`DELETE FROM @.lexeme_stats s USING unnest($2::text[], $3::text[]) AS z(lexeme, bot_id)
				WHERE s.tenant_id = $1 AND s.lexeme = z.lexeme AND s.bot_id = z.bot_id AND s.df = 0 AND s.len = 0`), tenantID, zl, zb)
		}
		return err
	})
	if err != nil {
		s.log.Warn("postgres: folding lexical statistics failed; they stay pending", "tenant", tenantID, "err", err)
	}
}

// wrote counts a write of the tenant's chunks made outside a transaction
// and folds its statistics every foldEvery writes.
func (s *Store) wrote(ctx context.Context, tenantID string) {
	if s.inTx || ctx.Err() != nil {
		return
	}
	if s.writes.Add(1)%foldEvery == 0 {
		s.foldStats(ctx, tenantID)
	}
}

// indexable reports whether the GIN index on the metadata can narrow f's
// documents: f is an Eq or In, an And with such a condition, or an Or of
// only such conditions.
func indexable(f filter.Filter) bool {
	switch f.Op {
	case filter.OpEq, filter.OpIn:
		return true
	case filter.OpAnd:
		for _, a := range f.Args {
			if indexable(a) {
				return true
			}
		}
	case filter.OpOr:
		for _, a := range f.Args {
			if !indexable(a) {
				return false
			}
		}
		return len(f.Args) > 0
	}
	return false
}
