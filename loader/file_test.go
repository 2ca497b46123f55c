package loader

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
)

// loadAll runs l and returns the documents and skips.
func loadAll(t *testing.T, newLoader func(Options) (Loader, error)) ([]Document, []Skipped, error) {
	t.Helper()
	var skips []Skipped
	l, err := newLoader(Options{OnSkip: func(s Skipped) { skips = append(skips, s) }, AllowPrivateNetworks: true})
	require.NoError(t, err)
	var docs []Document
	err = l.Load(context.Background(), func(d Document) error {
		docs = append(docs, d)
		return nil
	})
	return docs, skips, err
}

func fileSource(cfg FileConfig) func(Options) (Loader, error) {
	return func(o Options) (Loader, error) { return NewFile(cfg, o) }
}

func keys(docs []Document) []string {
	var out []string
	for _, d := range docs {
		out = append(out, d.Key)
	}
	return out
}

func skipMap(skips []Skipped) map[string]string {
	m := map[string]string{}
	for _, s := range skips {
		m[s.Key] = s.Reason
	}
	return m
}

func TestFileLoaderTree(t *testing.T) {
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: "testdata/tree", Exclude: []string{"drafts"}}))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"README.md",
		"guide/deep/nested.md",
		"guide/deep/noheading.htm",
		"guide/intro.markdown",
		"guide/legacy.html",
		"notes.txt",
		"page.html",
	}, keys(docs), "lexical order; drafts excluded; .hidden left out; skipped files absent")

	sm := skipMap(skips)
	assert.Len(t, sm, 4)
	assert.Contains(t, sm["binary.txt"], "binary (NUL bytes")
	assert.Equal(t, "unsupported file type (.dat)", sm["data.dat"])
	assert.Equal(t, "unsupported file type (.png)", sm["image.png"])
	assert.Contains(t, sm["latin1.txt"], "invalid UTF-8")

	byKey := map[string]Document{}
	for _, d := range docs {
		byKey[d.Key] = d
	}
	titles := map[string]string{
		"README.md":                "Tree Readme",
		"guide/deep/nested.md":     "nested",
		"guide/deep/noheading.htm": "Only an H1",
		"guide/intro.markdown":     "Introduction to the Guide",
		"guide/legacy.html":        "Legacy Café",
		"notes.txt":                "notes",
		"page.html":                "An HTML Page",
	}
	for k, want := range titles {
		assert.Equal(t, want, byKey[k].Title, k)
	}
	assert.Equal(t, "Crème brûlée.", byKey["guide/legacy.html"].Text, "charset from <meta> decoded")
	assert.Equal(t, "# Welcome\n\nThe first paragraph, with a link.", byKey["page.html"].Text)
	assert.True(t, strings.HasPrefix(byKey["guide/intro.markdown"].Text, "\n# A heading"), "front matter removed: %q", byKey["guide/intro.markdown"].Text)
	assert.Equal(t, "Plain notes.\nSecond line of notes.\n", byKey["notes.txt"].Text)

	abs, err := filepath.Abs("testdata/tree/notes.txt")
	require.NoError(t, err)
	n := byKey["notes.txt"]
	assert.Equal(t, "file://"+filepath.ToSlash(abs), n.URI)
	assert.Equal(t, "text/plain", n.Metadata["content_type"])
	assert.Equal(t, "text", n.Metadata["format"])
	st, err := os.Stat(abs)
	require.NoError(t, err)
	assert.Equal(t, "35", n.Metadata["size"])
	mtime, err := time.Parse(time.RFC3339, n.Metadata["mtime"])
	require.NoError(t, err)
	assert.True(t, st.ModTime().Truncate(time.Second).Equal(mtime))
	assert.Equal(t, "markdown", byKey["page.html"].Metadata["format"])
	assert.Equal(t, "text/html", byKey["page.html"].Metadata["content_type"])
	assert.Equal(t, "text/markdown", byKey["README.md"].Metadata["content_type"])
}

func TestFileLoaderIncludeExclude(t *testing.T) {
	cases := []struct {
		name             string
		include, exclude []string
		want             []string
	}{
		{"include by base name", []string{"*.md"}, nil, []string{"README.md", "drafts/secret.md", "guide/deep/nested.md"}},
		{"include a subtree", []string{"guide/**"}, []string{"*.html"}, []string{"guide/deep/nested.md", "guide/deep/noheading.htm", "guide/intro.markdown"}},
		{"exclude a nested dir", nil, []string{"**/deep", "drafts", "*.txt", "*.png", "*.dat"}, []string{"README.md", "guide/intro.markdown", "guide/legacy.html", "page.html"}},
		{"exclude by relative path", []string{"*.md"}, []string{"drafts/secret.md"}, []string{"README.md", "guide/deep/nested.md"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs, _, err := loadAll(t, fileSource(FileConfig{Path: "testdata/tree", Include: c.include, Exclude: c.exclude}))
			require.NoError(t, err)
			assert.Equal(t, c.want, keys(docs))
		})
	}
}

func TestFileLoaderTooLarge(t *testing.T) {
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: "testdata/tree", Include: []string{"*.md", "*.txt"}, Exclude: []string{"drafts"}, MaxFileBytes: 60}))
	require.NoError(t, err)
	assert.Equal(t, []string{"guide/deep/nested.md", "notes.txt"}, keys(docs))
	sm := skipMap(skips)
	assert.Contains(t, sm["README.md"], "too large (")
	assert.Contains(t, sm["README.md"], "limit 60")
}

func TestFileLoaderSingleFile(t *testing.T) {
	docs, _, err := loadAll(t, fileSource(FileConfig{Path: "testdata/tree/guide/intro.markdown"}))
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, "intro.markdown", docs[0].Key)
	assert.Equal(t, "Introduction to the Guide", docs[0].Title)
	abs, _ := filepath.Abs("testdata/tree/guide/intro.markdown")
	assert.Equal(t, "file://"+filepath.ToSlash(abs), docs[0].URI)

	// A single file that cannot be loaded is an error naming it.
	for _, p := range []string{"testdata/tree/binary.txt", "testdata/tree/data.dat"} {
		_, skips, err := loadAll(t, fileSource(FileConfig{Path: p}))
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrUnavailable)
		assert.Contains(t, err.Error(), p)
		assert.Len(t, skips, 1)
	}
}

func TestFileLoaderMissingPath(t *testing.T) {
	_, _, err := loadAll(t, fileSource(FileConfig{Path: "testdata/no-such-dir"}))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.False(t, errors.Is(err, record.ErrInvalidInput))
	assert.Contains(t, err.Error(), "loader: file testdata/no-such-dir: no such file or directory")
}

func TestFileLoaderBaseDir(t *testing.T) {
	l, err := NewFile(FileConfig{Path: "tree/notes.txt"}, Options{BaseDir: "testdata"})
	require.NoError(t, err)
	var got []Document
	require.NoError(t, l.Load(context.Background(), func(d Document) error { got = append(got, d); return nil }))
	require.Len(t, got, 1)
	assert.Equal(t, "notes.txt", got[0].Key)
}

func TestFileLoaderEmitErrorStops(t *testing.T) {
	l, err := NewFile(FileConfig{Path: "testdata/tree"}, Options{})
	require.NoError(t, err)
	stop := errors.New("stop here")
	n := 0
	err = l.Load(context.Background(), func(Document) error { n++; return stop })
	assert.Same(t, stop, err)
	assert.Equal(t, 1, n)
}

func TestFileLoaderContextCanceled(t *testing.T) {
	l, err := NewFile(FileConfig{Path: "testdata/tree"}, Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = l.Load(ctx, func(Document) error { n++; cancel(); return nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, n)
}

func TestFileLoaderValidation(t *testing.T) {
	_, err := NewFile(FileConfig{Path: " ", Include: []string{"[bad"}, MaxFileBytes: -1}, Options{})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	var ve *record.ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	assert.Equal(t, []string{"config.path", "config.include[0]", "config.max_file_bytes"}, fields)
}

// symlinkTree makes root/{a.md, link.md -> ../outside/secret.md,
// linkdir -> ../outside, inlink.md -> a.md} and returns root and outside.
func symlinkTree(t *testing.T) (root, outside string) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "root")
	outside = filepath.Join(dir, "outside")
	require.NoError(t, os.MkdirAll(root, 0o755))
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a.md"), []byte("# A\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.md"), []byte("# Secret\n"), 0o644))
	for name, target := range map[string]string{
		"link.md":   filepath.Join("..", "outside", "secret.md"),
		"linkdir":   filepath.Join("..", "outside"),
		"inlink.md": "a.md",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skipf("symbolic links not available: %v", err)
		}
	}
	return root, outside
}

func TestFileLoaderRoots(t *testing.T) {
	root, outside := symlinkTree(t)
	opts := Options{FileRoots: []string{root}}

	// A path outside the roots is rejected up front, naming config.path.
	_, err := New(record.SourceFile, json.RawMessage(`{"path":`+quote(outside)+`}`), opts)
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "config.path")
	_, err = NewFile(FileConfig{Path: filepath.Join(root, "..", "outside")}, opts)
	require.ErrorIs(t, err, record.ErrInvalidInput)

	// Inside the root: links leading out are not followed.
	var skips []Skipped
	opts.OnSkip = func(s Skipped) { skips = append(skips, s) }
	l, err := NewFile(FileConfig{Path: root}, opts)
	require.NoError(t, err)
	var docs []Document
	require.NoError(t, l.Load(context.Background(), func(d Document) error { docs = append(docs, d); return nil }))
	assert.Equal(t, []string{"a.md", "inlink.md"}, keys(docs))
	for _, d := range docs {
		assert.NotContains(t, d.Text, "Secret")
	}
	sm := skipMap(skips)
	assert.Contains(t, sm["link.md"], "outside the allowed directory")
	assert.Contains(t, sm["linkdir"], "outside the allowed directory")

	// A configured path that is itself a link out of the root.
	for _, p := range []string{filepath.Join(root, "linkdir"), filepath.Join(root, "link.md")} {
		l, err = NewFile(FileConfig{Path: p}, Options{FileRoots: []string{root}})
		require.NoError(t, err, "lexically inside the root")
		err = l.Load(context.Background(), func(Document) error { return nil })
		require.ErrorIs(t, err, record.ErrInvalidInput, p)
		assert.Contains(t, err.Error(), "config.path")
	}

	// Relative roots resolve against BaseDir.
	l, err = NewFile(FileConfig{Path: "root/a.md"}, Options{BaseDir: filepath.Dir(root), FileRoots: []string{"root"}})
	require.NoError(t, err)
	require.NoError(t, l.Load(context.Background(), func(d Document) error { assert.Equal(t, "A", d.Title); return nil }))
}

func TestFileLoaderSymlinksWithoutRoots(t *testing.T) {
	root, _ := symlinkTree(t)
	var skips []Skipped
	l, err := NewFile(FileConfig{Path: root}, Options{OnSkip: func(s Skipped) { skips = append(skips, s) }})
	require.NoError(t, err)
	var docs []Document
	require.NoError(t, l.Load(context.Background(), func(d Document) error { docs = append(docs, d); return nil }))
	assert.Equal(t, []string{"a.md", "inlink.md", "link.md"}, keys(docs), "file links followed")
	assert.Equal(t, "Secret", docs[2].Title)
	assert.Equal(t, map[string]string{"linkdir": "symbolic link to a directory is not followed"}, skipMap(skips))
}

func TestFileLoaderUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions do not stop reads")
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("ok"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "locked.txt"), []byte("no"), 0o000))
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: dir}))
	require.NoError(t, err)
	assert.Equal(t, []string{"ok.txt"}, keys(docs))
	assert.Contains(t, skipMap(skips)["locked.txt"], "unreadable: permission denied")
}

func TestFileLoaderBrokenLink(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("ok"), 0o644))
	if err := os.Symlink("missing.md", filepath.Join(dir, "broken.md")); err != nil {
		t.Skipf("symbolic links not available: %v", err)
	}
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: dir}))
	require.NoError(t, err)
	assert.Equal(t, []string{"ok.txt"}, keys(docs))
	assert.Equal(t, map[string]string{"broken.md": "symbolic link is broken"}, skipMap(skips))
}

func TestFileLoaderEmptyFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.md"), nil, 0o644))
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: dir}))
	require.NoError(t, err)
	assert.Empty(t, skips)
	require.Len(t, docs, 1, "an empty file is a document with empty text: ingestion decides")
	assert.Equal(t, "", docs[0].Text)
	assert.Equal(t, "empty", docs[0].Title)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestFileLoaderHundredMegabyteFile(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.txt")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(100<<20)) // sparse: no disk or memory used
	require.NoError(t, f.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "small.txt"), []byte("small"), 0o644))

	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: dir}))
	require.NoError(t, err)
	assert.Equal(t, []string{"small.txt"}, keys(docs))
	assert.Equal(t, map[string]string{"huge.txt": "too large (104857600 bytes, limit 20971520)"}, skipMap(skips))

	_, _, err = loadAll(t, fileSource(FileConfig{Path: huge}))
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, "loader: file "+huge+": too large (104857600 bytes, limit 20971520): loader: source unavailable", err.Error())
}

// corpusDir is the repository's corpus of real markdown documents
// (testdata/prometheus-docs).
const corpusDir = "../testdata/prometheus-docs"

func TestFileLoaderCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Fatalf("corpus absent (%s): %v", corpusDir, err)
	}
	var want []string
	require.NoError(t, filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(corpusDir, p)
			want = append(want, filepath.ToSlash(rel))
		}
		return err
	}))
	docs, _, err := loadAll(t, fileSource(FileConfig{Path: corpusDir, Include: []string{"*.md"}}))
	require.NoError(t, err)
	assert.Equal(t, want, keys(docs))
	withFrontMatterTitle := 0
	for _, d := range docs {
		assert.NotEmpty(t, d.Title, d.Key)
		assert.False(t, strings.HasPrefix(d.Text, "---\n"), "front matter left in %s", d.Key)
		if !strings.EqualFold(d.Title, strings.TrimSuffix(path.Base(d.Key), ".md")) {
			withFrontMatterTitle++
		}
	}
	assert.Greater(t, withFrontMatterTitle, len(docs)/2, "most corpus files carry a title")
}
