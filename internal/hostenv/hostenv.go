// Package hostenv builds a Client from the environment variables shared by
// the programs of this module that host MiniRAG (cmd/minirag; the same
// variables as examples/httpserver): the embedded stack in a folder by
// default, PostgreSQL, pgvector, Qdrant and an OpenAI-compatible embedder
// when configured.
//
//	MINIRAG_POSTGRES_URL      storage/postgres instead of SQLite
//	MINIRAG_PGVECTOR_URL      vectorstore/pgvector instead of the local store
//	MINIRAG_QDRANT_ADDR       vectorstore/qdrant (host:port of the gRPC API), with MINIRAG_QDRANT_API_KEY
//	                          and MINIRAG_QDRANT_METADATA_FIELDS (indexed metadata fields, "lang:keyword,year:number")
//	MINIRAG_EMBED_BASE_URL    embed/openai, with MINIRAG_EMBED_MODEL (required),
//	                          MINIRAG_EMBED_API_KEY, MINIRAG_EMBED_DIMENSIONS
//	MINIRAG_ENCRYPTION_KEYS   Fernet keys of bot credentials, comma-separated, first encrypts
//	MINIRAG_JWT_SECRET        HS256 secret of JWT sessions
//	MINIRAG_FILE_ROOT         the only folder "file" sources may read (default <dir>/files)
//	MINIRAG_ALLOW_PRIVATE_NETWORKS=1  lets base_url and url sources reach private addresses
//	MINIRAG_PG_POOL_MAX_CONNS the size of each PostgreSQL pool whose URL has no pool_max_conns
package hostenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	embedopenai "github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/local"
	"github.com/minirag/minirag/vectorstore/pgvector"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

// Keys returns the keys of MINIRAG_ENCRYPTION_KEYS (comma-separated).
func Keys(getenv func(string) string) []string {
	var keys []string
	for k := range strings.SplitSeq(getenv("MINIRAG_ENCRYPTION_KEYS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Embedded reports whether the environment names no service for storage
// or vectors (OpenClient then uses minirag.Open on the folder).
func Embedded(getenv func(string) string) bool {
	return getenv("MINIRAG_POSTGRES_URL") == "" && getenv("MINIRAG_PGVECTOR_URL") == "" && getenv("MINIRAG_QDRANT_ADDR") == ""
}

// OpenClient builds the Client from the environment: minirag.Open on dir
// when no service is configured, else the configured adapters (with the
// embedded ones for the parts not configured). It returns a description
// of the stack without secrets.
func OpenClient(ctx context.Context, log *slog.Logger, dir string, getenv func(string) string, mods ...func(*minirag.Config)) (*minirag.Client, string, error) {
	keys := Keys(getenv)
	var jwt *minirag.JWTConfig
	if s := getenv("MINIRAG_JWT_SECRET"); s != "" {
		jwt = &minirag.JWTConfig{Secret: []byte(s)}
	}
	emb, embDesc, err := embedderFromEnv(getenv)
	if err != nil {
		return nil, "", err
	}
	pgURL, pgvURL, qdrantAddr := getenv("MINIRAG_POSTGRES_URL"), getenv("MINIRAG_PGVECTOR_URL"), getenv("MINIRAG_QDRANT_ADDR")
	if pgURL, err = PoolURL(pgURL, getenv("MINIRAG_PG_POOL_MAX_CONNS")); err != nil {
		return nil, "", err
	}
	if pgvURL, err = PoolURL(pgvURL, getenv("MINIRAG_PG_POOL_MAX_CONNS")); err != nil {
		return nil, "", err
	}
	// Anyone may bootstrap a tenant, so file sources must not read any
	// file of the host: they are confined to the file root.
	fileRoot := getenv("MINIRAG_FILE_ROOT")
	if fileRoot == "" {
		fileRoot = filepath.Join(dir, "files")
	}
	// Nor may a bot's base_url or a url source reach the host's network,
	// unless MINIRAG_ALLOW_PRIVATE_NETWORKS=1 (a local Ollama): the SDK
	// refuses such a base_url at bot create/update and at Ask, and dials
	// only public addresses for the model (Config.PublicModelEndpointsOnly).
	allowPrivate := getenv("MINIRAG_ALLOW_PRIVATE_NETWORKS") == "1"
	guard := func(c *minirag.Config) {
		c.Loader.FileRoots = []string{fileRoot}
		c.Loader.AllowPrivateNetworks = allowPrivate
		c.PublicModelEndpointsOnly = !allowPrivate
		for _, m := range mods {
			m(c)
		}
	}

	if pgURL == "" && pgvURL == "" && qdrantAddr == "" {
		opts := []minirag.OpenOption{minirag.WithLogger(log),
			minirag.WithConfig(guard)}
		if len(keys) > 0 {
			opts = append(opts, minirag.WithEncryptionKeys(keys...))
		}
		if jwt != nil {
			opts = append(opts, minirag.WithJWT(*jwt))
		}
		if emb != nil {
			opts = append(opts, minirag.WithEmbedder(emb))
		}
		c, err := minirag.Open(ctx, dir, opts...)
		if err != nil {
			return nil, "", err
		}
		return c, "embedded in " + dir + ", embedder " + embDesc, nil
	}

	if len(keys) == 0 {
		return nil, "", fmt.Errorf("MINIRAG_ENCRYPTION_KEYS is required with a service (generate one with minirag.GenerateEncryptionKey)")
	}
	if pgvURL != "" && qdrantAddr != "" {
		return nil, "", fmt.Errorf("set MINIRAG_PGVECTOR_URL or MINIRAG_QDRANT_ADDR, not both")
	}
	if emb == nil {
		if emb, err = hashing.New(hashing.Config{}); err != nil {
			return nil, "", err
		}
	}
	var (
		st    storage.Storage
		vs    vectorstore.VectorStore
		parts []string
	)
	closeAll := func() {
		if st != nil {
			st.Close()
		}
		if vs != nil {
			vs.Close()
		}
	}
	if pgURL != "" {
		if st, err = postgres.Open(ctx, pgURL, postgres.WithLogger(log)); err != nil {
			return nil, "", err
		}
		parts = append(parts, "storage postgres")
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", err
		}
		if st, err = sqlite.Open(ctx, filepath.Join(dir, minirag.OpenDatabaseFile)); err != nil {
			return nil, "", err
		}
		parts = append(parts, "storage sqlite in "+dir)
	}
	switch {
	case pgvURL != "":
		vs, err = pgvector.Open(ctx, pgvURL, pgvector.Options{})
		parts = append(parts, "vectors pgvector")
	case qdrantAddr != "":
		host, port, perr := splitHostPort(qdrantAddr)
		if perr != nil {
			closeAll()
			return nil, "", perr
		}
		fields, ferr := qdrant.ParseMetadataFields("MINIRAG_QDRANT_METADATA_FIELDS", getenv("MINIRAG_QDRANT_METADATA_FIELDS"))
		if ferr != nil {
			closeAll()
			return nil, "", ferr
		}
		vs, err = qdrant.Dial(ctx, qdrant.Config{Host: host, Port: port, APIKey: getenv("MINIRAG_QDRANT_API_KEY"), Logger: log, MetadataFields: fields})
		parts = append(parts, "vectors qdrant at "+qdrantAddr)
	default:
		vs, err = local.Open(filepath.Join(dir, minirag.OpenVectorsDir))
		parts = append(parts, "vectors local in "+dir)
	}
	if err != nil {
		closeAll()
		return nil, "", err
	}
	cfg := minirag.Config{Storage: st, VectorStore: vs, Embedder: emb, EncryptionKeys: keys, Logger: log}
	guard(&cfg)
	if jwt != nil {
		cfg.JWT = *jwt
	}
	c, err := minirag.New(cfg)
	if err != nil {
		closeAll()
		return nil, "", err
	}
	return c, strings.Join(append(parts, "embedder "+embDesc), ", "), nil
}

// embedderFromEnv returns embed/openai when MINIRAG_EMBED_BASE_URL is set,
// else nil (the hashing embedder).
func embedderFromEnv(getenv func(string) string) (embed.Embedder, string, error) {
	base := getenv("MINIRAG_EMBED_BASE_URL")
	if base == "" {
		return nil, "hashing", nil
	}
	dims := 0
	if s := getenv("MINIRAG_EMBED_DIMENSIONS"); s != "" {
		d, err := strconv.Atoi(s)
		if err != nil || d < 0 {
			return nil, "", fmt.Errorf("MINIRAG_EMBED_DIMENSIONS must be a positive integer")
		}
		dims = d
	}
	e, err := embedopenai.New(embedopenai.Config{BaseURL: base, APIKey: getenv("MINIRAG_EMBED_API_KEY"), Model: getenv("MINIRAG_EMBED_MODEL"), Dimensions: dims})
	if err != nil {
		return nil, "", err
	}
	return e, "openai-compatible " + getenv("MINIRAG_EMBED_MODEL"), nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("MINIRAG_QDRANT_ADDR must be host:port: %w", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("MINIRAG_QDRANT_ADDR has a bad port")
	}
	return host, port, nil
}

// PoolURL adds pool_max_conns=maxConns (MINIRAG_PG_POOL_MAX_CONNS) to a
// PostgreSQL connection string, URL (postgres://…) or keyword/value form,
// unless it is empty or the string sets pool_max_conns itself.
func PoolURL(conn, maxConns string) (string, error) {
	if conn == "" || maxConns == "" || strings.Contains(conn, "pool_max_conns") {
		return conn, nil
	}
	if n, err := strconv.Atoi(maxConns); err != nil || n < 1 {
		return "", fmt.Errorf("MINIRAG_PG_POOL_MAX_CONNS must be a positive integer")
	}
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return "", fmt.Errorf("a PostgreSQL URL cannot be parsed") // the URL may hold a password
		}
		q := u.Query()
		q.Set("pool_max_conns", maxConns)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return conn + " pool_max_conns=" + maxConns, nil
}
