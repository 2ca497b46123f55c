package minirag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// Credentials are a bot's provider credentials: an API key and optional
// extra HTTP headers sent to the provider. They are stored encrypted
// (Fernet, Config.EncryptionKeys) and never returned by a read: a Bot only
// tells HasCredentials.
//
// String, GoString, LogValue and MarshalJSON redact the values (header
// names are kept); decoding JSON into Credentials works normally, so a
// host can read them from a request body.
type Credentials struct {
	APIKey  string            `json:"api_key"`
	Headers map[string]string `json:"headers,omitempty"`
	// RerankAPIKey is the bearer key of the bot's rerank endpoint
	// (Bot.Rerank), when it needs one.
	RerankAPIKey string `json:"rerank_api_key,omitempty"`
}

// String redacts the values.
func (c Credentials) String() string {
	s := fmt.Sprintf("minirag.Credentials{APIKey:%s, Headers:%s", redactString(c.APIKey), c.redactedHeaders())
	if c.RerankAPIKey != "" {
		s += ", RerankAPIKey:[REDACTED]"
	}
	return s + "}"
}

// GoString redacts the values.
func (c Credentials) GoString() string { return c.String() }

// LogValue redacts the values.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON redacts the values.
func (c Credentials) MarshalJSON() ([]byte, error) {
	type redacted struct {
		APIKey       string            `json:"api_key"`
		Headers      map[string]string `json:"headers,omitempty"`
		RerankAPIKey string            `json:"rerank_api_key,omitempty"`
	}
	r := redacted{APIKey: redactString(c.APIKey)}
	if c.RerankAPIKey != "" {
		r.RerankAPIKey = "[REDACTED]"
	}
	if len(c.Headers) > 0 {
		r.Headers = make(map[string]string, len(c.Headers))
		for k := range c.Headers {
			r.Headers[k] = "[REDACTED]"
		}
	}
	return json.Marshal(r)
}

func (c Credentials) redactedHeaders() string {
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k+":[REDACTED]")
	}
	slices.Sort(names)
	return "map[" + strings.Join(names, " ") + "]"
}

func redactString(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

// credentialsBlob is what is encrypted: the real values.
type credentialsBlob struct {
	APIKey       string            `json:"api_key"`
	Headers      map[string]string `json:"headers,omitempty"`
	RerankAPIKey string            `json:"rerank_api_key,omitempty"`
}

// BotParams are the inputs of TenantHandle.CreateBot.
type BotParams struct {
	// Name is required (at most 200 characters).
	Name        string `json:"name"`
	Description string `json:"description"`
	// SystemPrompt instructs the model how to answer.
	SystemPrompt string `json:"system_prompt"`
	// Model is the chat model's name at the provider.
	Model string `json:"model"`
	// Temperature is between 0 and 2.
	Temperature float64 `json:"temperature"`
	// MaxTokens bounds an answer; 0 means the provider's default.
	MaxTokens int `json:"max_tokens"`
	// BaseURL is an OpenAI-compatible endpoint (http or https); empty
	// means the default.
	BaseURL string `json:"base_url"`
	// Active defaults to true when nil.
	Active *bool `json:"active,omitempty"`
	// ExtractiveFallback answers from the best passages when the bot has
	// no model or credentials.
	ExtractiveFallback bool `json:"extractive_fallback"`
	// Language is the language of the bot's content for lexical search;
	// empty means English. On PostgreSQL it is a text search
	// configuration of the server ("english", "german", "simple"…; another
	// name is invalid input naming "language"); on SQLite, English ("",
	// "english", "en") is indexed with Porter stemming and any other
	// language without stemming. Changing it re-indexes the bot's chunks.
	Language string `json:"language,omitempty"`
	// RewriteFollowUps rewrites a follow-up question of a conversation
	// into a standalone search query with one short model call (see
	// AskRequest.ConversationID).
	RewriteFollowUps bool `json:"rewrite_follow_ups,omitempty"`
	// Rerank, when set, reranks the top fused candidates of Search and
	// Ask with this endpoint (its key: Credentials.RerankAPIKey).
	Rerank *BotRerank `json:"rerank,omitempty"`
	// Credentials, when set, are encrypted and stored with the bot.
	Credentials *Credentials `json:"credentials,omitempty"`
}

// BotUpdate is a partial update of a bot: nil fields stay as they are.
type BotUpdate struct {
	Name               *string  `json:"name,omitempty"`
	Description        *string  `json:"description,omitempty"`
	SystemPrompt       *string  `json:"system_prompt,omitempty"`
	Model              *string  `json:"model,omitempty"`
	Temperature        *float64 `json:"temperature,omitempty"`
	MaxTokens          *int     `json:"max_tokens,omitempty"`
	BaseURL            *string  `json:"base_url,omitempty"`
	Active             *bool    `json:"active,omitempty"`
	ExtractiveFallback *bool    `json:"extractive_fallback,omitempty"`
	Language           *string  `json:"language,omitempty"`
	RewriteFollowUps   *bool    `json:"rewrite_follow_ups,omitempty"`
	// Rerank, when set, replaces the bot's rerank endpoint; ClearRerank
	// removes it.
	Rerank      *BotRerank `json:"rerank,omitempty"`
	ClearRerank bool       `json:"clear_rerank,omitempty"`
	// Credentials, when set, replace the bot's credentials.
	Credentials *Credentials `json:"credentials,omitempty"`
	// ClearCredentials removes the bot's credentials (not with
	// Credentials).
	ClearCredentials bool `json:"clear_credentials,omitempty"`
}

const (
	maxPromptLen   = 100_000
	maxTextLen     = 10_000
	maxAPIKeyLen   = 4096
	maxHeaderCount = 32
)

func validateBot(v *record.ValidationError, b *Bot) {
	validateRerank(v, b.Rerank)
	b.Name = strings.TrimSpace(b.Name)
	checkName(v, "name", b.Name, true)
	if utf8.RuneCountInString(b.Description) > maxTextLen {
		v.Add("description", fmt.Sprintf("must be at most %d characters", maxTextLen))
	}
	if utf8.RuneCountInString(b.SystemPrompt) > maxPromptLen {
		v.Add("system_prompt", fmt.Sprintf("must be at most %d characters", maxPromptLen))
	}
	if len(b.Model) > maxNameLen {
		v.Add("model", fmt.Sprintf("must be at most %d characters", maxNameLen))
	}
	if math.IsNaN(b.Temperature) || b.Temperature < 0 || b.Temperature > 2 {
		v.Add("temperature", "must be between 0 and 2")
	}
	if b.MaxTokens < 0 {
		v.Add("max_tokens", "must not be negative")
	}
	if b.BaseURL != "" {
		u, err := url.Parse(b.BaseURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			v.Add("base_url", "must be an absolute http or https URL")
		} else if u.User != nil {
			v.Add("base_url", "must not contain user information (use credentials)")
		}
	}
	if len(b.Language) > 64 {
		v.Add("language", "must be at most 64 characters")
	}
}

func validateCredentials(v *record.ValidationError, c *Credentials) {
	if c.APIKey == "" && len(c.Headers) == 0 && c.RerankAPIKey == "" {
		v.Add("credentials", "must hold an API key or headers (to remove credentials, clear them)")
	}
	if len(c.RerankAPIKey) > maxAPIKeyLen {
		v.Add("credentials.rerank_api_key", fmt.Sprintf("must be at most %d bytes", maxAPIKeyLen))
	} else if c.RerankAPIKey != "" && !httpguts.ValidHeaderFieldValue(c.RerankAPIKey) {
		v.Add("credentials.rerank_api_key", "contains characters not allowed in an HTTP header")
	}
	if len(c.APIKey) > maxAPIKeyLen {
		v.Add("credentials.api_key", fmt.Sprintf("must be at most %d bytes", maxAPIKeyLen))
	} else if c.APIKey != "" && !httpguts.ValidHeaderFieldValue(c.APIKey) {
		v.Add("credentials.api_key", "contains characters not allowed in an HTTP header")
	}
	if len(c.Headers) > maxHeaderCount {
		v.Add("credentials.headers", fmt.Sprintf("must hold at most %d headers", maxHeaderCount))
	}
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !httpguts.ValidHeaderFieldName(k) {
			v.Add("credentials.headers", "holds a header name that is not a valid HTTP token")
		} else if !httpguts.ValidHeaderFieldValue(c.Headers[k]) {
			v.Add("credentials.headers."+k, "contains characters not allowed in an HTTP header")
		}
	}
}

// encryptCredentials returns the Fernet token of c.
func (c *Client) encryptCredentials(cr Credentials) ([]byte, error) {
	if c.keys == nil {
		return nil, ErrNoEncryptionKey
	}
	b, err := json.Marshal(credentialsBlob(cr))
	if err != nil {
		return nil, fmt.Errorf("minirag: encode credentials: %w", err)
	}
	tok, err := c.keys.Encrypt(b, c.now())
	if err != nil {
		return nil, fmt.Errorf("minirag: %w", err)
	}
	return tok, nil
}

// CreateBot creates a bot, with its credentials encrypted when given.
// Needs the admin scope.
func (h *TenantHandle) CreateBot(ctx context.Context, p BotParams) (Bot, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Bot{}, err
	}
	now := h.c.now()
	b := Bot{
		ID:                 id.New(),
		TenantID:           h.p.TenantID,
		Name:               p.Name,
		Description:        p.Description,
		SystemPrompt:       p.SystemPrompt,
		Model:              p.Model,
		Temperature:        p.Temperature,
		MaxTokens:          p.MaxTokens,
		BaseURL:            p.BaseURL,
		Active:             p.Active == nil || *p.Active,
		ExtractiveFallback: p.ExtractiveFallback,
		Language:           p.Language,
		RewriteFollowUps:   p.RewriteFollowUps,
		Rerank:             p.Rerank,
		CreatedAt:          now,
		UpdatedAt:          now,
	}
	var v record.ValidationError
	validateBot(&v, &b)
	if p.Credentials != nil {
		validateCredentials(&v, p.Credentials)
	}
	if err := v.Err(); err != nil {
		return Bot{}, err
	}
	if err := h.c.checkModelEndpoint(ctx, b.BaseURL); err != nil {
		return Bot{}, err
	}
	if b.Rerank != nil {
		if err := h.c.checkRerankEndpoint(ctx, b.Rerank.URL); err != nil {
			return Bot{}, err
		}
	}
	var ct []byte
	if p.Credentials != nil {
		var err error
		if ct, err = h.c.encryptCredentials(*p.Credentials); err != nil {
			return Bot{}, err
		}
	}
	err := h.c.store.InTx(ctx, func(tx storage.Storage) error {
		if err := tx.CreateBot(ctx, b); err != nil {
			return err
		}
		if ct != nil {
			return tx.SetBotCredentials(ctx, record.BotCredentials{TenantID: b.TenantID, BotID: b.ID, Ciphertext: ct})
		}
		return nil
	})
	if err != nil {
		return Bot{}, fmt.Errorf("minirag: create bot: %w", err)
	}
	b.HasCredentials = ct != nil
	h.c.log.LogAttrs(ctx, slogInfo, "bot created", attrTenant(b.TenantID), attrBot(b.ID))
	return b, nil
}

// ListBots lists the tenant's bots (not deleted), oldest first. Needs the
// admin scope.
func (h *TenantHandle) ListBots(ctx context.Context) ([]Bot, error) {
	if err := h.authorizeAdmin(); err != nil {
		return nil, err
	}
	bs, err := h.c.store.ListBots(ctx, h.p.TenantID)
	if err != nil {
		return nil, fmt.Errorf("minirag: list bots: %w", err)
	}
	return bs, nil
}

// GetBot returns a bot of the tenant; a deleted bot is ErrNotFound. Needs
// the admin scope.
func (h *TenantHandle) GetBot(ctx context.Context, botID string) (Bot, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Bot{}, err
	}
	b, err := h.c.store.GetBot(ctx, h.p.TenantID, botID)
	if err != nil {
		return Bot{}, fmt.Errorf("minirag: get bot: %w", err)
	}
	return b, nil
}

// UpdateBot changes the fields of u that are set and returns the bot.
// Needs the admin scope.
func (h *TenantHandle) UpdateBot(ctx context.Context, botID string, u BotUpdate) (Bot, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Bot{}, err
	}
	var v record.ValidationError
	if u.Credentials != nil && u.ClearCredentials {
		v.Add("credentials", "cannot be set and cleared at once")
	} else if u.Credentials != nil {
		validateCredentials(&v, u.Credentials)
	}
	if err := v.Err(); err != nil {
		return Bot{}, err
	}
	if u.BaseURL != nil {
		if err := h.c.checkModelEndpoint(ctx, *u.BaseURL); err != nil {
			return Bot{}, err
		}
	}
	if u.Rerank != nil && u.ClearRerank {
		v.Add("rerank", "cannot be set and cleared at once")
		return Bot{}, v.Err()
	}
	if u.Rerank != nil {
		validateRerank(&v, u.Rerank)
		if err := v.Err(); err != nil {
			return Bot{}, err
		}
		if err := h.c.checkRerankEndpoint(ctx, u.Rerank.URL); err != nil {
			return Bot{}, err
		}
	}
	var ct []byte
	if u.Credentials != nil {
		var err error
		if ct, err = h.c.encryptCredentials(*u.Credentials); err != nil {
			return Bot{}, err
		}
	}
	var out Bot
	err := h.c.store.InTx(ctx, func(tx storage.Storage) error {
		b, err := tx.GetBot(ctx, h.p.TenantID, botID)
		if err != nil {
			return err
		}
		setIf(&b.Name, u.Name)
		setIf(&b.Description, u.Description)
		setIf(&b.SystemPrompt, u.SystemPrompt)
		setIf(&b.Model, u.Model)
		setIf(&b.Temperature, u.Temperature)
		setIf(&b.MaxTokens, u.MaxTokens)
		setIf(&b.BaseURL, u.BaseURL)
		setIf(&b.Active, u.Active)
		setIf(&b.ExtractiveFallback, u.ExtractiveFallback)
		setIf(&b.Language, u.Language)
		setIf(&b.RewriteFollowUps, u.RewriteFollowUps)
		if u.Rerank != nil {
			r := *u.Rerank
			b.Rerank = &r
		} else if u.ClearRerank {
			b.Rerank = nil
		}
		validateBot(&v, &b)
		if err := v.Err(); err != nil {
			return err
		}
		b.UpdatedAt = h.c.now()
		if err := tx.UpdateBot(ctx, b); err != nil {
			return err
		}
		switch {
		case ct != nil:
			err = tx.SetBotCredentials(ctx, record.BotCredentials{TenantID: b.TenantID, BotID: b.ID, Ciphertext: ct})
			b.HasCredentials = true
		case u.ClearCredentials:
			err = tx.SetBotCredentials(ctx, record.BotCredentials{TenantID: b.TenantID, BotID: b.ID})
			b.HasCredentials = false
		}
		out = b
		return err
	})
	if errors.Is(err, ErrInvalidInput) && v.Err() != nil {
		return Bot{}, err
	}
	if err != nil {
		return Bot{}, fmt.Errorf("minirag: update bot: %w", err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "bot updated", attrTenant(out.TenantID), attrBot(out.ID))
	return out, nil
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// DeleteBot deletes a bot with everything it serves: its sources, their
// documents, chunks and jobs (queued or not), and its credentials, in one
// Storage transaction, then its vectors. The bot itself is soft-deleted:
// gone from ListBots and GetBot, kept in storage. As in DeleteSource,
// vectors left by a stop or a failure in between have no chunk: searches
// drop them and Reconcile deletes them (the failure is logged, not
// returned). An ingestion of one of its sources running at that moment
// fails (its source is gone). Needs the admin scope.
func (h *TenantHandle) DeleteBot(ctx context.Context, botID string) error {
	if err := h.authorizeAdmin(); err != nil {
		return err
	}
	var sources []string
	err := h.c.store.InTx(ctx, func(tx storage.Storage) error {
		b, err := tx.GetBot(ctx, h.p.TenantID, botID)
		if err != nil {
			return err
		}
		srcs, err := tx.ListSources(ctx, h.p.TenantID, botID)
		if err != nil {
			return err
		}
		sources = sources[:0]
		for _, s := range srcs {
			if err := tx.DeleteSource(ctx, h.p.TenantID, s.ID); err != nil {
				return err
			}
			sources = append(sources, s.ID)
		}
		if b.HasCredentials {
			if err := tx.SetBotCredentials(ctx, record.BotCredentials{TenantID: b.TenantID, BotID: b.ID}); err != nil {
				return err
			}
		}
		return tx.DeleteBot(ctx, h.p.TenantID, botID, h.c.now())
	})
	if errors.Is(err, ErrNotFound) && h.c.hasIndex() {
		// A retry after a delete whose outcome was not known: the
		// vectors still labelled with the bot that have no chunk go (by
		// their chunks, not their label, see below).
		if serr := h.c.sweepOrphans(ctx, vectorstore.Filter{TenantID: h.p.TenantID, BotID: botID}); serr != nil {
			h.c.log.LogAttrs(ctx, slogWarn, "delete bot: vectors left for Reconcile", attrTenant(h.p.TenantID), attrBot(botID), attrErr(serr))
		}
	}
	if err != nil {
		return fmt.Errorf("minirag: delete bot: %w", err)
	}
	// By source, not by bot: a vector still labelled with this bot after
	// a move of one of its sources cut short belongs to a chunk of
	// another bot now.
	if err := h.c.deleteSourcesVectors(ctx, h.p.TenantID, sources); err != nil {
		h.c.log.LogAttrs(ctx, slogWarn, "bot deleted; its vectors are left for Reconcile", attrTenant(h.p.TenantID), attrBot(botID), attrErr(err))
	}
	h.c.log.LogAttrs(ctx, slogInfo, "bot deleted", attrTenant(h.p.TenantID), attrBot(botID), slog.Int("sources", len(sources)))
	return nil
}

// decryptCredentials returns the decrypted credentials of a live bot of a
// tenant, for the answer code: the zero Credentials when the bot has none,
// ErrNotFound when the bot does not exist (or is deleted),
// ErrNoEncryptionKey without keys. Never log or return what it returns.
func (c *Client) decryptCredentials(ctx context.Context, tenantID, botID string) (Credentials, error) {
	if tenantID == "" {
		return Credentials{}, record.ErrEmptyTenant
	}
	b, err := c.store.GetBot(ctx, tenantID, botID)
	if err != nil {
		return Credentials{}, fmt.Errorf("minirag: get bot: %w", err)
	}
	return c.botCredentials(ctx, b)
}

// botCredentials is decryptCredentials for a bot already loaded from
// Storage (Ask reads the bot once).
func (c *Client) botCredentials(ctx context.Context, b Bot) (Credentials, error) {
	tenantID, botID := b.TenantID, b.ID
	if tenantID == "" {
		return Credentials{}, record.ErrEmptyTenant
	}
	if !b.HasCredentials {
		return Credentials{}, nil
	}
	if c.keys == nil {
		return Credentials{}, ErrNoEncryptionKey
	}
	bc, err := c.store.GetBotCredentials(ctx, tenantID, botID)
	if errors.Is(err, ErrNotFound) {
		return Credentials{}, nil
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("minirag: get bot credentials: %w", err)
	}
	msg, _, err := c.keys.Decrypt(bc.Ciphertext, 0, c.now())
	if err != nil {
		return Credentials{}, fmt.Errorf("minirag: bot %s credentials cannot be decrypted with any configured key: %w", botID, err)
	}
	var blob credentialsBlob
	if err := json.Unmarshal(msg, &blob); err != nil {
		return Credentials{}, fmt.Errorf("minirag: bot %s credentials are not valid JSON", botID)
	}
	return Credentials(blob), nil
}

// RotateCredentials re-encrypts, under the first of Config.EncryptionKeys,
// every stored bot credential of every tenant that another key encrypted,
// and returns how many it re-encrypted. Run it after putting a new key
// first; once it returns without error the old keys can be removed.
// Credentials no key opens are left as they are and reported in the error
// (by bot and tenant ID); the others are still rotated. Trusted code only.
func (c *Client) RotateCredentials(ctx context.Context) (int, error) {
	if c.keys == nil {
		return 0, ErrNoEncryptionKey
	}
	tenants, err := c.store.ListTenants(ctx)
	if err != nil {
		return 0, fmt.Errorf("minirag: rotate credentials: %w", err)
	}
	n := 0
	var errs []error
	for _, t := range tenants {
		creds, err := c.store.ListBotCredentials(ctx, t.ID)
		if err != nil {
			return n, fmt.Errorf("minirag: rotate credentials: tenant %s: %w", t.ID, err)
		}
		for _, bc := range creds {
			msg, idx, err := c.keys.Decrypt(bc.Ciphertext, 0, c.now())
			if err != nil {
				errs = append(errs, fmt.Errorf("minirag: rotate credentials: bot %s of tenant %s: no configured key opens them", bc.BotID, t.ID))
				continue
			}
			if idx == 0 {
				continue
			}
			ct, err := c.keys.Encrypt(msg, c.now())
			if err != nil {
				return n, fmt.Errorf("minirag: rotate credentials: %w", err)
			}
			err = c.store.SetBotCredentials(ctx, record.BotCredentials{TenantID: t.ID, BotID: bc.BotID, Ciphertext: ct})
			if errors.Is(err, ErrNotFound) { // a bot deleted meanwhile, or before deletes erased credentials
				c.log.LogAttrs(ctx, slogDebug, "credentials of a deleted bot not rotated", attrTenant(t.ID), attrBot(bc.BotID))
				continue
			}
			if err != nil {
				return n, fmt.Errorf("minirag: rotate credentials: bot %s of tenant %s: %w", bc.BotID, t.ID, err)
			}
			n++
		}
	}
	c.log.LogAttrs(ctx, slogInfo, "credentials rotated", slog.Int("count", n))
	return n, errors.Join(errs...)
}
