package loader

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/minirag/minirag/record"
)

// TextConfig configures a source of type text: the content is inline.
type TextConfig struct {
	// Content is the text itself (required, at most MaxTextBytes).
	Content string `json:"content"`
	// Title is the document's title; empty means the source's name.
	Title string `json:"title,omitempty"`
}

// MaxTextBytes bounds TextConfig.Content.
const MaxTextBytes = 10 << 20

// FileConfig configures a source of type file: one file or a directory tree.
type FileConfig struct {
	// Path is a file or a directory (required).
	Path string `json:"path"`
	// Include lists glob patterns (path.Match syntax plus "**" for any
	// number of directories, matched against the slash path relative to
	// Path, and, for a pattern without "/", against the base name); empty
	// means every supported file.
	Include []string `json:"include,omitempty"`
	// Exclude lists glob patterns (as Include) of files or directories to
	// leave out; an excluded directory is not walked.
	Exclude []string `json:"exclude,omitempty"`
	// MaxFileBytes skips larger files; zero means DefaultMaxFileBytes.
	MaxFileBytes int64 `json:"max_file_bytes,omitempty"`
	// Records says how CSV, TSV and JSON Lines files become documents
	// (one per row); nil means every column is text and rows are keyed
	// by number. See RecordsConfig.
	Records *RecordsConfig `json:"records,omitempty"`
}

// DefaultMaxFileBytes is the default FileConfig.MaxFileBytes.
const DefaultMaxFileBytes = 20 << 20

// URLConfig configures a source of type url: one page, or a crawl of the
// same host bounded by MaxPages and MaxDepth.
type URLConfig struct {
	// URL is the start page, http or https (required).
	URL string `json:"url"`
	// MaxPages bounds a crawl; 0 or 1 loads URL alone.
	MaxPages int `json:"max_pages,omitempty"`
	// MaxDepth bounds how many links a crawl follows from URL; zero means
	// DefaultMaxDepth.
	MaxDepth int `json:"max_depth,omitempty"`
	// MaxPageBytes skips larger pages; zero means DefaultMaxPageBytes.
	MaxPageBytes int64 `json:"max_page_bytes,omitempty"`
	// TimeoutSeconds bounds each request; zero means DefaultTimeoutSeconds.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// Defaults and bounds of URLConfig.
const (
	DefaultMaxPageBytes   = 10 << 20
	DefaultTimeoutSeconds = 30
	MaxCrawlPages         = 10000
)

// ParseConfig decodes and validates a source configuration of type t. It
// returns a *TextConfig, *FileConfig or *URLConfig. Unknown fields and bad
// values give an error wrapping record.ErrInvalidInput (a
// *record.ValidationError) naming each field as "config.<name>".
func ParseConfig(t record.SourceType, raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, record.Invalid("config", "is required")
	}
	var v record.ValidationError
	switch t {
	case record.SourceText:
		var c TextConfig
		if err := decodeStrict(raw, &c); err != nil {
			return nil, err
		}
		if strings.TrimSpace(c.Content) == "" {
			v.Add("config.content", "is required")
		} else if len(c.Content) > MaxTextBytes {
			v.Add("config.content", fmt.Sprintf("is larger than %d bytes", MaxTextBytes))
		}
		return &c, v.Err()
	case record.SourceFile:
		var c FileConfig
		if err := decodeStrict(raw, &c); err != nil {
			return nil, err
		}
		if strings.TrimSpace(c.Path) == "" {
			v.Add("config.path", "is required")
		}
		for i, p := range c.Include {
			if _, err := path.Match(p, ""); err != nil {
				v.Add(fmt.Sprintf("config.include[%d]", i), "is not a valid glob pattern")
			}
		}
		for i, p := range c.Exclude {
			if _, err := path.Match(p, ""); err != nil {
				v.Add(fmt.Sprintf("config.exclude[%d]", i), "is not a valid glob pattern")
			}
		}
		if c.MaxFileBytes < 0 {
			v.Add("config.max_file_bytes", "must not be negative")
		}
		c.Records.validate(&v, "config.records")
		return &c, v.Err()
	case record.SourceURL:
		var c URLConfig
		if err := decodeStrict(raw, &c); err != nil {
			return nil, err
		}
		u, err := url.Parse(c.URL)
		switch {
		case strings.TrimSpace(c.URL) == "":
			v.Add("config.url", "is required")
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			v.Add("config.url", "must be an absolute http or https URL")
		}
		if c.MaxPages < 0 || c.MaxPages > MaxCrawlPages {
			v.Add("config.max_pages", fmt.Sprintf("must be between 0 and %d", MaxCrawlPages))
		}
		if c.MaxDepth < 0 {
			v.Add("config.max_depth", "must not be negative")
		}
		if c.MaxPageBytes < 0 {
			v.Add("config.max_page_bytes", "must not be negative")
		}
		if c.TimeoutSeconds < 0 {
			v.Add("config.timeout_seconds", "must not be negative")
		}
		return &c, v.Err()
	default:
		return nil, record.Invalid("type", fmt.Sprintf("must be one of text, file, url (got %q)", t))
	}
}

func decodeStrict(raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		msg := "is not valid JSON for this source type"
		var ute *json.UnmarshalTypeError
		if ok := asTypeError(err, &ute); ok && ute.Field != "" {
			return record.Invalid("config."+ute.Field, "has the wrong type")
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return record.Invalid("config."+strings.Trim(f, `"`), "is not a known field")
		}
		return record.Invalid("config", msg)
	}
	// One JSON value, nothing after it but white space: a second object
	// ({"content":"x"} {"content":"y"}) is an error, not silently dropped.
	if _, err := dec.Token(); err != io.EOF {
		return record.Invalid("config", "must be a single JSON object (data follows it)")
	}
	return nil
}

func asTypeError(err error, target **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*target = t
	}
	return ok
}
