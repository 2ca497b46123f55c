package loader

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
)

func TestTextLoader(t *testing.T) {
	load := func(cfg TextConfig, opts Options) Document {
		t.Helper()
		l, err := NewText(cfg, opts)
		require.NoError(t, err)
		var docs []Document
		require.NoError(t, l.Load(context.Background(), func(d Document) error { docs = append(docs, d); return nil }))
		require.Len(t, docs, 1)
		return docs[0]
	}
	d := load(TextConfig{Content: "  body\r\n", Title: " T "}, Options{Name: "source"})
	assert.Equal(t, Document{Key: TextKey, Title: "T", Text: "  body\r\n", Metadata: map[string]string{"content_type": "text/plain", "format": "text"}}, d, "text kept raw")
	assert.Equal(t, "source", load(TextConfig{Content: "x"}, Options{Name: "source"}).Title)
	assert.Equal(t, "text", load(TextConfig{Content: "x"}, Options{}).Title)

	_, err := NewText(TextConfig{Content: " \n"}, Options{})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "config.content: is required")
	_, err = NewText(TextConfig{Content: strings.Repeat("x", MaxTextBytes+1)}, Options{})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "config.content: is larger than")

	l, err := NewText(TextConfig{Content: "x"}, Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = l.Load(ctx, func(Document) error { t.Fatal("emitted after cancel"); return nil })
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNewDispatch(t *testing.T) {
	l, err := New(record.SourceText, json.RawMessage(`{"content":"x"}`), Options{})
	require.NoError(t, err)
	assert.IsType(t, &TextLoader{}, l)
	l, err = New(record.SourceFile, json.RawMessage(`{"path":"testdata/tree","include":["*.md"]}`), Options{})
	require.NoError(t, err)
	assert.IsType(t, &FileLoader{}, l)
	l, err = New(record.SourceURL, json.RawMessage(`{"url":"https://example.com","max_pages":5}`), Options{})
	require.NoError(t, err)
	assert.IsType(t, &URLLoader{}, l)

	_, err = New("ftp", json.RawMessage(`{}`), Options{})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "type: must be one of text, file, url")
}

// TestParseConfigTrailingSpace: white space after the object is not
// trailing data.
func TestParseConfigTrailingSpace(t *testing.T) {
	c, err := ParseConfig(record.SourceText, json.RawMessage("{\"content\":\"x\"} \n\t"))
	require.NoError(t, err)
	assert.Equal(t, "x", c.(*TextConfig).Content)
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		typ   record.SourceType
		raw   string
		field string
	}{
		{record.SourceText, ``, "config"},
		{record.SourceText, `null`, "config"},
		{record.SourceText, `{"content":""}`, "config.content"},
		{record.SourceText, `{"content":"x","extra":1}`, "config.extra"},
		{record.SourceText, `{"content":5}`, "config.content"},
		{record.SourceText, `[`, "config"},
		{record.SourceText, `{"content":"x"} {"content":"y"}`, "config"},
		{record.SourceText, `{"content":"x"}]`, "config"},
		{record.SourceFile, `{"path":"x"} 1`, "config"},
		{record.SourceFile, `{"path":""}`, "config.path"},
		{record.SourceFile, `{"path":"x","include":["["]}`, "config.include[0]"},
		{record.SourceFile, `{"path":"x","exclude":["a","[z"]}`, "config.exclude[1]"},
		{record.SourceFile, `{"path":"x","max_file_bytes":-1}`, "config.max_file_bytes"},
		{record.SourceURL, `{"url":""}`, "config.url"},
		{record.SourceURL, `{"url":"example.com"}`, "config.url"},
		{record.SourceURL, `{"url":"http://x","max_pages":10001}`, "config.max_pages"},
		{record.SourceURL, `{"url":"http://x","max_depth":-1}`, "config.max_depth"},
		{record.SourceURL, `{"url":"http://x","max_page_bytes":-1}`, "config.max_page_bytes"},
		{record.SourceURL, `{"url":"http://x","timeout_seconds":-1}`, "config.timeout_seconds"},
	}
	for _, c := range cases {
		_, err := ParseConfig(c.typ, json.RawMessage(c.raw))
		require.ErrorIs(t, err, record.ErrInvalidInput, c.raw)
		var ve *record.ValidationError
		require.ErrorAs(t, err, &ve, c.raw)
		assert.Equal(t, c.field, ve.Fields[0].Field, c.raw)
		// New gives the same error.
		_, err2 := New(c.typ, json.RawMessage(c.raw), Options{})
		assert.Equal(t, err.Error(), err2.Error())
	}
}
