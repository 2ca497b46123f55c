package loader

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// robotsAgent is the product token matched against robots.txt User-agent
// lines.
const robotsAgent = "minirag"

// maxRobotsBytes bounds how much of a robots.txt is read (RFC 9309 asks
// crawlers to parse at least 500 KiB).
const maxRobotsBytes = 512 << 10

// robots holds the rules of one host's robots.txt for our agent
// (RFC 9309: longest match wins, Allow wins a tie, "*" and "$" patterns).
type robots struct {
	rules    []robotsRule
	denyAll  string // non-empty: every path is disallowed, and why
	fromFile bool
}

type robotsRule struct {
	allow   bool
	pattern string
}

// allowed reports whether a crawl may request u, and if not, why.
func (r *robots) allowed(u *url.URL) (bool, string) {
	if r == nil {
		return true, ""
	}
	if r.denyAll != "" {
		return false, r.denyAll
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	best, allow := -1, true
	for _, rule := range r.rules {
		if !robotsMatch(rule.pattern, p) {
			continue
		}
		if l := len(rule.pattern); l > best || (l == best && rule.allow) {
			best, allow = l, rule.allow
		}
	}
	if !allow {
		return false, "disallowed by robots.txt"
	}
	return true, ""
}

// robotsMatch matches a robots.txt path pattern ("*" any run, "$" end).
func robotsMatch(pattern, p string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	pattern = strings.TrimSuffix(pattern, "$")
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(p, parts[0]) {
		return false
	}
	p = p[len(parts[0]):]
	for i, part := range parts[1:] {
		last := i == len(parts)-2
		if last && anchored {
			return strings.HasSuffix(p, part)
		}
		j := strings.Index(p, part)
		if j < 0 {
			return false
		}
		p = p[j+len(part):]
	}
	return !anchored || p == ""
}

// parseRobots returns the rules of data for agent: those of the groups
// naming agent, or else those of the "*" groups.
func parseRobots(data []byte, agent string) *robots {
	var own, star []robotsRule
	var agents []string
	inRules := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxRobotsBytes)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		switch key {
		case "user-agent":
			if inRules {
				agents, inRules = nil, false
			}
			agents = append(agents, strings.ToLower(val))
		case "allow", "disallow":
			inRules = true
			if val == "" {
				continue // "Disallow:" with no path allows everything
			}
			rule := robotsRule{allow: key == "allow", pattern: val}
			for _, a := range agents {
				switch {
				case a == "*":
					star = append(star, rule)
				case a != "" && strings.Contains(agent, a):
					own = append(own, rule)
				}
			}
		}
	}
	if own != nil {
		return &robots{rules: own, fromFile: true}
	}
	return &robots{rules: star, fromFile: true}
}

// fetchRobots reads base's /robots.txt. A missing one (4xx) allows
// everything; one that cannot be read (5xx, no answer) disallows everything
// (RFC 9309 §2.3.1.4), except the start page the source names.
func (l *URLLoader) fetchRobots(ctx context.Context, base *url.URL) (*robots, error) {
	u := &url.URL{Scheme: base.Scheme, Host: base.Host, Path: "/robots.txt"}
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("loader: url %s: %w", u, err)
	}
	req.Header.Set("User-Agent", l.userAgent())
	resp, err := l.client.Do(req)
	if err != nil {
		if cerr := checkCtx(ctx); cerr != nil {
			return nil, cerr
		}
		return &robots{denyAll: "robots.txt unreachable: " + l.transportError(rctx, err).Error()}, nil
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		return &robots{denyAll: "robots.txt unreachable: HTTP status " + resp.Status}, nil
	case resp.StatusCode >= 400:
		return &robots{}, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return &robots{}, nil // redirects were followed; anything else: no rules
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRobotsBytes))
	if err != nil {
		if cerr := checkCtx(ctx); cerr != nil {
			return nil, cerr
		}
		return &robots{denyAll: "robots.txt unreachable: " + l.transportError(rctx, err).Error()}, nil
	}
	return parseRobots(data, robotsAgent), nil
}
