package loader

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRobots(t *testing.T) {
	txt := []byte(`# comment
User-agent: Googlebot
Disallow: /

User-agent: *
Disallow: /private
Allow: /private/open
Disallow: /*.json$
Disallow: /search?*q=

User-agent: MiniRAG
User-agent: other
Disallow: /mini-only
Allow: /mini-only/ok   # trailing comment
Disallow:
`)
	r := parseRobots(txt, robotsAgent)
	cases := map[string]bool{
		"/":                true,
		"/private":         true, // the MiniRAG group replaces the * group
		"/mini-only":       false,
		"/mini-only/x":     false,
		"/mini-only/ok":    true,
		"/mini-only/ok/ab": true,
	}
	for p, want := range cases {
		ok, _ := r.allowed(&url.URL{Path: p})
		assert.Equal(t, want, ok, p)
	}

	star := parseRobots(txt, "somebot")
	cases = map[string]bool{
		"/":                 true,
		"/private":          false,
		"/private/x":        false,
		"/private/open":     true,
		"/private/open/doc": true,
		"/data.json":        false,
		"/data.json/x":      true,
		"/search?a=1&q=go":  false,
		"/search?a=1":       true,
		"/mini-only":        true,
	}
	for p, want := range cases {
		u, err := url.Parse(p)
		require.NoError(t, err)
		ok, why := star.allowed(u)
		assert.Equal(t, want, ok, p)
		if !ok {
			assert.Equal(t, "disallowed by robots.txt", why)
		}
	}
}

func TestRobotsMatch(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"/a", "/abc", true},
		{"/a$", "/a", true},
		{"/a$", "/ab", false},
		{"/*.php", "/x/y.php?z", true},
		{"/*.php$", "/x/y.php?z", false},
		{"/*.php$", "/x/y.php", true},
		{"/a*b*c", "/a-x-b-y-c-z", true},
		{"/a*b*c", "/a-x-c-y-b", false},
		{"*", "/anything", true},
		{"/a*$", "/a/b", true},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, robotsMatch(c.pattern, c.path), "%s ~ %s", c.pattern, c.path)
	}
}

func TestURLLoaderRobots(t *testing.T) {
	var robotsStatus atomic.Int32
	robotsStatus.Store(http.StatusOK)
	s := newSite(t, map[string]http.HandlerFunc{
		"/robots.txt": func(w http.ResponseWriter, r *http.Request) {
			if st := int(robotsStatus.Load()); st != http.StatusOK {
				w.WriteHeader(st)
				return
			}
			fmt.Fprint(w, "User-agent: *\nDisallow: /secret\n")
		},
		"/":         htmlPage("Start", `<a href="/public">p</a> <a href="/secret/x">s</a>`),
		"/public":   htmlPage("Public", "p"),
		"/secret/x": htmlPage("Secret", "s"),
	})
	docs, skips, err := loadAll(t, urlSource(URLConfig{URL: s.URL, MaxPages: 10}))
	require.NoError(t, err)
	assert.Equal(t, []string{s.URL + "/", s.URL + "/public"}, keys(docs))
	assert.Equal(t, map[string]string{s.URL + "/secret/x": "disallowed by robots.txt"}, skipMap(skips))
	assert.Equal(t, 0, s.count("/secret/x"))
	assert.Equal(t, 1, s.count("/robots.txt"))

	// IgnoreRobots: the host decides.
	l, err := NewURL(URLConfig{URL: s.URL, MaxPages: 10}, Options{AllowPrivateNetworks: true, IgnoreRobots: true})
	require.NoError(t, err)
	docs = nil
	require.NoError(t, l.Load(t.Context(), func(d Document) error { docs = append(docs, d); return nil }))
	assert.Len(t, docs, 3)
	assert.Equal(t, 1, s.count("/robots.txt"), "not requested when ignored")

	// A missing robots.txt allows everything; a failing one nothing but the start page.
	robotsStatus.Store(http.StatusNotFound)
	docs, _, err = loadAll(t, urlSource(URLConfig{URL: s.URL, MaxPages: 10}))
	require.NoError(t, err)
	assert.Len(t, docs, 3)
	robotsStatus.Store(http.StatusServiceUnavailable)
	docs, skips, err = loadAll(t, urlSource(URLConfig{URL: s.URL, MaxPages: 10}))
	require.NoError(t, err)
	assert.Equal(t, []string{s.URL + "/"}, keys(docs))
	assert.Equal(t, "robots.txt unreachable: HTTP status 503 Service Unavailable", skipMap(skips)[s.URL+"/public"])

	// A single page does not read robots.txt.
	before := s.count("/robots.txt")
	_, _, err = loadAll(t, urlSource(URLConfig{URL: s.URL + "/secret/x"}))
	require.NoError(t, err)
	assert.Equal(t, before, s.count("/robots.txt"))
}
