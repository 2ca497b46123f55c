package loader

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
)

// site is an httptest server on 127.0.0.1 counting requests per path.
type site struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	agents []string
}

func newSite(t *testing.T, routes map[string]http.HandlerFunc) *site {
	t.Helper()
	s := &site{hits: map[string]int{}}
	mux := http.NewServeMux()
	for p, h := range routes {
		if p == "/" {
			p = "/{$}" // the root alone, not every path
		}
		mux.HandleFunc(p, h)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.agents = append(s.agents, r.UserAgent())
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) count(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[p]
}

// total counts the requests for pages (robots.txt aside).
func (s *site) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, v := range s.hits {
		if p != "/robots.txt" {
			n += v
		}
	}
	return n
}

func htmlPage(title, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><head><title>%s</title></head><body>%s</body></html>", title, body)
	}
}

func urlSource(cfg URLConfig) func(Options) (Loader, error) {
	return func(o Options) (Loader, error) { return NewURL(cfg, o) }
}

func TestURLLoaderSinglePage(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/":      htmlPage("Home", `<nav>menu</nav><h1>Welcome</h1><p>Hello <a href="/other">there</a>.</p>`),
		"/other": htmlPage("Other", "<p>other</p>"),
	})
	docs, skips, err := loadAll(t, urlSource(URLConfig{URL: s.URL}))
	require.NoError(t, err)
	assert.Empty(t, skips)
	require.Len(t, docs, 1)
	d := docs[0]
	assert.Equal(t, s.URL+"/", d.Key)
	assert.Equal(t, s.URL+"/", d.URI)
	assert.Equal(t, "Home", d.Title)
	assert.Equal(t, "# Welcome\n\nHello there.", d.Text)
	assert.Equal(t, map[string]string{"content_type": "text/html", "format": "markdown", "size": d.Metadata["size"]}, d.Metadata)
	assert.Equal(t, 0, s.count("/other"), "one page: links not followed")
	assert.Equal(t, []string{DefaultUserAgent}, s.agents)
	assert.Contains(t, DefaultUserAgent, "MiniRAG")
}

func TestURLLoaderTextAndMarkdown(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/notes.txt": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=iso-8859-1")
			w.Write([]byte("caf\xe9\n"))
		},
		"/doc.md": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/markdown")
			w.Write([]byte("# Doc Title\n\nbody\n"))
		},
	})
	docs, _, err := loadAll(t, urlSource(URLConfig{URL: s.URL + "/notes.txt"}))
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, "café\n", docs[0].Text)
	assert.Equal(t, "notes.txt", docs[0].Title)
	assert.Equal(t, "text", docs[0].Metadata["format"])

	docs, _, err = loadAll(t, urlSource(URLConfig{URL: s.URL + "/doc.md"}))
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, "Doc Title", docs[0].Title)
	assert.Equal(t, "markdown", docs[0].Metadata["format"])
}

func TestURLLoaderCrawl(t *testing.T) {
	other := newSite(t, map[string]http.HandlerFunc{"/": htmlPage("Other host", "x")})
	s := newSite(t, map[string]http.HandlerFunc{
		"/": htmlPage("Root", `<h1>Root</h1>
			<a href="/a">a</a> <a href="b">b</a> <a href="/a#section">a again</a>
			<a href="#top">self</a> <a href="`+other.URL+`/">off host</a>
			<a href="mailto:x@example.com">mail</a> <a href="javascript:void(0)">js</a>
			<a href="/logo.png">logo</a> <a href="/data.bin">data</a>`),
		"/a":        htmlPage("A", `<a href="/c">c</a> <a href="/">root</a>`),
		"/b":        htmlPage("B", `<a href="/c">c</a> <a href="/missing">missing</a>`),
		"/c":        htmlPage("C", `<a href="/d">d</a>`),
		"/d":        htmlPage("D", `end`),
		"/logo.png": func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Type", "image/png") },
		"/data.bin": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0, 1, 2})
		},
	})

	cases := []struct {
		depth, pages int
		want         []string
	}{
		{1, 100, []string{"/", "/a", "/b"}},
		{2, 100, []string{"/", "/a", "/b", "/c"}},
		{0, 100, []string{"/", "/a", "/b", "/c", "/d"}}, // DefaultMaxDepth 3
		{5, 3, []string{"/", "/a", "/b"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("depth%d_pages%d", c.depth, c.pages), func(t *testing.T) {
			s.reset()
			docs, skips, err := loadAll(t, urlSource(URLConfig{URL: s.URL, MaxDepth: c.depth, MaxPages: c.pages}))
			require.NoError(t, err)
			var want []string
			for _, p := range c.want {
				want = append(want, s.URL+p)
			}
			if c.want[0] == "/" {
				want[0] = s.URL + "/"
			}
			assert.Equal(t, want, keys(docs))
			assert.Equal(t, 1, s.count("/"), "fragment and self links deduplicated")
			assert.Equal(t, 0, s.count("/logo.png"), "image links not requested")
			assert.Equal(t, 0, other.total(), "off-host links ignored")
			sm := skipMap(skips)
			if c.pages > 3 {
				assert.Equal(t, `unsupported content type "application/octet-stream"`, sm[s.URL+"/data.bin"])
			}
			if c.pages > 3 && (c.depth >= 2 || c.depth == 0) {
				assert.Equal(t, "HTTP status 404 Not Found", sm[s.URL+"/missing"])
			}
			assert.LessOrEqual(t, s.total(), c.pages)
		})
	}
}

func (s *site) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits = map[string]int{}
	s.agents = nil
}

func TestURLLoaderMaxPagesBoundsRequests(t *testing.T) {
	// Every page links to ten new pages: the crawl must stop at MaxPages.
	s := newSite(t, map[string]http.HandlerFunc{
		"/p/": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			for i := range 10 {
				fmt.Fprintf(w, `<a href="%s/%d">x</a>`, strings.TrimSuffix(r.URL.Path, "/"), i)
			}
		},
	})
	docs, _, err := loadAll(t, urlSource(URLConfig{URL: s.URL + "/p/", MaxPages: 7, MaxDepth: 10}))
	require.NoError(t, err)
	assert.Len(t, docs, 7)
	assert.Equal(t, 7, s.total())
}

func TestURLLoaderRedirects(t *testing.T) {
	other := newSite(t, map[string]http.HandlerFunc{"/": htmlPage("Elsewhere", "elsewhere")})
	s := newSite(t, map[string]http.HandlerFunc{
		"/loop1": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", http.StatusFound) },
		"/loop2": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop1", http.StatusFound) },
		"/moved": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/target", http.StatusMovedPermanently)
		},
		"/away":   func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other.URL+"/", http.StatusFound) },
		"/target": htmlPage("Target", "target"),
		"/": htmlPage("Start", `<a href="/loop1">loop</a> <a href="/moved">moved</a>
			<a href="/target">target again</a> <a href="/away">away</a>`),
	})

	// A redirect loop as the start page: an error naming the URL, bounded.
	_, _, err := loadAll(t, urlSource(URLConfig{URL: s.URL + "/loop1"}))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "loader: url "+s.URL+"/loop1")
	assert.Contains(t, err.Error(), "too many redirects")
	assert.Equal(t, DefaultMaxRedirects+1, s.count("/loop1")+s.count("/loop2"))

	// A single page may be redirected to another host.
	docs, _, err := loadAll(t, urlSource(URLConfig{URL: s.URL + "/away"}))
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, other.URL+"/", docs[0].Key, "key is the final URL")

	// In a crawl: the loop and the off-host redirect are skipped, the
	// redirected page is loaded once under its final URL.
	s.reset()
	before := other.total()
	docs, skips, err := loadAll(t, urlSource(URLConfig{URL: s.URL + "/", MaxPages: 10}))
	require.NoError(t, err)
	assert.Equal(t, []string{s.URL + "/", s.URL + "/target"}, keys(docs))
	sm := skipMap(skips)
	assert.Contains(t, sm[s.URL+"/loop1"], "too many redirects")
	assert.Contains(t, sm[s.URL+"/away"], "redirect to another host")
	assert.Equal(t, before, other.total(), "never requested off host")
	assert.Equal(t, 1, s.count("/target"))
}

func TestURLLoaderLimitsAndTypes(t *testing.T) {
	big := strings.Repeat("x", 5000)
	s := newSite(t, map[string]http.HandlerFunc{
		"/": htmlPage("Start", `<a href="/big">big</a> <a href="/big-chunked">chunked</a>
			<a href="/image">image</a> <a href="/json">json</a> <a href="/ok">ok</a> <a href="/nul">nul</a>`),
		"/big": htmlPage("Big", big),
		"/big-chunked": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			for range 10 {
				w.Write([]byte(big[:500]))
				w.(http.Flusher).Flush() // no Content-Length: the read limit must catch it
			}
		},
		"/image": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write([]byte{0xff, 0xd8, 0xff})
		},
		"/json": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{}`))
		},
		"/nul": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("a\x00b"))
		},
		"/ok": htmlPage("OK", "fine"),
	})
	docs, skips, err := loadAll(t, urlSource(URLConfig{URL: s.URL, MaxPages: 10, MaxPageBytes: 1000}))
	require.NoError(t, err)
	assert.Equal(t, []string{s.URL + "/", s.URL + "/ok"}, keys(docs))
	sm := skipMap(skips)
	assert.Contains(t, sm[s.URL+"/big"], "too large (")
	assert.Equal(t, "too large (more than 1000 bytes)", sm[s.URL+"/big-chunked"])
	assert.Equal(t, `unsupported content type "image/jpeg"`, sm[s.URL+"/image"])
	assert.Equal(t, `unsupported content type "application/json"`, sm[s.URL+"/json"])
	assert.Contains(t, sm[s.URL+"/nul"], "binary")

	// The same limits on the start page are errors naming it.
	for _, p := range []string{"/big-chunked", "/image"} {
		_, _, err := loadAll(t, urlSource(URLConfig{URL: s.URL + p, MaxPageBytes: 1000}))
		require.Error(t, err, p)
		assert.ErrorIs(t, err, ErrUnavailable)
		assert.Contains(t, err.Error(), s.URL+p)
	}
}

func TestURLLoaderStatusError(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/boom": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) },
	})
	_, _, err := loadAll(t, urlSource(URLConfig{URL: s.URL + "/boom"}))
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, "loader: url "+s.URL+"/boom: HTTP status 500 Internal Server Error", err.Error())
}

// blockUntilDone is a handler that never answers: it waits for the client
// to give up (or the server to close).
func blockUntilDone(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func TestURLLoaderTimeout(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/hang": blockUntilDone,
		"/slow-body": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<p>start"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		},
		"/": htmlPage("Start", `<a href="/slow-body">slow</a><a href="/hang">hang</a>`),
	})
	_, _, err := loadAll(t, urlSource(URLConfig{URL: s.URL + "/hang", TimeoutSeconds: 1}))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, "loader: url "+s.URL+"/hang: no answer within 1s", err.Error())

	// In a crawl, a page that stops sending its body is skipped.
	docs, skips, err := loadAll(t, urlSource(URLConfig{URL: s.URL, TimeoutSeconds: 1, MaxPages: 5}))
	require.NoError(t, err)
	assert.Equal(t, []string{s.URL + "/"}, keys(docs))
	sm := skipMap(skips)
	assert.Equal(t, "no answer within 1s", sm[s.URL+"/slow-body"])
	assert.Equal(t, "no answer within 1s", sm[s.URL+"/hang"])
}

func TestURLLoaderContextCanceled(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{"/": blockUntilDone})
	l, err := NewURL(URLConfig{URL: s.URL}, Options{AllowPrivateNetworks: true})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for s.total() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err = l.Load(ctx, func(Document) error { return nil })
	assert.ErrorIs(t, err, context.Canceled)

	err = l.Load(ctx, func(Document) error { return nil })
	assert.ErrorIs(t, err, context.Canceled, "already canceled")
}

func TestURLLoaderEmitErrorStops(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/":  htmlPage("Start", `<a href="/a">a</a>`),
		"/a": htmlPage("A", "a"),
	})
	l, err := NewURL(URLConfig{URL: s.URL, MaxPages: 5}, Options{AllowPrivateNetworks: true})
	require.NoError(t, err)
	stop := errors.New("stop")
	err = l.Load(context.Background(), func(Document) error { return stop })
	assert.Same(t, stop, err)
	assert.Equal(t, 0, s.count("/a"))
}

func TestURLLoaderBlocksPrivateAddresses(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{"/": htmlPage("Internal", "secret")})
	port := s.Listener.Addr().String()
	port = port[strings.LastIndex(port, ":"):]
	// An IP literal, and a name resolving to loopback (caught by the dialer).
	for _, u := range []string{s.URL, "http://localhost" + port + "/"} {
		l, err := NewURL(URLConfig{URL: u}, Options{})
		require.NoError(t, err)
		err = l.Load(context.Background(), func(Document) error { t.Fatal("must not load"); return nil })
		require.Error(t, err, u)
		assert.ErrorIs(t, err, ErrBlockedAddress, u)
		assert.Contains(t, err.Error(), "loader: url "+u)
	}
	assert.Equal(t, 0, s.total(), "no request reached the server")

	// A caller's own client: IP literals are still refused.
	l, err := NewURL(URLConfig{URL: s.URL}, Options{HTTPClient: s.Client()})
	require.NoError(t, err)
	err = l.Load(context.Background(), func(Document) error { return nil })
	assert.ErrorIs(t, err, ErrBlockedAddress)
}

func TestURLLoaderRedirectToPrivateBlocked(t *testing.T) {
	// The redirect check refuses a loopback literal even when the dialer is
	// the caller's (Options.HTTPClient).
	l, err := NewURL(URLConfig{URL: "https://example.com/"}, Options{HTTPClient: &http.Client{}})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.2/x", nil)
	via := []*http.Request{httptest.NewRequest(http.MethodGet, "https://example.com/", nil)}
	assert.ErrorIs(t, l.checkRedirect(req, via), ErrBlockedAddress)
	req = httptest.NewRequest(http.MethodGet, "http://[::1]/x", nil)
	assert.ErrorIs(t, l.checkRedirect(req, via), ErrBlockedAddress)
	req = httptest.NewRequest(http.MethodGet, "https://example.org/x", nil)
	assert.NoError(t, l.checkRedirect(req, via))
	assert.Equal(t, DefaultUserAgent, req.Header.Get("User-Agent"))
}

func TestPublicAddress(t *testing.T) {
	cases := map[string]bool{
		"8.8.8.8":                true,
		"1.1.1.1":                true,
		"2606:4700:4700::1111":   true,
		"127.0.0.1":              false,
		"10.1.2.3":               false,
		"172.16.0.1":             false,
		"192.168.1.1":            false,
		"169.254.169.254":        false, // cloud metadata
		"100.64.0.1":             false,
		"0.0.0.0":                false,
		"255.255.255.255":        false,
		"224.0.0.1":              false,
		"::1":                    false,
		"::":                     false,
		"fe80::1":                false,
		"fd00::1":                false,
		"::ffff:127.0.0.1":       false,
		"::ffff:8.8.8.8":         true,
		"64:ff9b::7f00:1":        false, // NAT64 of 127.0.0.1
		"64:ff9b::808:808":       true,
		"2002:7f00:1::":          false, // 6to4 of 127.0.0.1
		"2001:db8::1":            false,
		"198.18.0.1":             false,
		"203.0.113.9":            false,
		"2001:0:4136:e378::1":    false, // Teredo
		"ff02::1":                false,
		"fec0::1":                false,
		"93.184.216.34":          true,
		"2a00:1450:4001:80e::20": true,
	}
	for s, want := range cases {
		assert.Equal(t, want, PublicAddress(netip.MustParseAddr(s)), s)
	}
}

func TestURLLoaderValidation(t *testing.T) {
	_, err := NewURL(URLConfig{URL: "ftp://x", MaxPages: -1, MaxDepth: -1, MaxPageBytes: -1, TimeoutSeconds: -1}, Options{})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	var ve *record.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Fields, 5)
	assert.Equal(t, "config.url", ve.Fields[0].Field)

	_, err = NewURL(URLConfig{URL: "/relative"}, Options{})
	assert.ErrorIs(t, err, record.ErrInvalidInput)
}

func TestNormURL(t *testing.T) {
	cases := map[string]string{
		"HTTP://Example.COM":           "http://example.com/",
		"http://example.com:80/a#frag": "http://example.com/a",
		"https://example.com:443/?q=1": "https://example.com/?q=1",
		"https://example.com:8443/a":   "https://example.com:8443/a",
		"http://user:pw@example.com/x": "http://example.com/x",
		"http://[::1]:80/":             "http://[::1]/",
		"http://[::1]:8080/":           "http://[::1]:8080/",
		"http://example.com/a?":        "http://example.com/a",
	}
	for in, want := range cases {
		u, err := url.Parse(in)
		require.NoError(t, err)
		assert.Equal(t, want, normURL(u).String(), in)
	}
}

func TestURLLoaderUserAgentAndNoRedirects(t *testing.T) {
	s := newSite(t, map[string]http.HandlerFunc{
		"/moved":  func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/target", http.StatusFound) },
		"/target": htmlPage("Target", "t"),
	})
	l, err := NewURL(URLConfig{URL: s.URL + "/moved"}, Options{AllowPrivateNetworks: true, UserAgent: "HostBot/2", MaxRedirects: -1})
	require.NoError(t, err)
	err = l.Load(context.Background(), func(Document) error { return nil })
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, "loader: url "+s.URL+"/moved: HTTP status 302 Found", err.Error())
	assert.Equal(t, 0, s.count("/target"))

	l, err = NewURL(URLConfig{URL: s.URL + "/moved"}, Options{AllowPrivateNetworks: true, UserAgent: "HostBot/2"})
	require.NoError(t, err)
	require.NoError(t, l.Load(context.Background(), func(Document) error { return nil }))
	assert.Equal(t, []string{"HostBot/2", "HostBot/2", "HostBot/2"}, s.agents, "kept across redirects")
}
