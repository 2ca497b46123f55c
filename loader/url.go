package loader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/minirag/minirag/record"
)

// URLLoader yields the documents of a url source: one page, or a crawl.
//
// With MaxPages 0 or 1 it loads the start URL alone. With more, it crawls
// breadth-first from the start page, following <a href> links that stay on
// the start page's host (after the start page's own redirects: a crawl of
// http://example.com that lands on https://www.example.com crawls
// www.example.com), up to MaxDepth links away from the start page (zero
// means DefaultMaxDepth) and MaxPages requests in all. URLs are compared
// without their fragment, with scheme and host lower-cased and default ports
// dropped; each is requested once. Links to common non-text files (images,
// archives, PDFs, scripts, style sheets…) are not requested. A crawl obeys
// the host's robots.txt (RFC 9309 rules for the "MiniRAG" agent, or else
// "*"; Crawl-delay is not honoured) unless Options.IgnoreRobots: links it
// disallows are reported as skipped. The start page itself, named by the
// source, is always requested, and a single-page source does not read
// robots.txt.
//
// Every request carries a User-Agent naming MiniRAG (Options.UserAgent), is
// bounded by TimeoutSeconds (headers and body together) and follows at most
// Options.MaxRedirects redirects, never to another host during a crawl. A
// response must be 2xx, text/html, application/xhtml+xml, text/plain,
// text/markdown or the media type of a registered Format (or a generic
// binary type with a registered extension in the URL; sniffed when the
// header is missing), and at most MaxPageBytes long (only that much plus
// one byte is ever read). HTML is decoded from its declared charset and
// turned into text by HTMLToText; a registered format is parsed as for
// files. Crawls follow links to files of registered formats.
//
// The start page failing (no answer, an error status, a refused address, an
// unsupported or oversized response) is an error naming its URL; any other
// page failing is reported to Options.OnSkip and the crawl goes on. Each
// document's Key and URI are the page's final URL (after redirects).
type URLLoader struct {
	cfg          URLConfig
	opts         Options
	start        *url.URL
	client       *http.Client
	transport    *http.Transport // ours, to close idle connections; nil if the caller's
	maxPages     int
	maxDepth     int
	maxBytes     int64
	timeout      time.Duration
	maxRedirects int
}

// DefaultMaxDepth is the crawl depth used when URLConfig.MaxDepth is zero and
// MaxPages asks for a crawl.
const DefaultMaxDepth = 3

// NewURL returns the loader of a url source. A bad config gives an error
// wrapping record.ErrInvalidInput naming the field.
func NewURL(cfg URLConfig, opts Options) (*URLLoader, error) {
	var v record.ValidationError
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	switch {
	case strings.TrimSpace(cfg.URL) == "":
		v.Add("config.url", "is required")
	case err != nil || u.Host == "" || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")):
		v.Add("config.url", "must be an absolute http or https URL")
	}
	if cfg.MaxPages < 0 || cfg.MaxPages > MaxCrawlPages {
		v.Add("config.max_pages", fmt.Sprintf("must be between 0 and %d", MaxCrawlPages))
	}
	if cfg.MaxDepth < 0 {
		v.Add("config.max_depth", "must not be negative")
	}
	if cfg.MaxPageBytes < 0 {
		v.Add("config.max_page_bytes", "must not be negative")
	}
	if cfg.TimeoutSeconds < 0 {
		v.Add("config.timeout_seconds", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	l := &URLLoader{
		cfg:          cfg,
		opts:         opts,
		start:        normURL(u),
		maxPages:     max(cfg.MaxPages, 1),
		maxDepth:     cfg.MaxDepth,
		maxBytes:     cfg.MaxPageBytes,
		timeout:      time.Duration(cfg.TimeoutSeconds) * time.Second,
		maxRedirects: opts.MaxRedirects,
	}
	if l.maxDepth == 0 {
		l.maxDepth = DefaultMaxDepth
	}
	if l.maxBytes == 0 {
		l.maxBytes = DefaultMaxPageBytes
	}
	if l.timeout == 0 {
		l.timeout = DefaultTimeoutSeconds * time.Second
	}
	if l.maxRedirects == 0 {
		l.maxRedirects = DefaultMaxRedirects
	}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		l.client = &c
	} else {
		l.transport = newTransport(opts.AllowPrivateNetworks)
		l.client = &http.Client{Transport: l.transport}
	}
	l.client.CheckRedirect = l.checkRedirect
	return l, nil
}

type crawlHostKey struct{}

var (
	errTooManyRedirects = errors.New("too many redirects")
	errOffHost          = errors.New("redirect to another host")
)

func (l *URLLoader) checkRedirect(req *http.Request, via []*http.Request) error {
	if l.maxRedirects < 0 {
		return http.ErrUseLastResponse
	}
	if len(via) > l.maxRedirects {
		return fmt.Errorf("%w (stopped after %d)", errTooManyRedirects, l.maxRedirects)
	}
	if s := strings.ToLower(req.URL.Scheme); s != "http" && s != "https" {
		return fmt.Errorf("redirect to a %s URL", s)
	}
	if host, ok := req.Context().Value(crawlHostKey{}).(string); ok && normURL(req.URL).Host != host {
		return fmt.Errorf("%w (%s)", errOffHost, req.URL.Host)
	}
	if !l.opts.AllowPrivateNetworks && blockedLiteral(req.URL) {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, req.URL.Hostname())
	}
	if ua := l.userAgent(); req.Header.Get("User-Agent") != ua {
		req.Header.Set("User-Agent", ua)
	}
	return nil
}

func (l *URLLoader) userAgent() string {
	if l.opts.UserAgent != "" {
		return l.opts.UserAgent
	}
	return DefaultUserAgent
}

// blockedLiteral reports whether u's host is an IP literal that is not
// public (the check a caller's own http.Client still gets).
func blockedLiteral(u *url.URL) bool {
	ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]"))
	return err == nil && !PublicAddress(ip)
}

// normURL returns a copy of u without fragment or user info, scheme and host
// lower-cased, default port dropped, and an empty path made "/".
func normURL(u *url.URL) *url.URL {
	n := *u
	n.User = nil
	n.Fragment, n.RawFragment = "", ""
	n.Scheme = strings.ToLower(n.Scheme)
	host := strings.ToLower(n.Host)
	if h, p, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		if (n.Scheme == "http" && p == "80") || (n.Scheme == "https" && p == "443") || p == "" {
			host = h
		}
	} else if i := strings.LastIndex(host, "]:"); i >= 0 {
		p := host[i+2:]
		if (n.Scheme == "http" && p == "80") || (n.Scheme == "https" && p == "443") || p == "" {
			host = host[:i+1]
		}
	}
	n.Host = host
	if n.Path == "" && n.Opaque == "" {
		n.Path, n.RawPath = "/", ""
	}
	n.ForceQuery = false
	return &n
}

// skippedExt lists link extensions a crawl does not request.
var skippedExt = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".svg": true,
	".ico": true, ".bmp": true, ".tif": true, ".tiff": true, ".avif": true,
	".pdf": true, ".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true,
	".7z": true, ".rar": true, ".tar": true, ".exe": true, ".dmg": true, ".iso": true,
	".mp3": true, ".mp4": true, ".m4a": true, ".wav": true, ".ogg": true, ".webm": true,
	".avi": true, ".mov": true, ".woff": true, ".woff2": true, ".ttf": true, ".otf": true,
	".css": true, ".js": true, ".mjs": true, ".wasm": true, ".apk": true, ".deb": true, ".rpm": true,
}

// page is one fetched response.
type page struct {
	final       *url.URL
	contentType string // the header, with parameters
	kind        fileKind
	format      *Format // a registered format, instead of kind
	data        []byte
}

// fetchError is a page that could not be loaded: reason is what OnSkip
// gets; err the sentinel chain a failing start page returns.
type fetchError struct {
	reason string
	err    error
}

func (e *fetchError) Error() string { return e.reason }
func (e *fetchError) Unwrap() error { return e.err }

type queued struct {
	u     *url.URL
	depth int
}

// Load emits the page, or the pages of the crawl, in breadth-first order.
func (l *URLLoader) Load(ctx context.Context, emit func(Document) error) error {
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if l.transport != nil {
		defer l.transport.CloseIdleConnections()
	}
	crawl := l.maxPages > 1
	seen := map[string]bool{l.start.String(): true} // queued or loaded
	done := map[string]bool{}                       // loaded (final URLs)
	queue := []queued{{u: l.start}}
	host := ""
	var rules *robots // fetched with the first link to follow
	for fetched := 0; len(queue) > 0 && fetched < l.maxPages; {
		it := queue[0]
		queue = queue[1:]
		if done[it.u.String()] {
			continue // already loaded as the target of a redirect
		}
		first := fetched == 0
		fetched++
		rctx := ctx
		if crawl && !first {
			rctx = context.WithValue(ctx, crawlHostKey{}, host)
		}
		pg, err := l.fetch(rctx, it.u)
		if err != nil {
			if cerr := checkCtx(ctx); cerr != nil {
				return cerr
			}
			var fe *fetchError
			if first || !errors.As(err, &fe) {
				return fmt.Errorf("loader: url %s: %w", it.u, err)
			}
			l.opts.skip(it.u.String(), fe.reason)
			continue
		}
		final := normURL(pg.final)
		if first {
			host = final.Host
		}
		key := final.String()
		if done[key] {
			l.opts.logger().Debug("loader: duplicate after redirect", "url", it.u.String(), "final", key)
			continue
		}
		done[key], seen[key] = true, true
		doc, links, err := l.document(ctx, pg, final, crawl && it.depth < l.maxDepth)
		if err != nil {
			if first {
				return fmt.Errorf("loader: url %s: %w", it.u, err)
			}
			var fe *fetchError
			if errors.As(err, &fe) {
				l.opts.skip(key, fe.reason)
				continue
			}
			return err
		}
		for _, ln := range links {
			if fetched+len(queue) >= l.maxPages {
				break
			}
			if ln.Host != host || seen[ln.String()] {
				continue
			}
			seen[ln.String()] = true
			if rules == nil && !l.opts.IgnoreRobots {
				if rules, err = l.fetchRobots(ctx, final); err != nil {
					return err
				}
			}
			if ok, why := rules.allowed(ln); !ok {
				l.opts.skip(ln.String(), why)
				continue
			}
			queue = append(queue, queued{u: ln, depth: it.depth + 1})
		}
		if err := emit(doc); err != nil {
			return err
		}
	}
	return nil
}

// fetch requests u and reads its body within the limits.
func (l *URLLoader) fetch(ctx context.Context, u *url.URL) (*page, error) {
	if !l.opts.AllowPrivateNetworks && blockedLiteral(u) {
		return nil, &fetchError{reason: "address not allowed: " + u.Hostname(), err: ErrBlockedAddress}
	}
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &fetchError{reason: "bad request: " + err.Error(), err: ErrUnavailable}
	}
	req.Header.Set("User-Agent", l.userAgent())
	req.Header.Set("Accept", "text/html,application/xhtml+xml,text/markdown;q=0.9,text/plain;q=0.8,*/*;q=0.1")
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, l.transportError(rctx, err)
	}
	defer resp.Body.Close()
	defer io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &fetchError{reason: "HTTP status " + resp.Status, err: ErrUnavailable}
	}
	ct := resp.Header.Get("Content-Type")
	var kind fileKind
	var format *Format
	known := false
	if ct != "" {
		if f, ok := formatOfResponse(ct, resp.Request.URL); ok {
			format, known = &f, true
		} else if kind, known = kindOfMedia(ct); !known {
			mt, _, _ := mime.ParseMediaType(ct)
			if mt == "" {
				mt = ct
			}
			return nil, &fetchError{reason: fmt.Sprintf("unsupported content type %q", mt), err: ErrUnavailable}
		}
	}
	if resp.ContentLength > l.maxBytes {
		return nil, &fetchError{reason: fmt.Sprintf("too large (%d bytes, limit %d)", resp.ContentLength, l.maxBytes), err: ErrUnavailable}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, l.maxBytes+1))
	if err != nil {
		return nil, l.transportError(rctx, err)
	}
	if int64(len(data)) > l.maxBytes {
		return nil, &fetchError{reason: fmt.Sprintf("too large (more than %d bytes)", l.maxBytes), err: ErrUnavailable}
	}
	if !known {
		if f, ok := formatBySniff(data[:min(len(data), sniffBytes)]); ok {
			return &page{final: resp.Request.URL, contentType: f.ContentType, format: &f, data: data}, nil
		}
		ct = http.DetectContentType(data)
		if kind, known = kindOfMedia(ct); !known {
			mt, _, _ := mime.ParseMediaType(ct)
			return nil, &fetchError{reason: fmt.Sprintf("unsupported content type %q (sniffed)", mt), err: ErrUnavailable}
		}
	}
	return &page{final: resp.Request.URL, contentType: ct, kind: kind, format: format, data: data}, nil
}

// transportError classifies a request or body-read failure.
func (l *URLLoader) transportError(rctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrBlockedAddress):
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &fetchError{reason: "address not allowed (" + err.Error() + ")", err: ErrBlockedAddress}
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return &fetchError{reason: fmt.Sprintf("no answer within %s", l.timeout), err: ErrUnavailable}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &fetchError{reason: err.Error(), err: ErrUnavailable}
}

// kindOfMedia maps a Content-Type to a supported kind.
func kindOfMedia(ct string) (fileKind, bool) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	}
	switch mt {
	case "text/html", "application/xhtml+xml":
		return kindHTML, true
	case "text/markdown", "text/x-markdown":
		return kindMarkdown, true
	case "text/plain":
		return kindText, true
	}
	return fileKind{}, false
}

// document turns a page into a Document and, if follow, its same-scheme
// links (normalized, unfiltered by host).
func (l *URLLoader) document(ctx context.Context, pg *page, final *url.URL, follow bool) (Document, []*url.URL, error) {
	var title, text string
	var links []*url.URL
	if pg.format != nil {
		title, text, meta, reason := parseWith(ctx, *pg.format, pg.data, l.opts.Limits)
		if reason != "" {
			if err := checkCtx(ctx); err != nil {
				return Document{}, nil, err
			}
			return Document{}, nil, &fetchError{reason: reason, err: ErrUnavailable}
		}
		if title == "" {
			title = path.Base(final.Path)
		}
		meta["size"] = strconv.Itoa(len(pg.data))
		return Document{Key: final.String(), Title: title, URI: final.String(), Text: text, Metadata: meta}, nil, nil
	}
	switch pg.kind {
	case kindHTML:
		if bytes.IndexByte(pg.data[:min(len(pg.data), sniffBytes)], 0) >= 0 {
			return Document{}, nil, &fetchError{reason: "binary (NUL bytes in the first 8 KiB)", err: ErrUnavailable}
		}
		r, err := charset.NewReader(bytes.NewReader(pg.data), pg.contentType)
		if err != nil {
			return Document{}, nil, &fetchError{reason: "unknown charset: " + err.Error(), err: ErrUnavailable}
		}
		root, err := html.Parse(r)
		if err != nil {
			return Document{}, nil, &fetchError{reason: "unreadable HTML: " + err.Error(), err: ErrUnavailable}
		}
		title, text = renderHTML(root)
		if follow {
			links = extractLinks(root, final)
		}
	default:
		data := pg.data
		if _, params, err := mime.ParseMediaType(pg.contentType); err == nil {
			if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
				enc, err := htmlindex.Get(cs)
				if err != nil {
					return Document{}, nil, &fetchError{reason: fmt.Sprintf("unknown charset %q", cs), err: ErrUnavailable}
				}
				if data, err = enc.NewDecoder().Bytes(data); err != nil {
					return Document{}, nil, &fetchError{reason: "undecodable text: " + err.Error(), err: ErrUnavailable}
				}
			}
		}
		if reason := binaryReason(data, true); reason != "" {
			return Document{}, nil, &fetchError{reason: reason, err: ErrUnavailable}
		}
		var err error
		if title, text, err = extract(data, pg.kind, ""); err != nil {
			return Document{}, nil, &fetchError{reason: err.Error(), err: ErrUnavailable}
		}
	}
	if title == "" {
		title = path.Base(final.Path)
		if title == "/" || title == "." || title == "" {
			title = final.Host
		}
	}
	mt, _, _ := mime.ParseMediaType(pg.contentType)
	return Document{
		Key:   final.String(),
		Title: title,
		URI:   final.String(),
		Text:  text,
		Metadata: map[string]string{
			"content_type": mt,
			"format":       pg.kind.format,
			"size":         strconv.Itoa(len(pg.data)),
		},
	}, links, nil
}

// extractLinks returns the http(s) links of a parsed page, resolved against
// its <base href> or its URL, normalized, without those to skippedExt files.
func extractLinks(root *html.Node, pageURL *url.URL) []*url.URL {
	base := pageURL
	var hrefs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Base:
				if h := attr(n, "href"); h != "" && base == pageURL {
					if b, err := pageURL.Parse(strings.TrimSpace(h)); err == nil {
						base = b
					}
				}
			case atom.A, atom.Area:
				if h := attr(n, "href"); h != "" {
					hrefs = append(hrefs, h)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	var out []*url.URL
	for _, h := range hrefs {
		u, err := base.Parse(strings.TrimSpace(h))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		if ext := strings.ToLower(path.Ext(u.Path)); skippedExt[ext] && !registeredExt(ext) {
			continue
		}
		out = append(out, normURL(u))
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

// formatOfResponse returns the registered format of a response: by its
// media type, or, for a generic binary type, by the extension of its URL.
func formatOfResponse(ct string, u *url.URL) (Format, bool) {
	if f, ok := formatByMedia(ct); ok {
		return f, true
	}
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/octet-stream", "binary/octet-stream", "application/zip", "application/x-zip-compressed", "application/download":
		if u != nil {
			return formatByExt(u.Path)
		}
	}
	return Format{}, false
}

// registeredExt reports whether a registered format reads files with this
// extension.
func registeredExt(ext string) bool {
	_, ok := formatByExt("x" + ext)
	return ok
}
