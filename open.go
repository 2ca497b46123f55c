package minirag

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore/local"
)

// Files Open keeps in its folder.
const (
	// OpenDatabaseFile is the SQLite database.
	OpenDatabaseFile = "minirag.db"
	// OpenVectorsDir is the local vector store's folder.
	OpenVectorsDir = "vectors"
	// OpenKeyFile holds the Fernet key Open generates when none is given.
	OpenKeyFile = "secret.key"
	// OpenJWTFile holds the HS256 secret Open generates when no JWT
	// configuration is given.
	OpenJWTFile = "jwt.key"
	// OpenMarkerFile is present while a Client opened by Open has the
	// folder open: written by Open, removed by a clean Client.Close. Open
	// finding it means the last Client stopped without closing (a crash,
	// a kill, a power loss), and reconciles the stores (Client.Reconcile).
	OpenMarkerFile = "open.marker"
)

// OpenOption changes what Open builds.
type OpenOption func(*openConfig)

type openConfig struct {
	cfg    Config
	keys   bool
	jwt    bool
	embSet bool
	mods   []func(*Config)
}

// WithEncryptionKeys gives the Fernet keys of bot credentials (see
// Config.EncryptionKeys) instead of the key file Open keeps in its folder.
func WithEncryptionKeys(keys ...string) OpenOption {
	return func(o *openConfig) { o.cfg.EncryptionKeys, o.keys = keys, true }
}

// WithJWT gives the session configuration (see Config.JWT) instead of the
// HS256 secret file Open keeps in its folder.
func WithJWT(j JWTConfig) OpenOption {
	return func(o *openConfig) { o.cfg.JWT, o.jwt = j, true }
}

// WithEmbedder replaces the hashing embedder (for example with
// embed/openai). The vector store keeps one folder per embedding model, so
// switching models starts an empty index: ingest the sources again (every
// document is embedded again, changed or not, since each records the
// model that embedded it; see MetadataEmbeddingModel).
func WithEmbedder(e embed.Embedder) OpenOption {
	return func(o *openConfig) { o.cfg.Embedder, o.embSet = e, true }
}

// WithLogger sets Config.Logger.
func WithLogger(l *slog.Logger) OpenOption {
	return func(o *openConfig) { o.cfg.Logger = l }
}

// WithConfig changes the Config Open built, just before New: any field
// (Chunker, Loader, ChatModel, Now…) may be set. Storage and VectorStore
// set here replace Open's own, which are then closed.
func WithConfig(fn func(*Config)) OpenOption {
	return func(o *openConfig) { o.mods = append(o.mods, fn) }
}

// Open returns a Client on the embedded stack kept in the folder dir
// (created when missing), the quick path for a program that needs no
// service: SQLite in dir/minirag.db (storage/sqlite), vectors in
// dir/vectors (vectorstore/local), the offline hashing embedder
// (embed/hashing, lexical rather than semantic: see WithEmbedder) and the
// default chunkers. Opening the same folder again finds everything as it
// was left. Open initializes the vector store for the embedder's model, so
// an embedder whose vector size is not known yet (embed/openai without
// Dimensions) is asked once here.
//
// Without WithEncryptionKeys, Open keeps a Fernet key in dir/secret.key,
// created on the first Open with mode 0600; without WithJWT, an HS256
// secret in dir/jwt.key likewise. That keeps a demo or a single-user tool
// self-contained, but a key beside the data it protects protects little: a
// production host passes keys from a secret manager (WithEncryptionKeys,
// WithJWT) and never lets Open write them.
func Open(ctx context.Context, dir string, opts ...OpenOption) (*Client, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, fmt.Errorf("minirag: open: %w", record.Invalid("dir", "is required"))
	}
	var o openConfig
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("minirag: open: %w", err)
	}
	if !o.keys {
		path := filepath.Join(dir, OpenKeyFile)
		key, err := loadOrCreateSecret(path, GenerateEncryptionKey)
		if err != nil {
			return nil, err
		}
		// A damaged key file is named as such, not as a bad
		// Config.EncryptionKeys.
		if err := ValidateEncryptionKey(key); err != nil {
			return nil, fmt.Errorf("minirag: open: %s: %w", path, err)
		}
		o.cfg.EncryptionKeys = []string{key}
	}
	if !o.jwt {
		secret, err := loadOrCreateSecret(filepath.Join(dir, OpenJWTFile), func() (string, error) {
			var b [32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return "", err
			}
			return base64.RawURLEncoding.EncodeToString(b[:]), nil
		})
		if err != nil {
			return nil, err
		}
		o.cfg.JWT = JWTConfig{Secret: []byte(secret)}
	}
	if !o.embSet {
		e, err := hashing.New(hashing.Config{})
		if err != nil {
			return nil, fmt.Errorf("minirag: open: %w", err)
		}
		o.cfg.Embedder = e
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, OpenDatabaseFile))
	if err != nil {
		return nil, fmt.Errorf("minirag: open: %w", err)
	}
	vs, err := local.Open(filepath.Join(dir, OpenVectorsDir))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("minirag: open: %w", err)
	}
	o.cfg.Storage, o.cfg.VectorStore = st, vs
	for _, m := range o.mods {
		m(&o.cfg)
	}
	if o.cfg.Storage != st {
		st.Close()
	}
	if o.cfg.VectorStore != vs {
		vs.Close()
	}
	c, err := New(o.cfg)
	if err != nil {
		o.cfg.Storage.Close()
		if o.cfg.VectorStore != nil {
			o.cfg.VectorStore.Close()
		}
		return nil, err
	}
	if c.hasIndex() {
		if err := c.ensureIndex(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.markOpen(ctx, filepath.Join(dir, OpenMarkerFile)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// markOpen writes the folder's open marker, after reconciling the stores
// when the marker was already there: the last Client did not close, so
// a write may have stopped between its phases (see doc.go, "Crash
// safety"). A failed reconciliation is logged, not fatal: the Client
// works, Ingest repairs the sources it ingests, and the marker stays
// for the next Open to try again.
func (c *Client) markOpen(ctx context.Context, path string) error {
	_, err := os.Stat(path)
	unclean := err == nil
	if err := writeFileSync(path, "minirag: open; removed by a clean Close\n"); err != nil {
		return fmt.Errorf("minirag: open: write %s: %w", path, unwrapPath(err))
	}
	c.marker = path
	if !unclean || !c.hasIndex() {
		return nil
	}
	c.log.LogAttrs(ctx, slogWarn, "open: the folder was not closed cleanly; reconciling", slog.String("marker", path))
	rep, err := c.Reconcile(ctx, ReconcileOptions{})
	if err != nil {
		c.log.LogAttrs(ctx, slogWarn, "open: reconciliation failed (Ingest repairs each source it ingests)", attrErr(err))
		c.keepMarker = true
		return nil
	}
	c.lastOpenReconcile = &rep
	return nil
}

// writeFileSync writes a small file and syncs it.
func writeFileSync(path, content string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(content)
	return errors.Join(werr, f.Sync(), f.Close())
}

// loadOrCreateSecret reads the secret in path, or creates the file (mode
// 0600, never replacing one created meanwhile) with gen's value. Errors
// name the file, never the secret.
func loadOrCreateSecret(path string, gen func() (string, error)) (string, error) {
	read := func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("minirag: open: %s is empty", path)
		}
		return s, nil
	}
	s, err := read()
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("minirag: open: read %s: %w", path, unwrapPath(err))
	}
	v, err := gen()
	if err != nil {
		return "", fmt.Errorf("minirag: open: generate %s: %w", path, err)
	}
	// Written aside, then linked into place: a concurrent Open sees the
	// whole file or none, and never replaces one created meanwhile.
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-secret-*")
	if err != nil {
		return "", fmt.Errorf("minirag: open: create %s: %w", path, unwrapPath(err))
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.WriteString(v + "\n")
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		return "", fmt.Errorf("minirag: open: write %s: %w", path, unwrapPath(err))
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return read() // another Open created it first
		}
		return "", fmt.Errorf("minirag: open: create %s: %w", path, unwrapPath(err))
	}
	return v, nil
}

// unwrapPath drops the *fs.PathError wrapper (its path is already named).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
