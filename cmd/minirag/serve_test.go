package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServe runs `minirag serve` from the built binary on a free loopback
// port, finds the port in its "listening" log line, checks /healthz,
// bootstraps a tenant and reads it back with its token (an authenticated
// route), refuses the same route without one, and stops the server with
// SIGTERM: it exits 0 after logging its shutdown.
func TestServe(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--workers", "1")
	cmd.Env = []string{"MINIRAG_DATA_DIR=" + dir, "PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	var logs strings.Builder
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	listenRE := regexp.MustCompile(`msg=listening addr=(http://127\.0\.0\.1:\d+)`)
	var base string
	timeout := time.After(60 * time.Second)
	for base == "" {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "serve exited before listening:\n%s", logs.String())
			logs.WriteString(l + "\n")
			if m := listenRE.FindStringSubmatch(l); m != nil {
				base = m[1]
			}
		case <-timeout:
			t.Fatalf("no listening line:\n%s", logs.String())
		}
	}
	go func() {
		for l := range lines {
			logs.WriteString(l + "\n")
		}
		exited <- cmd.Wait()
	}()

	get := func(path, token string) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, body
	}
	code, body := get("/healthz", "")
	require.Equal(t, http.StatusOK, code, string(body))
	assert.JSONEq(t, `{"status":"ok"}`, string(body))

	resp, err := http.Post(base+"/v1/tenants", "application/json",
		strings.NewReader(`{"name":"Acme","slug":"acme","owner_email":"owner@acme.example"}`))
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var boot struct {
		Tenant   struct{ ID string }    `json:"tenant"`
		APIToken struct{ Token string } `json:"api_token"`
	}
	require.NoError(t, json.Unmarshal(body, &boot))

	code, body = get("/v1/tenants/me", boot.APIToken.Token)
	require.Equal(t, http.StatusOK, code, string(body))
	var me struct{ ID, Slug string }
	require.NoError(t, json.Unmarshal(body, &me))
	assert.Equal(t, boot.Tenant.ID, me.ID)
	assert.Equal(t, "acme", me.Slug)
	code, _ = get("/v1/tenants/me", "")
	assert.Equal(t, http.StatusUnauthorized, code)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "exit status after SIGTERM\n%s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	assert.Contains(t, logs.String(), "shutting down")
	assert.NotContains(t, logs.String(), boot.APIToken.Token)
}
