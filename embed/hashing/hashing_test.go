package hashing_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/record"
)

func newEmbedder(t testing.TB, cfg hashing.Config) *hashing.Embedder {
	t.Helper()
	e, err := hashing.New(cfg)
	require.NoError(t, err)
	return e
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestDeterministicAcrossInstancesAndCalls(t *testing.T) {
	a := newEmbedder(t, hashing.Config{})
	b := newEmbedder(t, hashing.Config{})
	texts := []string{"Prometheus scrapes metrics from HTTP endpoints.", "Grüße aus Köln", "日本語のテキスト"}
	va, err := a.Embed(context.Background(), texts)
	require.NoError(t, err)
	vb, err := b.Embed(context.Background(), texts)
	require.NoError(t, err)
	assert.Equal(t, va, vb)
	// One at a time, after other texts have dirtied the pooled buffers.
	for i, text := range texts {
		assert.Equal(t, va[i], a.Vector(text), text)
	}
}

func TestGoldenValues(t *testing.T) {
	// Pins the algorithm: if this fails, vectors changed and Version must
	// be bumped (stored indexes built with the old vectors are now wrong).
	e := newEmbedder(t, hashing.Config{Dimensions: 16})
	v := e.Vector("The quick brown fox")
	var nonZero int
	for _, x := range v {
		if x != 0 {
			nonZero++
		}
	}
	assert.Greater(t, nonZero, 8)
	got := make([]int, len(v))
	for i, x := range v {
		got[i] = int(math.Round(float64(x) * 1000))
	}
	assert.Equal(t, goldenQuickBrownFox, got, "vectors changed: bump hashing.Version")
}

func TestUnitLengthAndDimensions(t *testing.T) {
	for _, dims := range []int{1, 7, 64, 384, 1536} {
		e := newEmbedder(t, hashing.Config{Dimensions: dims})
		assert.Equal(t, dims, e.Dimensions())
		vs, err := e.Embed(context.Background(), []string{"alpha beta gamma", strings.Repeat("word ", 1000), "x"})
		require.NoError(t, err)
		for _, v := range vs {
			require.Len(t, v, dims)
			assert.InDelta(t, 1.0, norm(v), 1e-5)
		}
	}
}

func TestDefaultsAndModel(t *testing.T) {
	e := newEmbedder(t, hashing.Config{})
	assert.Equal(t, hashing.DefaultDimensions, e.Dimensions())
	assert.Equal(t, "hashing-v1-d384", e.Model())
	assert.Equal(t, "hashing-v1-d128-nobigrams-nochars",
		newEmbedder(t, hashing.Config{Dimensions: 128, NoBigrams: true, NoCharNGrams: true}).Model())
	// Settings that change vectors change the model identity.
	seen := map[string]bool{}
	for _, cfg := range []hashing.Config{{}, {Dimensions: 128}, {NoBigrams: true}, {NoCharNGrams: true}} {
		m := newEmbedder(t, cfg).Model()
		assert.False(t, seen[m], m)
		seen[m] = true
	}
}

// TestLexicalCapability: the embedder declares the optional capability of
// package embed through an interface, as search detects it.
func TestLexicalCapability(t *testing.T) {
	var e embed.Embedder = newEmbedder(t, hashing.Config{Dimensions: 64})
	l, ok := e.(interface{ Lexical() bool })
	require.True(t, ok, "*hashing.Embedder has Lexical() bool")
	assert.True(t, l.Lexical())
}

func TestInvalidDimensions(t *testing.T) {
	for _, d := range []int{-1, hashing.MaxDimensions + 1} {
		_, err := hashing.New(hashing.Config{Dimensions: d})
		require.Error(t, err)
		assert.ErrorIs(t, err, record.ErrInvalidInput)
		assert.Contains(t, err.Error(), "dimensions")
		assert.True(t, strings.HasPrefix(err.Error(), "hashing: "), err.Error())
	}
}

func TestEmptyTextIsZeroVector(t *testing.T) {
	e := newEmbedder(t, hashing.Config{})
	vs, err := e.Embed(context.Background(), []string{"", "   \n\t", "?!… — ;", "ok"})
	require.NoError(t, err)
	for _, v := range vs[:3] {
		require.Len(t, v, e.Dimensions())
		assert.Zero(t, norm(v))
	}
	assert.InDelta(t, 1.0, norm(vs[3]), 1e-5)
	assert.Zero(t, cosine(vs[0], vs[3]))

	vs, err = e.Embed(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, vs)
}

func TestSimilarTextsAreCloser(t *testing.T) {
	e := newEmbedder(t, hashing.Config{})
	query := "how does prometheus scrape metrics from targets"
	near := "Prometheus scrapes metrics from instrumented targets over HTTP."
	far := "The recipe needs two eggs, flour and a pinch of salt."
	vs, err := e.Embed(context.Background(), []string{query, near, far})
	require.NoError(t, err)
	assert.Greater(t, cosine(vs[0], vs[1]), cosine(vs[0], vs[2])+0.2)

	// Character n-grams make inflections close; without them they share nothing.
	withChars := e.Vector("alerting")
	assert.Greater(t, cosine(withChars, e.Vector("alerts")), 0.15)
	noChars := newEmbedder(t, hashing.Config{NoCharNGrams: true})
	assert.Less(t, cosine(noChars.Vector("alerting"), noChars.Vector("alerts")), 0.05)
}

func TestCaseAndUnicode(t *testing.T) {
	e := newEmbedder(t, hashing.Config{})
	assert.Equal(t, e.Vector("hello world"), e.Vector("HELLO, World!"))
	assert.Equal(t, e.Vector("ÉCOLE"), e.Vector("école"))
	// NFC and NFD forms of the same text embed the same.
	assert.Equal(t, e.Vector("caf\u00e9"), e.Vector("cafe\u0301"))
	// Scripts without spaces still share characters.
	assert.Greater(t, cosine(e.Vector("東京都の天気"), e.Vector("東京の天気予報")), 0.3)
	// Combining marks stay inside their word (Devanagari vowel signs).
	words := newEmbedder(t, hashing.Config{NoBigrams: true, NoCharNGrams: true})
	assert.Zero(t, cosine(words.Vector("हिन्दी"), words.Vector("ह")), "हिन्दी is one word, not split at its vowel signs")
	// Invalid UTF-8 does not panic and separates words.
	v := e.Vector("abc\xffdef")
	assert.InDelta(t, 1.0, norm(v), 1e-5)
}

func TestWordOrderMattersOnlyThroughBigrams(t *testing.T) {
	e := newEmbedder(t, hashing.Config{})
	noBigrams := newEmbedder(t, hashing.Config{NoBigrams: true})
	a, b := "dog bites man", "man bites dog"
	assert.Equal(t, noBigrams.Vector(a), noBigrams.Vector(b))
	assert.NotEqual(t, e.Vector(a), e.Vector(b))
	assert.Greater(t, cosine(e.Vector(a), e.Vector(b)), 0.5)
}

func TestSublinearTermFrequency(t *testing.T) {
	e := newEmbedder(t, hashing.Config{NoBigrams: true, NoCharNGrams: true})
	// With raw counts, "spam" repeated 100 times would drown "ham";
	// with 1+ln(tf) it weighs about 5.6 times as much.
	v := e.Vector(strings.Repeat("spam ", 100) + "ham")
	h := e.Vector("ham")
	c := cosine(v, h)
	assert.Greater(t, c, 0.1)
	assert.Less(t, c, 0.3)
}

func TestCanceledContext(t *testing.T) {
	e := newEmbedder(t, hashing.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.Embed(ctx, []string{"a"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled))
}

func TestVectorsDoNotAlias(t *testing.T) {
	e := newEmbedder(t, hashing.Config{Dimensions: 4})
	vs, err := e.Embed(context.Background(), []string{"one", "two"})
	require.NoError(t, err)
	second := append([]float32(nil), vs[1]...)
	_ = append(vs[0], 42) // must not write into vs[1]
	assert.Equal(t, second, vs[1])
}

func TestConcurrentUse(t *testing.T) {
	e := newEmbedder(t, hashing.Config{})
	texts := []string{"first text about metrics", "second text about alerts", "dritter Text über Regeln"}
	want, err := e.Embed(context.Background(), texts)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := e.Embed(context.Background(), texts)
				if !assert.NoError(t, err) || !assert.Equal(t, want, got) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzVector(f *testing.F) {
	f.Add("hello world")
	f.Add("")
	f.Add("\xff\xfe日本語 ÉCOLE cafe\u0301")
	e, err := hashing.New(hashing.Config{Dimensions: 32})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := e.Vector(s)
		if len(v) != 32 {
			t.Fatalf("len %d", len(v))
		}
		n := norm(v)
		if n != 0 && math.Abs(n-1) > 1e-4 {
			t.Fatalf("norm %v", n)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("non-finite %v", v)
			}
		}
	})
}
