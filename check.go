package minirag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/internal/telemetry"
	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/vectorstore"
)

// Backends a Health reports on (BackendHealth.Name).
const (
	BackendStorage     = "storage"
	BackendVectorStore = "vector_store"
	BackendEmbedder    = "embedder"
	BackendModel       = "model"
)

// DefaultCheckTimeout bounds each backend's check when
// CheckOptions.Timeout is 0.
const DefaultCheckTimeout = 5 * time.Second

// CheckOptions selects what Client.Check checks beyond Storage and the
// VectorStore.
type CheckOptions struct {
	// SkipEmbedder leaves out the embedder's check (a readiness probe
	// polled every few seconds should not pay for an embedding call to a
	// remote provider).
	SkipEmbedder bool
	// TenantID and BotID, when both set, check that bot's chat model too
	// with a one-token call (it costs what such a call costs).
	TenantID, BotID string
	// Timeout bounds each check; 0 means DefaultCheckTimeout.
	Timeout time.Duration
}

// Health is the report of Client.Check.
type Health struct {
	// OK is true when every backend checked is healthy.
	OK bool `json:"ok"`
	// Backends are the backends checked, in the order storage,
	// vector_store, embedder, model.
	Backends []BackendHealth `json:"backends"`
}

// BackendHealth is one backend's check.
type BackendHealth struct {
	// Name is BackendStorage, BackendVectorStore, BackendEmbedder or
	// BackendModel.
	Name string `json:"name"`
	// Kind is the backend's package ("storage/sqlite", "vectorstore/local",
	// "embed/openai"…), or "none" when it is not configured.
	Kind string `json:"kind"`
	// OK reports whether the check succeeded.
	OK bool `json:"ok"`
	// Latency is how long the check took.
	Latency time.Duration `json:"-"`
	// Error says what failed (never a secret); empty when OK.
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes Latency as latency_ms (a number of milliseconds).
func (b BackendHealth) MarshalJSON() ([]byte, error) {
	type plain BackendHealth
	return json.Marshal(struct {
		plain
		LatencyMS float64 `json:"latency_ms"`
	}{plain(b), float64(b.Latency.Microseconds()) / 1000})
}

// Err is nil when h is OK, else an error naming each failed backend.
func (h Health) Err() error {
	var errs []error
	for _, b := range h.Backends {
		if !b.OK {
			errs = append(errs, fmt.Errorf("%s (%s): %s", b.Name, b.Kind, b.Error))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("minirag: unhealthy: %w", errors.Join(errs...))
}

// Check reports whether the Client's backends answer, each with its
// latency and, when it fails, a clear error: Storage (a read by primary
// key), the VectorStore (initialized for the embedder's space, then a
// one-record listing of an unused tenant), the Embedder (one short text
// embedded, its vector size checked) unless opts.SkipEmbedder, and a
// bot's chat model when opts names one (a one-token call). The checks run
// concurrently, each bounded by opts.Timeout. Check never fails as a
// whole: Health.OK and Health.Err summarize. It needs no scope: call it
// from the host's health endpoints, not on behalf of a caller.
func (c *Client) Check(ctx context.Context, opts CheckOptions) Health {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, sp := c.tel.Start(ctx, "minirag.Check")
	defer sp.End()
	type check struct {
		name, kind string
		run        func(ctx context.Context) error
	}
	checks := []check{
		{BackendStorage, telemetry.Provider(c.rawStore), c.checkStorage},
		{BackendVectorStore, kindOf(c.vec), c.checkVectorStore},
	}
	if !opts.SkipEmbedder {
		checks = append(checks, check{BackendEmbedder, kindOf(c.emb), c.checkEmbedder})
	}
	if opts.TenantID != "" && opts.BotID != "" {
		checks = append(checks, check{BackendModel, "bot " + opts.BotID, func(ctx context.Context) error {
			return c.checkModel(ctx, opts.TenantID, opts.BotID)
		}})
	}
	h := Health{OK: true, Backends: make([]BackendHealth, len(checks))}
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			err := ch.run(cctx)
			b := BackendHealth{Name: ch.name, Kind: ch.kind, OK: err == nil, Latency: time.Since(start)}
			if err != nil {
				if cctx.Err() != nil && ctx.Err() == nil {
					err = fmt.Errorf("no answer within %s: %w", timeout, err)
				}
				b.Error = err.Error()
			}
			h.Backends[i] = b
		})
	}
	wg.Wait()
	for _, b := range h.Backends {
		h.OK = h.OK && b.OK
	}
	return h
}

// kindOf names the package of a backend (under internal/telemetry's
// wrapper).
func kindOf(v any) string {
	switch w := v.(type) {
	case nil:
		return "none"
	case *telemetry.VectorStore:
		v = w.Unwrap()
	case interface{ Unwrap() embed.Embedder }:
		v = w.Unwrap()
	}
	return telemetry.Provider(v)
}

func (c *Client) checkStorage(ctx context.Context) error {
	// A lookup by primary key of a tenant that cannot exist: a round trip
	// to the database that reads one index page.
	_, err := c.store.GetTenant(ctx, "00000000-minirag-health-check")
	if err == nil || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (c *Client) checkVectorStore(ctx context.Context) error {
	if c.vec == nil {
		return errors.New("not configured (Config.VectorStore)")
	}
	if c.emb != nil {
		if err := c.ensureIndex(ctx); err != nil {
			return err
		}
	}
	_, _, err := c.vec.List(ctx, vectorstore.Filter{TenantID: "00000000-minirag-health-check"}, "", 1)
	return err
}

func (c *Client) checkEmbedder(ctx context.Context) error {
	if c.emb == nil {
		return errors.New("not configured (Config.Embedder)")
	}
	vecs, err := c.emb.Embed(ctx, []string{"health check"})
	if err != nil {
		return err
	}
	if len(vecs) != 1 {
		return fmt.Errorf("%d vectors for 1 text", len(vecs))
	}
	if d := c.emb.Dimensions(); d > 0 && len(vecs[0]) != d {
		return fmt.Errorf("a vector of %d dimensions, %d expected", len(vecs[0]), d)
	}
	return nil
}

func (c *Client) checkModel(ctx context.Context, tenantID, botID string) error {
	bot, err := c.store.GetBot(ctx, tenantID, botID)
	if err != nil {
		return err
	}
	if lack := botCanCall(bot); lack != "" {
		return fmt.Errorf("bot %s has %s", bot.ID, lack)
	}
	m, err := c.chatModel(ctx, bot)
	if err != nil {
		return err
	}
	_, err = m.Chat(ctx, llm.Request{Model: bot.Model, MaxTokens: 1,
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "Reply with OK."}}})
	return err
}
