package minirag

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScriptsServicesStartStop: `scripts/services stop` (documented, it
// used to exit 2) stops what a standalone start started and removes its
// temporary folder; services_stop, as scripts/test calls it, removes the
// folder too (each run used to leave one behind). The services are given
// as URLs, so nothing is started for real.
func TestScriptsServicesStartStop(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	tmp := t.TempDir()
	// Without the _SVC_* state that scripts/test exports after its own
	// services_start: inherited, it would make these starts no-ops and
	// these stops stop the services of the run this test is part of.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "_SVC_") {
			env = append(env, kv)
		}
	}
	env = append(env, "TMPDIR="+tmp, "MINIRAG_KEEP_SERVICE_LOGS=",
		"MINIRAG_TEST_POSTGRES_URL=postgres://u@127.0.0.1:1/db", "MINIRAG_TEST_PGVECTOR_URL=postgres://u@127.0.0.1:2/db")
	run := func(args ...string) (string, error) {
		cmd := exec.Command("bash", args...)
		cmd.Env = env
		out, err := cmd.Output()
		return string(out), err
	}
	folders := func() []string {
		m, err := filepath.Glob(filepath.Join(tmp, "minirag-services.*"))
		require.NoError(t, err)
		var dirs []string
		for _, p := range m {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				dirs = append(dirs, p)
			}
		}
		return dirs
	}

	out, err := run("scripts/services", "start")
	require.NoError(t, err)
	assert.Contains(t, out, "export MINIRAG_TEST_POSTGRES_URL='postgres://u@127.0.0.1:1/db'")
	require.Len(t, folders(), 1)
	dir := folders()[0]
	assert.Contains(t, out, "scripts/services stop "+dir)
	_, err = run("scripts/services", "stop", dir)
	require.NoError(t, err)
	assert.Empty(t, folders(), "stop removes the folder")

	// Without a folder: the last one started.
	_, err = run("scripts/services", "start")
	require.NoError(t, err)
	require.Len(t, folders(), 1)
	_, err = run("scripts/services", "stop")
	require.NoError(t, err)
	assert.Empty(t, folders())
	_, err = run("scripts/services", "stop")
	assert.Error(t, err, "nothing left to stop")

	// Sourced, as scripts/test uses it.
	out, err = run("-c", `source scripts/services; services_start 2>/dev/null; echo "$_SVC_DIR"; services_stop 2>/dev/null`)
	require.NoError(t, err)
	assert.NoDirExists(t, strings.TrimSpace(out))
	assert.Empty(t, folders())
}
