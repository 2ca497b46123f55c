package minirag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// SourceParams are the inputs of TenantHandle.CreateSource.
type SourceParams struct {
	// BotID is a live bot of the tenant (required).
	BotID string `json:"bot_id"`
	// Name is required (at most 200 characters).
	Name string `json:"name"`
	// Type is text, file, url or documents.
	Type SourceType `json:"type"`
	// Config is the type's configuration: a loader.TextConfig,
	// loader.FileConfig or loader.URLConfig (or a pointer to one), or its
	// JSON as json.RawMessage or []byte. It is validated by
	// loader.ParseConfig; errors name fields as "config.<name>". A
	// documents source takes none (nil or {}).
	Config any `json:"config"`
}

// SourceUpdate is a partial update of a source: nil fields stay as they
// are. The resulting type and configuration are validated together, so
// changing Type usually needs a new Config.
type SourceUpdate struct {
	BotID *string     `json:"bot_id,omitempty"`
	Name  *string     `json:"name,omitempty"`
	Type  *SourceType `json:"type,omitempty"`
	// Config, when not nil, replaces the configuration (as in
	// SourceParams.Config).
	Config any `json:"config,omitempty"`
}

// sourceConfigJSON validates cfg for type t and returns its canonical JSON.
func sourceConfigJSON(t SourceType, cfg any) (json.RawMessage, error) {
	if t == SourceDocuments {
		return documentsConfigJSON(cfg)
	}
	var raw json.RawMessage
	switch c := cfg.(type) {
	case nil:
		return nil, record.Invalid("config", "is required")
	case json.RawMessage:
		raw = c
	case []byte:
		raw = c
	case string:
		raw = json.RawMessage(c)
	default:
		b, err := json.Marshal(c)
		if err != nil {
			return nil, record.Invalid("config", "cannot be encoded as JSON")
		}
		raw = b
	}
	parsed, err := loader.ParseConfig(t, raw)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(parsed)
	if err != nil {
		return nil, fmt.Errorf("minirag: encode source config: %w", err)
	}
	return b, nil
}

// documentsConfigJSON checks the configuration of a documents source:
// none (nil, empty, null or {}), stored as {}.
func documentsConfigJSON(cfg any) (json.RawMessage, error) {
	var raw []byte
	switch c := cfg.(type) {
	case nil:
	case json.RawMessage:
		raw = c
	case []byte:
		raw = c
	case string:
		raw = []byte(c)
	default:
		b, err := json.Marshal(c)
		if err != nil {
			return nil, record.Invalid("config", "cannot be encoded as JSON")
		}
		raw = b
	}
	switch strings.Join(strings.Fields(string(raw)), "") {
	case "", "null", "{}":
		return json.RawMessage("{}"), nil
	}
	return nil, record.Invalid("config", "a documents source takes no configuration (its documents are pushed with UpsertDocuments)")
}

// checkSourceBot reports an input error naming "bot_id" unless botID is a
// live bot of the tenant.
func checkSourceBot(ctx context.Context, st storage.Storage, tenantID, botID string, v *record.ValidationError) error {
	if botID == "" {
		v.Add("bot_id", "is required")
		return nil
	}
	_, err := st.GetBot(ctx, tenantID, botID)
	if errors.Is(err, ErrNotFound) {
		v.Add("bot_id", "does not name a bot of this tenant")
		return nil
	}
	return err
}

// CreateSource creates a source in status pending. A bot of another
// tenant, deleted or unknown is ErrInvalidInput naming "bot_id". A file
// source outside the host's file roots, or a url source on a non-public
// address (unless the host allows private networks), is ErrInvalidInput
// naming "config.path" or "config.url" (see [Config].Loader). Needs the
// admin scope.
func (h *TenantHandle) CreateSource(ctx context.Context, p SourceParams) (Source, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Source{}, err
	}
	var v record.ValidationError
	name := strings.TrimSpace(p.Name)
	checkName(&v, "name", name, true)
	var cfg json.RawMessage
	if !p.Type.Valid() {
		v.Add("type", "must be one of text, file, url, documents")
	} else {
		c, err := sourceConfigJSON(p.Type, p.Config)
		if err == nil {
			err = h.c.checkSourceTarget(ctx, p.Type, c, true)
		}
		if err := mergeValidation(&v, err); err != nil {
			return Source{}, err
		}
		cfg = c
	}
	if err := checkSourceBot(ctx, h.c.store, h.p.TenantID, p.BotID, &v); err != nil {
		return Source{}, fmt.Errorf("minirag: create source: %w", err)
	}
	if err := v.Err(); err != nil {
		return Source{}, err
	}
	now := h.c.now()
	s := Source{
		ID:        id.New(),
		TenantID:  h.p.TenantID,
		BotID:     p.BotID,
		Name:      name,
		Type:      p.Type,
		Config:    cfg,
		Status:    StatusPending,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := h.c.store.CreateSource(ctx, s); err != nil {
		return Source{}, fmt.Errorf("minirag: create source: %w", err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "source created", attrTenant(s.TenantID), attrBot(s.BotID))
	return s, nil
}

// mergeValidation adds the fields of a *ValidationError to v and returns
// nil, or returns err when it is another error.
func mergeValidation(v *record.ValidationError, err error) error {
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		v.Fields = append(v.Fields, ve.Fields...)
		return nil
	}
	return err
}

// ListSources lists the tenant's sources, oldest first; only those of
// botID when it is not empty. Needs the admin scope.
func (h *TenantHandle) ListSources(ctx context.Context, botID string) ([]Source, error) {
	if err := h.authorizeAdmin(); err != nil {
		return nil, err
	}
	ss, err := h.c.store.ListSources(ctx, h.p.TenantID, botID)
	if err != nil {
		return nil, fmt.Errorf("minirag: list sources: %w", err)
	}
	return ss, nil
}

// GetSource returns a source of the tenant. Needs the admin scope.
func (h *TenantHandle) GetSource(ctx context.Context, sourceID string) (Source, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Source{}, err
	}
	s, err := h.c.store.GetSource(ctx, h.p.TenantID, sourceID)
	if err != nil {
		return Source{}, fmt.Errorf("minirag: get source: %w", err)
	}
	return s, nil
}

// UpdateSource changes the fields of u that are set and returns the
// source. Its ingestion state is unchanged (ingest it again to apply a new
// configuration). When the bot changes, the source's documents and
// chunks move to the new bot in the same Storage transaction, then the
// vectors follow (embedded again from the stored chunks and replaced in
// place, so every chunk keeps a vector); if that fails, the update is
// kept and the error says so: the next Ingest of the source, or
// Reconcile, relabels the vectors left behind. A new type or config is
// checked as CreateSource checks it. Needs the admin scope.
func (h *TenantHandle) UpdateSource(ctx context.Context, sourceID string, u SourceUpdate) (Source, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Source{}, err
	}
	var out Source
	var v record.ValidationError
	if u.Config != nil {
		// A url source's host is resolved here, outside the transaction
		// (the check inside it does no I/O). A config that is not a url
		// one is checked inside, with its type.
		if c, err := sourceConfigJSON(SourceURL, u.Config); err == nil {
			if err := mergeValidation(&v, h.c.checkSourceTarget(ctx, SourceURL, c, true)); err != nil {
				return Source{}, err
			}
			if err := v.Err(); err != nil {
				return Source{}, err
			}
		}
	}
	err := h.c.store.InTx(ctx, func(tx storage.Storage) error {
		s, err := tx.GetSource(ctx, h.p.TenantID, sourceID)
		if err != nil {
			return err
		}
		if u.Name != nil {
			s.Name = strings.TrimSpace(*u.Name)
			checkName(&v, "name", s.Name, true)
		}
		if u.BotID != nil && *u.BotID != s.BotID {
			s.BotID = *u.BotID
			if err := checkSourceBot(ctx, tx, h.p.TenantID, s.BotID, &v); err != nil {
				return err
			}
		}
		cfg := any(s.Config)
		if u.Config != nil {
			cfg = u.Config
		}
		if u.Type != nil {
			s.Type = *u.Type
		}
		if !s.Type.Valid() {
			v.Add("type", "must be one of text, file, url, documents")
		} else if u.Type != nil || u.Config != nil {
			c, err := sourceConfigJSON(s.Type, cfg)
			if err == nil {
				err = h.c.checkSourceTarget(ctx, s.Type, c, false)
			}
			if err := mergeValidation(&v, err); err != nil {
				return err
			}
			s.Config = c
		}
		if err := v.Err(); err != nil {
			return err
		}
		s.UpdatedAt = h.c.now()
		if err := tx.UpdateSource(ctx, s); err != nil {
			return err
		}
		out = s
		return nil
	})
	if v.Err() != nil {
		return Source{}, v.Err()
	}
	if err != nil {
		return Source{}, fmt.Errorf("minirag: update source: %w", err)
	}
	if u.BotID != nil {
		// Storage moved the documents and chunks to the new bot; the
		// vectors follow (index.go). Also when the bot is unchanged: a
		// retry after a move cut short relabels what was left.
		if err := h.c.moveSourceVectors(ctx, out.TenantID, out.ID, out.BotID); err != nil {
			return out, err
		}
	}
	h.c.log.LogAttrs(ctx, slogInfo, "source updated", attrTenant(out.TenantID), attrBot(out.BotID))
	return out, nil
}

// DeleteSource deletes a source with its documents, chunks and jobs
// (one Storage transaction), then its vectors. Storage decides what
// exists: if the process stops, or the VectorStore fails, in between, the
// vectors left have no chunk; searches drop them and Reconcile (or Open
// after an unclean shutdown) deletes them, so such a failure is logged,
// not returned. Needs the admin scope.
func (h *TenantHandle) DeleteSource(ctx context.Context, sourceID string) error {
	if err := h.authorizeAdmin(); err != nil {
		return err
	}
	err := h.c.store.DeleteSource(ctx, h.p.TenantID, sourceID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("minirag: delete source: %w", err)
	}
	// Also when the source is not found: a retry after a delete whose
	// outcome was not known, or whose vectors were left, converges.
	if verr := h.c.deleteSourcesVectors(ctx, h.p.TenantID, []string{sourceID}); verr != nil {
		h.c.log.LogAttrs(ctx, slogWarn, "source deleted; its vectors are left for Reconcile", attrTenant(h.p.TenantID), attrSource(sourceID), attrErr(verr))
	}
	if err != nil {
		return fmt.Errorf("minirag: delete source: %w", err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "source deleted", attrTenant(h.p.TenantID), attrSource(sourceID))
	return nil
}
