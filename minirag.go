package minirag

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/internal/fernet"
	"github.com/minirag/minirag/internal/telemetry"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// Config configures a Client. Only Storage is required.
//
// Config holds secrets (encryption keys, JWT keys): its String, GoString,
// LogValue and MarshalJSON methods redact them.
type Config struct {
	// Storage persists every record (required). The Client owns it:
	// Client.Close closes it.
	Storage storage.Storage

	// VectorStore holds chunk vectors; used by ingestion and search
	// (optional until then). The Client owns it: Client.Close closes it.
	VectorStore vectorstore.VectorStore
	// Embedder embeds chunks and queries; used by ingestion and search.
	Embedder embed.Embedder
	// Chunker splits normalized documents; used by ingestion. Nil means a
	// chunk.TokenChunker of chunk.DefaultMaxTokens tokens with
	// chunk.DefaultOverlap. Markdown documents (loader metadata
	// format=markdown) are split by a chunk.MarkdownChunker with the same
	// options when Chunker is nil, a *chunk.TokenChunker or a
	// *chunk.MarkdownChunker; any other Chunker splits every document.
	Chunker chunk.Chunker

	// Loader holds the host's settings for the loaders ingestion creates
	// (file roots, private networks, HTTP client, user agent). Its Name
	// and OnSkip are set per source by ingestion. A host serving several
	// tenants sets Loader.FileRoots (see package loader). When FileRoots
	// are set and BaseDir is not, a relative file source path is resolved
	// against the first root (the file root), not the process's working
	// directory. Sources are checked against these settings when created
	// or updated: a file path outside the roots, or (without
	// AllowPrivateNetworks) a url source on a non-public address such as
	// 169.254.169.254, is ErrInvalidInput naming config.path or config.url.
	Loader loader.Options

	// EncryptionKeys are Fernet keys (URL-safe base64 of 32 bytes, see
	// GenerateEncryptionKey) for bot credentials. The first encrypts; all
	// decrypt, so a new key is rotated in by putting it first and calling
	// Client.RotateCredentials before dropping the old one. Without keys
	// the Client works, but every call that sets or reads credentials
	// fails with ErrNoEncryptionKey. Keep keys in a secret manager.
	EncryptionKeys []string

	// JWT configures session tokens. The zero value disables them: JWTs
	// are then rejected and IssueSession fails.
	JWT JWTConfig

	// ChatModel builds the chat model a bot answers with (Ask, AskStream)
	// from the bot and its credentials, decrypted for that call only. Nil
	// means llm/openai on the bot's BaseURL, Model, API key and extra
	// headers. Set it to use another provider or HTTP client, or a fake
	// model in tests.
	ChatModel ChatModelFunc

	// PublicModelEndpointsOnly keeps bots' model calls off the host's own
	// networks (SSRF): set it when tenant admins are not trusted with the
	// host's network, as on a self-service multi-tenant server. Then a
	// bot's BaseURL whose host is, or resolves to, a loopback, private,
	// link-local or otherwise non-public address (loader.PublicAddress) is
	// refused by CreateBot and UpdateBot, and by Ask and AskStream for a
	// bot stored before, as ErrInvalidInput naming base_url (matching
	// loader.ErrBlockedAddress too); and the default chat model (ChatModel
	// nil) dials only public addresses, checked on the address actually
	// dialled after DNS resolution, with no HTTP proxy. A ChatModel of the
	// host's own does its own dialling: the BaseURL checks still apply,
	// the dial check does not. The default (false) allows any BaseURL, as
	// a LiteLLM proxy or an Ollama on a private network needs.
	PublicModelEndpointsOnly bool

	// Quotas returns a tenant's limits (documents, chunks, tokens per day
	// and month, requests per minute), checked before work starts (see
	// Quota). Nil, or a zero Quota, means no limit.
	Quotas QuotaFunc

	// Reranker builds the reranker of a bot that has one (Bot.Rerank),
	// from the bot and its credentials, decrypted for that call only. Nil
	// means package rerank's HTTP client on the bot's Rerank endpoint with
	// the credentials' RerankAPIKey. Set it for another reranker (an
	// offline one, a fake in tests).
	Reranker RerankerFunc

	// Logger receives the Client's logs (never a secret). Nil is silent.
	Logger *slog.Logger

	// TracerProvider creates the Client's spans (Ingest, worker jobs,
	// Search and Ask with their stages, and every Storage, VectorStore,
	// Embedder and chat model call; see docs/OBSERVABILITY.md). Nil means
	// the global provider (otel.GetTracerProvider), a no-op until the
	// host installs an SDK. Spans carry IDs, modes, counts and token
	// usage, never text, queries or secrets, unless TraceContent is set.
	TracerProvider trace.TracerProvider
	// MeterProvider creates the Client's metric instruments (ingestion
	// counts, job latency, search and ask latency by mode, model and
	// embedding tokens and errors by provider). Nil means the global
	// provider (otel.GetMeterProvider).
	MeterProvider metric.MeterProvider
	// TraceContent puts search queries and questions on spans
	// (attribute minirag.query). Off by default: queries may hold personal
	// data.
	TraceContent bool

	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
}

// String redacts secrets.
func (c Config) String() string {
	return fmt.Sprintf("minirag.Config{Storage:%T, VectorStore:%T, Embedder:%T, Chunker:%T, EncryptionKeys:%s, JWT:%s}",
		c.Storage, c.VectorStore, c.Embedder, c.Chunker, redactedCount(len(c.EncryptionKeys)), c.JWT)
}

// GoString redacts secrets.
func (c Config) GoString() string { return c.String() }

// LogValue redacts secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("storage", fmt.Sprintf("%T", c.Storage)),
		slog.Int("encryption_keys", len(c.EncryptionKeys)),
		slog.Any("jwt", c.JWT),
	)
}

// MarshalJSON redacts secrets.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Storage        string    `json:"storage"`
		VectorStore    string    `json:"vector_store"`
		Embedder       string    `json:"embedder"`
		Chunker        string    `json:"chunker"`
		EncryptionKeys int       `json:"encryption_keys"`
		JWT            JWTConfig `json:"jwt"`
	}{fmt.Sprintf("%T", c.Storage), fmt.Sprintf("%T", c.VectorStore), fmt.Sprintf("%T", c.Embedder), fmt.Sprintf("%T", c.Chunker), len(c.EncryptionKeys), c.JWT})
}

func redactedCount(n int) string {
	if n == 0 {
		return "[]"
	}
	return fmt.Sprintf("[%d REDACTED]", n)
}

// Client is the entry point of the SDK: it bootstraps tenants,
// authenticates callers and hands out tenant-scoped handles (Tenant,
// Scoped) through which everything else is done. A Client is safe for
// concurrent use.
type Client struct {
	// store, vec and emb are the Config's, traced (internal/telemetry);
	// rawStore is Config.Storage itself.
	store    storage.Storage
	rawStore storage.Storage
	tel      *telemetry.T
	vec      vectorstore.VectorStore
	emb      embed.Embedder
	chunk    chunk.Chunker
	load     loader.Options
	chat     ChatModelFunc // nil: llm/openai (answer.go)
	// quotas is Config.Quotas (quota.go); reranker Config.Reranker
	// (rerank.go).
	quotas   QuotaFunc
	reranker RerankerFunc
	// publicModels is Config.PublicModelEndpointsOnly; modelHTTP is the
	// default chat model's guarded HTTP client then (nil otherwise).
	publicModels bool
	modelHTTP    *http.Client
	rt           ingestRuntime   // lazily prepared index and chunkers (ingest.go)
	keys         *fernet.Keyring // nil without EncryptionKeys
	jwt          *jwtCodec       // nil when JWT is not configured
	log          *slog.Logger
	nowFn        func() time.Time
	// marker is Open's marker file (OpenMarkerFile), removed by a clean
	// Close unless keepMarker (the reconciliation Open ran failed).
	marker            string
	keepMarker        bool
	lastOpenReconcile *ReconcileReport

	// rawVec is Config.VectorStore itself; unregisterGauges removes the
	// observable gauges (telemetry.go).
	rawVec           vectorstore.VectorStore
	unregisterGauges func() error
}

// New validates cfg and returns a Client. Errors name the bad field, never
// a key's value.
func New(cfg Config) (*Client, error) {
	if cfg.Storage == nil {
		return nil, fmt.Errorf("minirag: Config.Storage is required")
	}
	tel := telemetry.New(telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider, RecordContent: cfg.TraceContent})
	c := &Client{
		store:    telemetry.WrapStorage(cfg.Storage, tel),
		rawStore: cfg.Storage,
		tel:      tel,
		chunk:    cfg.Chunker,
		load:     cfg.Loader,
		chat:     cfg.ChatModel,
		log:      cfg.Logger,
		nowFn:    cfg.Now,
	}
	if cfg.VectorStore != nil {
		c.vec = telemetry.WrapVectorStore(cfg.VectorStore, tel)
		c.rawVec = cfg.VectorStore
	}
	if cfg.Embedder != nil {
		c.emb = telemetry.WrapEmbedder(cfg.Embedder, tel)
	}
	lo, err := loaderOptions(cfg.Loader)
	if err != nil {
		return nil, err
	}
	c.load = lo
	c.quotas, c.reranker = cfg.Quotas, cfg.Reranker
	if cfg.PublicModelEndpointsOnly {
		c.publicModels = true
		c.modelHTTP = publicOnlyHTTPClient()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.nowFn == nil {
		c.nowFn = time.Now
	}
	if len(cfg.EncryptionKeys) > 0 {
		var v record.ValidationError
		for i, key := range cfg.EncryptionKeys {
			if msg := encryptionKeyProblem(key); msg != "" {
				v.Add(fmt.Sprintf("encryption_keys[%d]", i), msg)
			}
		}
		if err := v.Err(); err != nil {
			return nil, fmt.Errorf("minirag: Config.EncryptionKeys: %w", err)
		}
		k, err := fernet.ParseKeys(cfg.EncryptionKeys)
		if err != nil {
			// Not reached: every key was checked above.
			return nil, fmt.Errorf("minirag: Config.EncryptionKeys: %w", record.Invalid("encryption_keys", "cannot be parsed"))
		}
		c.keys = k
	}
	j, err := newJWTCodec(cfg.JWT, c.now)
	if err != nil {
		return nil, err
	}
	c.jwt = j
	c.unregisterGauges = c.registerGauges() // telemetry.go
	return c, nil
}

// GenerateEncryptionKey returns a new random Fernet key for
// Config.EncryptionKeys.
func GenerateEncryptionKey() (string, error) {
	k, err := fernet.GenerateKey()
	if err != nil {
		return "", fmt.Errorf("minirag: %w", err)
	}
	return k, nil
}

// ValidateEncryptionKey reports whether key can be one of
// Config.EncryptionKeys: a Fernet key, the URL-safe base64 encoding of 32
// bytes (GenerateEncryptionKey's format; standard base64 and 64 hex
// digits are accepted too). A bad key is a *ValidationError (matching
// ErrInvalidInput) naming the field "encryption_key"; the error never
// holds the key. New reports the same problems for each bad key, naming
// "encryption_keys[i]".
func ValidateEncryptionKey(key string) error {
	if msg := encryptionKeyProblem(key); msg != "" {
		return record.Invalid("encryption_key", msg)
	}
	return nil
}

// encryptionKeyProblem says what is wrong with key, or "" when it is a
// valid Fernet key. The message never holds the key.
func encryptionKeyProblem(key string) string {
	switch {
	case key == "":
		return "is empty"
	case strings.TrimSpace(key) != key:
		return "has leading or trailing white space"
	}
	if _, err := fernet.ParseKeys([]string{key}); err != nil {
		return "is not a Fernet key (URL-safe base64 of 32 bytes, see GenerateEncryptionKey)"
	}
	return ""
}

// Storage returns the Client's Storage, for maintenance and for code that
// needs a call the SDK does not wrap. Its calls bypass scope checks.
func (c *Client) Storage() storage.Storage { return c.rawStore }

// Close closes the Storage and, when set, the VectorStore. On a Client
// from Open, a Close in which both closed cleanly removes the folder's
// OpenMarkerFile, so that the next Open does not reconcile.
func (c *Client) Close() error {
	var errs []error
	if c.unregisterGauges != nil {
		_ = c.unregisterGauges() // an SDK already shut down refuses; nothing to undo
	}
	if c.vec != nil {
		if err := c.vec.Close(); err != nil {
			errs = append(errs, fmt.Errorf("minirag: close vector store: %w", err))
		}
	}
	if err := c.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("minirag: close storage: %w", err))
	}
	if c.marker != "" && len(errs) == 0 && !c.keepMarker {
		if err := os.Remove(c.marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("minirag: close: remove the open marker: %w", unwrapPath(err)))
		}
	}
	return errors.Join(errs...)
}

// OpenReconcile returns the report of the reconciliation Open ran after
// finding its folder not closed cleanly (see OpenMarkerFile); ok is false
// when it ran none.
func (c *Client) OpenReconcile() (ReconcileReport, bool) {
	if c.lastOpenReconcile == nil {
		return ReconcileReport{}, false
	}
	return *c.lastOpenReconcile, true
}

// now returns the current time in UTC truncated to microseconds, the
// precision every Storage keeps.
func (c *Client) now() time.Time {
	return c.nowFn().UTC().Truncate(time.Microsecond)
}
