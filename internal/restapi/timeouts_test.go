package restapi

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minirag/minirag/internal/hostenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlowBodyCutOff: a client dribbling its body (one byte every 100 ms
// of a 100-byte body, 10 s in all) is answered 408 and its connection
// closed once the server's read timeout (here 300 ms) has passed, long
// before it would have finished (it used to be held open for as long as
// it kept dribbling). A prompt client on the same server is served.
func TestSlowBodyCutOff(t *testing.T) {
	c := embeddedClient(t)
	t.Cleanup(func() { c.Close() })
	srv := httpServer(context.Background(), newServer(c, testLogger(t)), 300*time.Millisecond)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	const bodyLen = 100
	_, err = fmt.Fprintf(conn, "POST /v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", bodyLen)
	require.NoError(t, err)
	var sent atomic.Int32
	stop := make(chan struct{})
	go func() {
		for range bodyLen {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
			sent.Add(1)
		}
	}()
	defer close(stop)

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	assert.Less(t, int(sent.Load()), bodyLen, "answered only after the whole body arrived")

	// A prompt request is served.
	resp2, err := http.Post("http://"+ln.Addr().String()+"/v1/tenants", "application/json",
		strings.NewReader(`{"name":"Acme","slug":"acme","owner_email":"o@acme.example"}`))
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusCreated, resp2.StatusCode)
}

// TestPoolURL: MINIRAG_PG_POOL_MAX_CONNS sizes a PostgreSQL pool whose URL
// does not (pgx reads pool_max_conns from the connection string, as
// storage/postgres.Open and vectorstore/pgvector.Open parse it).
func TestPoolURL(t *testing.T) {
	for _, c := range []struct{ in, n, want string }{
		{"postgres://u:p@127.0.0.1:5432/db?sslmode=disable", "24", "24"},
		{"postgresql://127.0.0.1/db", "8", "8"},
		{"host=127.0.0.1 dbname=db", "16", "16"},
		{"postgres://127.0.0.1/db?pool_max_conns=5", "24", "5"}, // the URL wins
	} {
		got, err := hostenv.PoolURL(c.in, c.n)
		require.NoError(t, err, c.in)
		cfg, err := pgxpool.ParseConfig(got)
		require.NoError(t, err, got)
		assert.Equal(t, c.want, fmt.Sprint(cfg.MaxConns), c.in)
	}
	got, err := hostenv.PoolURL("postgres://127.0.0.1/db", "")
	require.NoError(t, err)
	assert.Equal(t, "postgres://127.0.0.1/db", got)
	for _, bad := range []string{"0", "-1", "many"} {
		_, err := hostenv.PoolURL("postgres://127.0.0.1/db", bad)
		assert.ErrorContains(t, err, "MINIRAG_PG_POOL_MAX_CONNS", bad)
	}
	// Through openClient: a bad value is refused before anything opens.
	_, _, err = openClient(t.Context(), testLogger(t), t.TempDir(), envMap(map[string]string{
		"MINIRAG_POSTGRES_URL": "postgres://127.0.0.1:1/none", "MINIRAG_ENCRYPTION_KEYS": "x", "MINIRAG_PG_POOL_MAX_CONNS": "lots"}))
	assert.ErrorContains(t, err, "MINIRAG_PG_POOL_MAX_CONNS")
}
