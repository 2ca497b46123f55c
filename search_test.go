package minirag

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/vectorstore"
)

func TestFuseScores(t *testing.T) {
	// Dense scores 0.9 … 0.5 normalize to 1, 0.5, 0; lexical 8 … 2 to 1,
	// 0.5, 0.
	dense := []vectorstore.Match{{ID: "a", Score: 0.9}, {ID: "b", Score: 0.7}, {ID: "c", Score: 0.5}}
	lex := []storageLexical{{"c", 8}, {"d", 5}, {"a", 2}}
	req := SearchRequest{Mode: SearchHybrid, Fusion: FusionScores, DenseWeight: 1, LexicalWeight: 3}
	got := fuse(dense, toLexical(lex), req)
	require.Len(t, got, 4)
	want := map[string]float64{
		"c": (1*0 + 3*1.0) / 4, // 0.75
		"d": (3 * 0.5) / 4,     // 0.375, found by lexical only
		"a": (1*1.0 + 3*0) / 4, // 0.25
		"b": (1 * 0.5) / 4,     // 0.125, found by dense only
	}
	ids := make([]string, len(got))
	for i, c := range got {
		ids[i] = c.id
		assert.InDelta(t, want[c.id], c.score, 1e-12, c.id)
	}
	assert.Equal(t, []string{"c", "d", "a", "b"}, ids)
	assert.Equal(t, 3, got[0].dRank)
	assert.Equal(t, 1, got[0].lRank)
	assert.InDelta(t, 0.5, got[0].dense, 1e-6, "the raw cosine is kept")
	assert.Equal(t, 8.0, got[0].lex, "the raw lexical score is kept")

	// Equal weights: a and c tie at 0.5; the dense order breaks the tie.
	req.LexicalWeight = 1
	got = fuse(dense, toLexical(lex), req)
	assert.Equal(t, "a", got[0].id)
	assert.Equal(t, "c", got[1].id)
	assert.InDelta(t, 0.5, got[0].score, 1e-12)

	// MinScore is on the fused 0–1 scale.
	req.MinScore = 0.3
	got = fuse(dense, toLexical(lex), req)
	assert.Len(t, got, 2)
}

func TestFuseScoresDegenerateLists(t *testing.T) {
	req := SearchRequest{Mode: SearchHybrid, Fusion: FusionScores, DenseWeight: 0.15, LexicalWeight: 0.85}
	// One candidate per list: each is the list's best, normalized to 1.
	got := fuse([]vectorstore.Match{{ID: "a", Score: 0.2}}, toLexical([]storageLexical{{"b", 4}}), req)
	require.Len(t, got, 2)
	assert.Equal(t, "b", got[0].id)
	assert.InDelta(t, 0.85, got[0].score, 1e-12)
	assert.InDelta(t, 0.15, got[1].score, 1e-12)
	// No lexical match (a query of stop characters): the dense list alone,
	// in its order.
	got = fuse([]vectorstore.Match{{ID: "a", Score: 0.9}, {ID: "b", Score: 0.3}}, nil, req)
	require.Len(t, got, 2)
	assert.Equal(t, "a", got[0].id)
	assert.InDelta(t, 0.15, got[0].score, 1e-12)
	assert.InDelta(t, 0, got[1].score, 1e-12)
	assert.Empty(t, fuse(nil, nil, req))
}

// lexicalFlag is an embedder that declares whether it is lexical.
type lexicalFlag struct {
	embed.Embedder
	lexical bool
}

func (l lexicalFlag) Lexical() bool { return l.lexical }

// opaqueEmbedder hides the embedder it wraps (and its type).
type opaqueEmbedder struct{ embed.Embedder }

func TestIsLexicalEmbedder(t *testing.T) {
	h, err := hashing.New(hashing.Config{Dimensions: 64})
	require.NoError(t, err)
	assert.True(t, isLexicalEmbedder(h), "embed/hashing")
	assert.True(t, isLexicalEmbedder(lexicalFlag{Embedder: h, lexical: true}))
	assert.False(t, isLexicalEmbedder(lexicalFlag{Embedder: h, lexical: false}), "Lexical() false wins over the wrapped type")
	assert.False(t, isLexicalEmbedder(opaqueEmbedder{h}), "an unknown embedder is taken as semantic")
	assert.False(t, isLexicalEmbedder(nil))
}

func TestHybridDefaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      SearchRequest
		lexical bool
		want    SearchRequest
	}{
		{"lexical embedder", SearchRequest{}, true,
			SearchRequest{Fusion: FusionScores, RRFK: DefaultRRFK, DenseWeight: LexicalEmbedderDenseWeight, LexicalWeight: LexicalEmbedderLexicalWeight}},
		{"semantic embedder", SearchRequest{}, false,
			SearchRequest{Fusion: FusionRRF, RRFK: DefaultRRFK, DenseWeight: 1, LexicalWeight: 1}},
		{"rrf asked over a lexical embedder", SearchRequest{Fusion: FusionRRF}, true,
			SearchRequest{Fusion: FusionRRF, RRFK: DefaultRRFK, DenseWeight: 1, LexicalWeight: 1}},
		{"scores asked over a semantic embedder", SearchRequest{Fusion: FusionScores}, false,
			SearchRequest{Fusion: FusionScores, RRFK: DefaultRRFK, DenseWeight: 1, LexicalWeight: 1}},
		{"settings given are kept", SearchRequest{RRFK: 10, DenseWeight: 2, LexicalWeight: 3}, true,
			SearchRequest{Fusion: FusionScores, RRFK: 10, DenseWeight: 2, LexicalWeight: 3}},
		{"one weight given", SearchRequest{DenseWeight: 0.5}, true,
			SearchRequest{Fusion: FusionScores, RRFK: DefaultRRFK, DenseWeight: 0.5, LexicalWeight: LexicalEmbedderLexicalWeight}},
	} {
		assert.Equal(t, c.want, hybridDefaults(c.in, c.lexical), c.name)
	}
}

// TestSearchHybridDefaultFusion searches a stack on embed/hashing (as Open
// builds it): hybrid fuses by scores, on the 0–1 scale.
func TestSearchHybridDefaultFusion(t *testing.T) {
	h0, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	e := newIngestEnv(t, func(c *Config) { c.Embedder = h0 })
	h, bot := e.tenantWithBot(t, "acme")
	s1 := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine on the third floor needs descaling every Friday.")
	s2 := e.textSource(t, h, bot.ID, "Garage", "Bicycles are parked in the garage behind the espresso bar; the gate code changes monthly.")
	for _, s := range []Source{s1, s2} {
		_, err := h.Ingest(e.ctx, s.ID, IngestOptions{})
		require.NoError(t, err)
	}
	hy := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso machine descaling"})
	require.Len(t, hy, 2)
	assert.Equal(t, s1.ID, hy[0].SourceID)
	assert.Equal(t, []string{FoundByDense, FoundByLexical}, hy[0].FoundBy)
	assert.InDelta(t, 1.0, hy[0].Score, 1e-9, "first in both lists: 1 in both")
	assert.InDelta(t, 0.0, hy[1].Score, 1e-9, "last in both lists: 0 in both")

	rrf := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso machine descaling", Fusion: FusionRRF})
	require.Len(t, rrf, 2)
	assert.InDelta(t, 2.0/61, rrf[0].Score, 1e-9)

	_, err = h.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "x", Fusion: "borda"})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "fusion", ve.Fields[0].Field)
}

// failingEmbedder fails every call.
type failingEmbedder struct{ embed.Embedder }

var errEmbedDown = errors.New("embedding service down")

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errEmbedDown
}

// TestSearchHybridListError: an error of either list, searched
// concurrently, fails the search.
func TestSearchHybridListError(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	src := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine needs descaling every Friday.")
	_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	e.c.emb = failingEmbedder{e.c.emb}
	_, err = h.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "espresso"})
	require.ErrorIs(t, err, errEmbedDown)
	assert.Contains(t, err.Error(), "minirag: search: embed the query")
	lx := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso", Mode: SearchLexical})
	assert.Len(t, lx, 1, "lexical mode does not embed")
}

// Over the embedded stack's hashing embedder, hybrid search fuses
// normalized scores (0 to 1), the lexical ranking weighted 0.80; Fusion
// asks for reciprocal rank fusion instead.
func ExampleTenantHandle_Search() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "minirag-search-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	c, err := Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	b, err := c.CreateTenant(ctx, CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "owner@acme.example"})
	if err != nil {
		log.Fatal(err)
	}
	h := c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(ctx, BotParams{Name: "Helpdesk"})
	if err != nil {
		log.Fatal(err)
	}
	for _, doc := range []struct{ title, text string }{
		{"Backups", "A backup of every project is written each night and kept for 30 days."},
		{"Billing", "Invoices are sent on the first day of the month and kept for ten years."},
	} {
		src, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: doc.title, Type: SourceText, Config: loader.TextConfig{Title: doc.title, Content: doc.text}})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := h.Ingest(ctx, src.ID, IngestOptions{}); err != nil {
			log.Fatal(err)
		}
	}
	for _, f := range []Fusion{"", FusionRRF} {
		rs, err := h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "how long are backups kept?", Fusion: f})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("fusion %q:", f)
		for _, r := range rs {
			fmt.Printf(" %s %.3f", r.DocumentTitle, r.Score)
		}
		fmt.Println()
	}
	// Output:
	// fusion "": Backups 1.000 Billing 0.000
	// fusion "rrf": Backups 0.033 Billing 0.032
}
