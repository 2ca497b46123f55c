package restapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestOpenClientEmbedded(t *testing.T) {
	dir := t.TempDir()
	c, desc, err := openClient(t.Context(), slog.New(slog.DiscardHandler), dir, envMap(nil))
	require.NoError(t, err)
	defer c.Close()
	assert.Contains(t, desc, "embedded in "+dir)
	assert.Contains(t, desc, "hashing")
	_, err = os.Stat(filepath.Join(dir, minirag.OpenDatabaseFile))
	assert.NoError(t, err)
}

func TestOpenClientConfigErrors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"service without keys", map[string]string{"MINIRAG_QDRANT_ADDR": "127.0.0.1:6334"}, "MINIRAG_ENCRYPTION_KEYS"},
		{"two vector stores", map[string]string{"MINIRAG_ENCRYPTION_KEYS": "k", "MINIRAG_QDRANT_ADDR": "127.0.0.1:6334", "MINIRAG_PGVECTOR_URL": "postgres://127.0.0.1/x"}, "not both"},
		{"bad qdrant address", map[string]string{"MINIRAG_ENCRYPTION_KEYS": "k", "MINIRAG_QDRANT_ADDR": "nowhere"}, "host:port"},
		{"bad dimensions", map[string]string{"MINIRAG_EMBED_BASE_URL": "http://127.0.0.1:1/v1", "MINIRAG_EMBED_MODEL": "m", "MINIRAG_EMBED_DIMENSIONS": "many"}, "MINIRAG_EMBED_DIMENSIONS"},
		{"embedder without model", map[string]string{"MINIRAG_EMBED_BASE_URL": "http://127.0.0.1:1/v1"}, "model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := openClient(t.Context(), log, t.TempDir(), envMap(tc.env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestOpenClientQdrant wires the embedded SQLite storage with the Qdrant
// vector store (Dial does no I/O) and explicit keys.
func TestOpenClientQdrant(t *testing.T) {
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	dir := t.TempDir()
	c, desc, err := openClient(t.Context(), slog.New(slog.DiscardHandler), dir, envMap(map[string]string{
		"MINIRAG_ENCRYPTION_KEYS": key, "MINIRAG_QDRANT_ADDR": "127.0.0.1:6334",
	}))
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "storage sqlite in "+dir+", vectors qdrant at 127.0.0.1:6334, embedder hashing", desc)
}

// TestRun starts the real server on a loopback port, bootstraps a tenant
// through it and stops it by cancelling the context.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, nil, Options{Addr: addr, Dir: t.TempDir(), Workers: 1, Getenv: envMap(nil)}) }()

	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Post("http://"+addr+"/v1/tenants", "application/json",
			strings.NewReader(`{"name":"Acme","slug":"acme","owner_email":"owner@acme.example"}`))
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	var b struct {
		APIToken struct{ Token string } `json:"api_token"`
	}
	require.NoError(t, json.Unmarshal(body, &b))
	assert.True(t, strings.HasPrefix(b.APIToken.Token, "mrag_"))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
