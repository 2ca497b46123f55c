package loader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html/charset"

	"github.com/minirag/minirag/record"
)

// sniffBytes is how much of a file the binary check reads.
const sniffBytes = 8 << 10

// fileKind is a supported file type.
type fileKind struct {
	contentType string
	format      string
}

var (
	kindText     = fileKind{"text/plain", "text"}
	kindMarkdown = fileKind{"text/markdown", "markdown"}
	kindHTML     = fileKind{"text/html", "markdown"}
)

// kindOf maps a file name's extension to its type.
func kindOf(name string) (fileKind, bool) {
	switch strings.ToLower(path.Ext(name)) {
	case ".txt", ".text":
		return kindText, true
	case ".md", ".markdown":
		return kindMarkdown, true
	case ".html", ".htm", ".xhtml":
		return kindHTML, true
	}
	return fileKind{}, false
}

// FileLoader yields the documents of a file source: one file, or the
// supported files of a directory tree.
//
// A directory is walked in lexical order, one file read at a time. Names
// starting with "." (such as .git) are left out, as are files and
// directories matching an Exclude pattern, and files matching no Include
// pattern when there are some. Symbolic links to files are followed
// (within the root when Options.FileRoots is set); symbolic links to
// directories are not. Files that are not .txt/.text, .md/.markdown,
// .html/.htm/.xhtml, of a registered Format (by extension, checked by its
// sniffer; a file without extension by its content alone) or records
// (.csv, .tsv, .jsonl, .ndjson), larger than MaxFileBytes, binary (NUL
// bytes, or for text, markdown and records invalid UTF-8, in the first
// 8 KiB), unreadable, or that their parser rejects are reported to
// Options.OnSkip and passed over. A records file yields one document per
// row, keyed "<path>#<key>" (see RecordsConfig).
//
// A single-file source loads its file whatever Include and Exclude say.
// Each document's Key is its slash-separated path relative to the directory
// (its base name for a single-file source), its URI a file:// URL, and its
// Metadata holds content_type, format, size and mtime. Markdown titles come
// from a front-matter "title:" line, else the first level-1 heading; HTML
// titles from HTMLToText; otherwise the file name without extension.
type FileLoader struct {
	cfg  FileConfig
	opts Options
	abs  string // absolute, clean path of cfg.Path
	root string // the FileRoots entry holding abs, or ""
	max  int64
}

// NewFile returns the loader of a file source. A relative Path is resolved
// against Options.BaseDir. When Options.FileRoots is set, a path outside
// every root gives an error wrapping record.ErrInvalidInput naming
// config.path. NewFile does not touch the file system beyond resolving the
// working directory: a missing path is reported by Load.
func NewFile(cfg FileConfig, opts Options) (*FileLoader, error) {
	var v record.ValidationError
	if strings.TrimSpace(cfg.Path) == "" {
		v.Add("config.path", "is required")
	}
	for i, p := range cfg.Include {
		if _, err := path.Match(p, ""); err != nil {
			v.Add(fmt.Sprintf("config.include[%d]", i), "is not a valid glob pattern")
		}
	}
	for i, p := range cfg.Exclude {
		if _, err := path.Match(p, ""); err != nil {
			v.Add(fmt.Sprintf("config.exclude[%d]", i), "is not a valid glob pattern")
		}
	}
	if cfg.MaxFileBytes < 0 {
		v.Add("config.max_file_bytes", "must not be negative")
	}
	cfg.Records.validate(&v, "config.records")
	if err := v.Err(); err != nil {
		return nil, err
	}
	abs, err := absPath(opts.BaseDir, cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("loader: file %s: %w", cfg.Path, err)
	}
	l := &FileLoader{cfg: cfg, opts: opts, abs: abs, max: cfg.MaxFileBytes}
	if l.max == 0 {
		l.max = DefaultMaxFileBytes
	}
	if len(opts.FileRoots) > 0 {
		for _, r := range opts.FileRoots {
			root, err := absPath(opts.BaseDir, r)
			if err != nil {
				return nil, fmt.Errorf("loader: file root %s: %w", r, err)
			}
			if within(root, abs) {
				l.root = root
				break
			}
		}
		if l.root == "" {
			return nil, record.Invalid("config.path", "is outside the directories this host allows")
		}
	}
	return l, nil
}

func absPath(base, p string) (string, error) {
	if !filepath.IsAbs(p) && base != "" {
		p = filepath.Join(base, p)
	}
	return filepath.Abs(p)
}

// within reports whether p is root or lies under it (both clean, absolute).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// Load emits the documents of the file or directory, one file read at a
// time. A path that does not exist gives an error wrapping ErrUnavailable; a
// single-file source whose file cannot be loaded (binary, too large,
// unsupported) too. With Options.FileRoots, a path whose symbolic links
// lead out of its root gives an error wrapping record.ErrInvalidInput.
func (l *FileLoader) Load(ctx context.Context, emit func(Document) error) error {
	if err := checkCtx(ctx); err != nil {
		return err
	}
	fsys, name, done, err := l.open()
	if err != nil {
		return err
	}
	defer done()
	info, err := fs.Stat(fsys, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("loader: file %s: no such file or directory: %w", l.cfg.Path, ErrUnavailable)
		}
		return fmt.Errorf("loader: file %s: %w: %w", l.cfg.Path, ErrUnavailable, stripPathError(err))
	}
	if !info.IsDir() {
		base := path.Base(name)
		if name == "." {
			base = filepath.Base(l.abs)
		}
		reason, err := l.readFile(ctx, fsys, name, base, l.abs, info, emit)
		if err != nil {
			return err
		}
		if reason != "" {
			l.opts.skip(base, reason)
			return fmt.Errorf("loader: file %s: %s: %w", l.cfg.Path, reason, ErrUnavailable)
		}
		return nil
	}
	return fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
		if cerr := checkCtx(ctx); cerr != nil {
			return cerr
		}
		rel := p
		if name != "." {
			rel = strings.TrimPrefix(p, name+"/")
		}
		if err != nil {
			if p == name {
				return fmt.Errorf("loader: file %s: %w: %w", l.cfg.Path, ErrUnavailable, stripPathError(err))
			}
			l.opts.skip(rel, "unreadable: "+stripPathError(err).Error())
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p == name {
			return nil
		}
		base := d.Name()
		if strings.HasPrefix(base, ".") {
			l.opts.logger().Debug("loader: hidden name left out", "key", rel)
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if matchAny(l.cfg.Exclude, rel, base) {
			l.opts.logger().Debug("loader: excluded", "key", rel)
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if len(l.cfg.Include) > 0 && !matchAny(l.cfg.Include, rel, base) {
			return nil
		}
		var info fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			info, err = fs.Stat(fsys, p)
			switch {
			case err != nil && l.root != "":
				l.opts.skip(rel, "symbolic link is broken or leads outside the allowed directory")
				return nil
			case err != nil:
				l.opts.skip(rel, "symbolic link is broken")
				return nil
			case info.IsDir():
				l.opts.skip(rel, "symbolic link to a directory is not followed")
				return nil
			}
		} else if info, err = d.Info(); err != nil {
			l.opts.skip(rel, "unreadable: "+stripPathError(err).Error())
			return nil
		}
		reason, err := l.readFile(ctx, fsys, p, rel, filepath.Join(l.abs, filepath.FromSlash(rel)), info, emit)
		if err != nil {
			return err
		}
		if reason != "" {
			l.opts.skip(rel, reason)
		}
		return nil
	})
}

// open returns the file system to read, the slash path of the source in it,
// and a func releasing it.
func (l *FileLoader) open() (fs.FS, string, func(), error) {
	if l.root == "" {
		vol := filepath.VolumeName(l.abs)
		top := vol + string(filepath.Separator)
		rel, err := filepath.Rel(top, l.abs)
		if err != nil {
			return nil, "", nil, fmt.Errorf("loader: file %s: %w", l.cfg.Path, err)
		}
		return os.DirFS(top), filepath.ToSlash(rel), func() {}, nil
	}
	// Reject, with a clear error, a path whose links lead out of the root;
	// os.Root below enforces the same at every open, also against links
	// changed after this check.
	if real, err := filepath.EvalSymlinks(l.abs); err == nil {
		realRoot, rerr := filepath.EvalSymlinks(l.root)
		if rerr == nil && !within(realRoot, real) {
			return nil, "", nil, fmt.Errorf("loader: file %s: %w",
				l.cfg.Path, record.Invalid("config.path", "leads outside the directories this host allows"))
		}
	}
	r, err := os.OpenRoot(l.root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil, fmt.Errorf("loader: file %s: no such file or directory: %w", l.cfg.Path, ErrUnavailable)
		}
		return nil, "", nil, fmt.Errorf("loader: file %s: %w: %w", l.cfg.Path, ErrUnavailable, stripPathError(err))
	}
	rel, err := filepath.Rel(l.root, l.abs)
	if err != nil {
		r.Close()
		return nil, "", nil, fmt.Errorf("loader: file %s: %w", l.cfg.Path, err)
	}
	return r.FS(), filepath.ToSlash(rel), func() { r.Close() }, nil
}

// stripPathError drops the absolute path a *fs.PathError carries (errors
// name the configured path instead).
func stripPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readFile reads one file and emits its document (or, for a records file,
// its rows' documents). It returns a skip reason for a file it passes over,
// or an error that ends the load.
func (l *FileLoader) readFile(ctx context.Context, fsys fs.FS, p, key, abs string, info fs.FileInfo, emit func(Document) error) (string, error) {
	if err := checkCtx(ctx); err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "not a regular file", nil // a pipe or device could block or never end
	}
	ext := path.Ext(p)
	kind, isText := kindOf(p)
	format, isFormat := formatByExt(p)
	isRecords := isRecordsExt(ext)
	if !isText && !isFormat && !isRecords && ext != "" {
		return fmt.Sprintf("unsupported file type (%s)", ext), nil
	}
	if info.Size() > l.max {
		return fmt.Sprintf("too large (%d bytes, limit %d)", info.Size(), l.max), nil
	}
	f, err := fsys.Open(p)
	if err != nil {
		return "unreadable: " + stripPathError(err).Error(), nil
	}
	data, err := io.ReadAll(io.LimitReader(f, l.max+1))
	f.Close()
	if err != nil {
		return "unreadable: " + stripPathError(err).Error(), nil
	}
	if int64(len(data)) > l.max {
		return fmt.Sprintf("too large (more than %d bytes)", l.max), nil
	}
	head := data[:min(len(data), sniffBytes)]
	if ext == "" { // no extension: a registered format recognized by its content
		if format, isFormat = formatBySniff(head); !isFormat {
			return "unsupported file type (no extension)", nil
		}
	}
	meta := map[string]string{
		"size":  strconv.FormatInt(int64(len(data)), 10),
		"mtime": info.ModTime().UTC().Format(time.RFC3339),
	}
	base := path.Base(p)
	fallback := strings.TrimSuffix(base, path.Ext(base))
	uri := fileURI(abs)
	switch {
	case isRecords:
		if reason := binaryReason(data, true); reason != "" {
			return reason, nil
		}
		lim := l.opts.Limits.WithDefaults()
		var emitErr error
		err := recordsFile(ctx, l.cfg.Records, data, p, key, uri, lim, meta, l.opts.skip, func(d Document) error {
			emitErr = emit(d)
			return emitErr
		})
		switch {
		case emitErr != nil:
			return "", emitErr
		case err != nil && ctx.Err() != nil:
			return "", checkCtx(ctx)
		case err != nil:
			return err.Error(), nil
		}
		return "", nil
	case isFormat:
		title, text, fmeta, reason := parseWith(ctx, format, data, l.opts.Limits)
		if reason != "" {
			if ctx.Err() != nil {
				return "", checkCtx(ctx)
			}
			return reason, nil
		}
		maps.Copy(meta, fmeta)
		if title == "" {
			title = fallback
		}
		return "", emit(Document{Key: key, Title: title, URI: uri, Text: text, Metadata: meta})
	}
	if reason := binaryReason(data, kind != kindHTML); reason != "" {
		return reason, nil
	}
	title, text, err := extract(data, kind, "")
	if err != nil {
		return "unreadable: " + err.Error(), nil
	}
	if title == "" {
		title = fallback
	}
	meta["content_type"], meta["format"] = kind.contentType, kind.format
	return "", emit(Document{Key: key, Title: title, URI: uri, Text: text, Metadata: meta})
}

func fileURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:///C:/dir
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// binaryReason returns why data (the start of a file) looks binary, or "".
// strictUTF8 also rejects invalid UTF-8 (HTML may declare another charset).
func binaryReason(data []byte, strictUTF8 bool) string {
	head := data[:min(len(data), sniffBytes)]
	if bytes.IndexByte(head, 0) >= 0 {
		return "binary (NUL bytes in the first 8 KiB)"
	}
	if strictUTF8 && !validUTF8Prefix(head, len(head) < len(data)) {
		return "binary or not UTF-8 (invalid UTF-8 in the first 8 KiB)"
	}
	return ""
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing a rune cut at
// the end when b is only the start of the data.
func validUTF8Prefix(b []byte, cut bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if !cut {
		return false
	}
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.Valid(b[:len(b)-i]) {
			return !utf8.FullRune(b[len(b)-i:])
		}
	}
	return false
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// extract turns a file's or page's bytes into a title and text.
// contentType carries an HTTP charset parameter, if any.
func extract(data []byte, kind fileKind, contentType string) (title, text string, err error) {
	switch kind {
	case kindHTML:
		if contentType == "" {
			contentType = "text/html"
		}
		r, err := charset.NewReader(bytes.NewReader(data), contentType)
		if err != nil {
			return "", "", fmt.Errorf("loader: charset: %w", err)
		}
		return HTMLToText(r)
	case kindMarkdown:
		data = bytes.TrimPrefix(data, utf8BOM)
		fmTitle, body := frontMatter(data)
		title = fmTitle
		if title == "" {
			title = markdownTitle(body)
		}
		return title, string(body), nil
	default:
		return "", string(bytes.TrimPrefix(data, utf8BOM)), nil
	}
}

// frontMatter splits a leading YAML front-matter block ("---" lines) from
// markdown and returns its title: line, if any.
func frontMatter(data []byte) (title string, body []byte) {
	first, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok || string(bytes.TrimRight(first, " \t\r")) != "---" {
		return "", data
	}
	off := len(first) + 1
	for len(rest) > 0 {
		line, next, _ := bytes.Cut(rest, []byte("\n"))
		off += len(line) + 1
		l := strings.TrimRight(string(line), " \t\r")
		if l == "---" || l == "..." {
			if off > len(data) {
				off = len(data)
			}
			return title, data[off:]
		}
		if v, ok := strings.CutPrefix(l, "title:"); ok && title == "" {
			title = strings.TrimSpace(v)
			if len(title) >= 2 && (title[0] == '"' || title[0] == '\'') && title[len(title)-1] == title[0] {
				title = title[1 : len(title)-1]
			}
		}
		rest = next
	}
	return "", data // no closing line: not front matter
}

// markdownTitle returns the first level-1 heading of markdown ("# Title" or
// a setext "Title\n===="), outside fenced code blocks.
func markdownTitle(md []byte) string {
	fence := ""
	prev := ""
	for len(md) > 0 {
		var line []byte
		line, md, _ = bytes.Cut(md, []byte("\n"))
		l := strings.TrimRight(string(line), " \t\r")
		t := strings.TrimLeft(l, " ")
		indent := len(l) - len(t)
		if fence != "" {
			if indent < 4 && strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				fence = ""
			}
			prev = ""
			continue
		}
		if indent < 4 && (strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")) {
			n := len(t) - len(strings.TrimLeft(t, t[:1]))
			fence = strings.Repeat(t[:1], n)
			prev = ""
			continue
		}
		if indent < 4 {
			if h, ok := strings.CutPrefix(t, "# "); ok {
				h = strings.TrimSpace(strings.TrimRight(h, "#"))
				if h != "" {
					return h
				}
			}
			if prev != "" && t != "" && strings.Trim(t, "=") == "" {
				return prev
			}
		}
		prev = strings.TrimSpace(l)
		if indent >= 4 {
			prev = ""
		}
	}
	return ""
}

// matchAny reports whether a slash path rel (base name base) matches one of
// the patterns. A pattern matches the whole relative path (path.Match
// syntax, plus "**" matching any number of directories), or, when it has no
// "/", the base name.
func matchAny(patterns []string, rel, base string) bool {
	for _, p := range patterns {
		if matchGlob(p, rel) {
			return true
		}
		if !strings.Contains(p, "/") {
			if ok, _ := path.Match(p, base); ok {
				return true
			}
		}
	}
	return false
}

func matchGlob(pattern, rel string) bool {
	if !strings.Contains(pattern, "**") {
		ok, _ := path.Match(pattern, rel)
		return ok
	}
	return matchSegs(strings.Split(pattern, "/"), strings.Split(rel, "/"))
}

func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegs(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
