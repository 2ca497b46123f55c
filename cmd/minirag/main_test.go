package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/session.golden")

// buildBinary builds cmd/minirag into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "minirag")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// session runs the built binary on one data folder and records a
// transcript with IDs, tokens, timestamps and latencies replaced by
// stable placeholders.
type session struct {
	t    *testing.T
	dir  string
	bin  string
	env  []string
	ids  map[string]string
	log  strings.Builder
	last string // stdout of the last command
}

var (
	uuidRE    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	tokenRE   = regexp.MustCompile(`mrag_[A-Za-z0-9_\-]+`)
	timeRE    = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	latencyRE = regexp.MustCompile(` *\d+\.\dms`)
	durRE     = regexp.MustCompile(`"(duration|latency_ms|score)": [0-9.e+-]+`)
	scoreRE   = regexp.MustCompile(`\(score [0-9.e+-]+\)`)
)

func (s *session) normalize(text string) string {
	text = strings.ReplaceAll(text, s.dir, "<dir>")
	text = uuidRE.ReplaceAllStringFunc(text, func(id string) string {
		if n, ok := s.ids[id]; ok {
			return n
		}
		n := fmt.Sprintf("<id%d>", len(s.ids)+1)
		s.ids[id] = n
		return n
	})
	text = tokenRE.ReplaceAllString(text, "<token>")
	text = timeRE.ReplaceAllString(text, "<time>")
	text = latencyRE.ReplaceAllString(text, " <ms>")
	text = scoreRE.ReplaceAllString(text, "(score <n>)")
	return durRE.ReplaceAllString(text, `"$1": <n>`)
}

// run runs the binary with args and records the command, its exit code,
// stdout and stderr.
func (s *session) run(wantCode int, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(s.t, err)
	}
	fmt.Fprintf(&s.log, "$ minirag %s\n", s.normalize(strings.Join(quoteArgs(args), " ")))
	s.log.WriteString(s.normalize(out.String()))
	if e := errb.String(); e != "" {
		for _, l := range strings.Split(strings.TrimRight(s.normalize(e), "\n"), "\n") {
			fmt.Fprintf(&s.log, "stderr: %s\n", l)
		}
	}
	fmt.Fprintf(&s.log, "exit %d\n\n", code)
	assert.Equal(s.t, wantCode, code, "minirag %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errb.String())
	s.last = out.String()
	return out.String()
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " ?") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

// firstID returns the first UUID in text.
func firstID(t *testing.T, text string) string {
	t.Helper()
	id := uuidRE.FindString(text)
	require.NotEmpty(t, id, text)
	return id
}

// TestSession runs a whole operator session with the built binary on the
// embedded stack and compares its transcript with testdata/session.golden
// (go test ./cmd/minirag -run TestSession -update rewrites it).
func TestSession(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	require.NoError(t, os.MkdirAll(files, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(files, "alerting.md"), []byte("# Alerting\n\nAlerting rules are evaluated by Prometheus. Firing alerts are sent to the Alertmanager, which groups, silences and routes notifications.\n"), 0o600))
	s := &session{t: t, bin: bin, dir: dir, ids: map[string]string{},
		env: []string{"MINIRAG_DATA_DIR=" + dir, "PATH=" + os.Getenv("PATH"), "HOME=" + dir}}

	s.run(0, "migrate")
	s.run(0, "tenant", "create", "--name", "Acme", "--slug", "acme", "--owner-email", "owner@acme.example")
	s.run(5, "tenant", "create", "--name", "Acme again", "--slug", "acme", "--owner-email", "owner@acme.example")
	s.run(3, "tenant", "create", "--name", "Bad", "--slug", "-", "--owner-email", "owner@bad.example")
	s.run(0, "tenant", "list")
	bot := firstID(t, s.run(0, "bot", "create", "--tenant", "acme", "--name", "Docs", "--extractive-fallback"))
	s.env = append(s.env, "MODEL_KEY=sk-cli-secret")
	s.run(0, "bot", "create", "--tenant", "acme", "--name", "Keyed", "--model", "gpt-test", "--api-key-env", "MODEL_KEY")
	s.run(3, "bot", "create", "--tenant", "acme", "--name", "Keyless", "--model", "gpt-test", "--api-key-env", "NO_SUCH_VAR")
	s.run(0, "bot", "list", "--tenant", "acme")
	s.run(4, "bot", "list", "--tenant", "nobody")
	src1 := firstID(t, s.run(0, "source", "add", "--tenant", "acme", "--bot", bot, "--name", "retention",
		"--text", "Prometheus keeps samples on local disk for 15 days by default. Older blocks are deleted by compaction."))
	src2 := firstID(t, s.run(0, "source", "add", "--tenant", "acme", "--bot", bot, "--name", "alerting", "--file", filepath.Join(files, "alerting.md")))
	s.run(3, "source", "add", "--tenant", "acme", "--bot", bot, "--name", "outside", "--file", "/etc/hostname")
	s.run(0, "ingest", "--tenant", "acme", src1, src2)
	s.run(0, "ingest", "--tenant", "acme", src1)
	s.run(0, "source", "list", "--tenant", "acme")
	s.run(0, "search", "--tenant", "acme", "--bot", bot, "--mode", "lexical", "--top-k", "2", "how long are samples kept")
	s.run(0, "ask", "--tenant", "acme", "--bot", bot, "How many days are samples kept on disk?")
	s.run(0, "--json", "ask", "--tenant", "acme", "--bot", bot, "--top-k", "1", "Where are firing alerts sent?")
	tok := firstID(t, s.run(0, "token", "create", "--tenant", "acme", "--name", "ci", "--scopes", "query"))
	s.run(0, "token", "revoke", "--tenant", "acme", tok)
	s.run(4, "token", "revoke", "--tenant", "acme", "00000000-0000-7000-8000-000000000000")
	keyBefore, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	require.NoError(t, err)
	s.run(0, "rotate-keys")
	keyAfter, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	require.NoError(t, err)
	assert.NotEqual(t, string(keyBefore), string(keyAfter), "rotate-keys replaced the key file")
	s.run(0, "reconcile", "--dry-run")
	s.run(0, "reconcile", "--tenant", "acme")
	s.run(0, "check")
	s.run(0, "--json", "bot", "list", "--tenant", "acme")
	// A second tenant with indexed content, erased: refused without
	// --yes, then deleted (Storage and vectors: the reconciliation after
	// finds no vector left of it), then not found.
	s.run(0, "tenant", "create", "--name", "Gone", "--slug", "gone", "--owner-email", "owner@gone.example")
	goneBot := firstID(t, s.run(0, "bot", "create", "--tenant", "gone", "--name", "Tmp", "--extractive-fallback"))
	goneSrc := firstID(t, s.run(0, "source", "add", "--tenant", "gone", "--bot", goneBot, "--name", "tmp", "--text", "Temporary text about recording rules."))
	s.run(0, "ingest", "--tenant", "gone", goneSrc)
	s.run(2, "tenant", "delete", "--tenant", "gone")
	s.run(0, "tenant", "delete", "--tenant", "gone", "--yes")
	s.run(4, "tenant", "delete", "--tenant", "gone", "--yes")
	s.run(0, "tenant", "list")
	s.run(0, "reconcile", "--dry-run")
	s.run(2, "frobnicate")
	s.run(2, "ingest", "--tenant", "acme")

	golden := filepath.Join("testdata", "session.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(s.log.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run with -update to create it")
	assert.Equal(t, string(want), s.log.String())
	assert.NotContains(t, s.log.String(), "sk-cli-secret")
}
