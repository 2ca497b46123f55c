package restapi

import (
	"encoding/json"
	"net/http"

	"github.com/minirag/minirag"
)

// tokenBody is a token just created: the record and, this once, its
// plaintext.
type tokenBody struct {
	minirag.APIToken
	// Token is the plaintext bearer token, shown once.
	Token string `json:"token"`
}

// bootstrapBody answers POST /v1/tenants.
type bootstrapBody struct {
	Tenant   minirag.Tenant `json:"tenant"`
	Owner    minirag.User   `json:"owner"`
	APIToken tokenBody      `json:"api_token"`
}

func (s *server) createTenant(w http.ResponseWriter, r *http.Request) {
	var p minirag.CreateTenantParams
	if err := decode(w, r, &p); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.c.CreateTenant(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, bootstrapBody{
		Tenant: b.Tenant, Owner: b.Owner,
		APIToken: tokenBody{APIToken: b.Token.Token, Token: b.Token.Plaintext},
	})
}

func (s *server) getTenant(w http.ResponseWriter, r *http.Request) {
	t, err := s.handle(r).GetTenant(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// --- API tokens

func (s *server) createToken(w http.ResponseWriter, r *http.Request) {
	var p minirag.CreateAPITokenParams
	if err := decode(w, r, &p); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.handle(r).CreateAPIToken(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, tokenBody{APIToken: t.Token, Token: t.Plaintext})
}

func (s *server) listTokens(w http.ResponseWriter, r *http.Request) {
	p, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ts, err := s.handle(r).ListAPITokensPage(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageBody[minirag.APIToken]{Data: ts.Items, NextCursor: ts.NextCursor})
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.handle(r).RevokeAPIToken(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- bot profiles

func (s *server) createBot(w http.ResponseWriter, r *http.Request) {
	var p minirag.BotParams
	if err := decode(w, r, &p); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.handle(r).CreateBot(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *server) listBots(w http.ResponseWriter, r *http.Request) {
	p, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	bs, err := s.handle(r).ListBotsPage(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageBody[minirag.Bot]{Data: bs.Items, NextCursor: bs.NextCursor})
}

func (s *server) getBot(w http.ResponseWriter, r *http.Request) {
	b, err := s.handle(r).GetBot(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *server) updateBot(w http.ResponseWriter, r *http.Request) {
	var u minirag.BotUpdate
	if err := decode(w, r, &u); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.handle(r).UpdateBot(r.Context(), r.PathValue("id"), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *server) deleteBot(w http.ResponseWriter, r *http.Request) {
	if err := s.handle(r).DeleteBot(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- sources

// sourceBody is a source as the API shows it: the SDK's record, with its
// bot also under the name the Python MiniRAG platform's API gives it
// (bot_profile_id).
type sourceBody struct {
	minirag.Source
	BotProfileID string `json:"bot_profile_id"`
}

func showSource(src minirag.Source) sourceBody {
	return sourceBody{Source: src, BotProfileID: src.BotID}
}

// sourceParams is the body of POST /v1/sources.
type sourceParams struct {
	BotProfileID string             `json:"bot_profile_id"`
	Name         string             `json:"name"`
	Type         minirag.SourceType `json:"type"`
	Config       json.RawMessage    `json:"config"`
}

// sourceUpdate is the body of PATCH /v1/sources/{id}.
type sourceUpdate struct {
	BotProfileID *string             `json:"bot_profile_id,omitempty"`
	Name         *string             `json:"name,omitempty"`
	Type         *minirag.SourceType `json:"type,omitempty"`
	Config       json.RawMessage     `json:"config,omitempty"`
}

// renameBotField names the SDK's "bot_id" as the API does.
func renameBotField(err error) error {
	e := toAPIError(err)
	changed := false
	for i, f := range e.fields {
		if f.Field == "bot_id" {
			e.fields[i].Field = "bot_profile_id"
			changed = true
		}
	}
	if !changed {
		return err
	}
	e.msg = "invalid input: see fields"
	return e
}

func (s *server) createSource(w http.ResponseWriter, r *http.Request) {
	var p sourceParams
	if err := decode(w, r, &p); err != nil {
		s.fail(w, r, err)
		return
	}
	params := minirag.SourceParams{BotID: p.BotProfileID, Name: p.Name, Type: p.Type}
	if len(p.Config) > 0 {
		params.Config = p.Config
	}
	src, err := s.handle(r).CreateSource(r.Context(), params)
	if err != nil {
		s.fail(w, r, renameBotField(err))
		return
	}
	writeJSON(w, http.StatusCreated, showSource(src))
}

func (s *server) listSources(w http.ResponseWriter, r *http.Request) {
	p, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	srcs, err := s.handle(r).ListSourcesPage(r.Context(), r.URL.Query().Get("bot_profile_id"), p)
	if err != nil {
		s.fail(w, r, renameBotField(err))
		return
	}
	out := make([]sourceBody, len(srcs.Items))
	for i, src := range srcs.Items {
		out[i] = showSource(src)
	}
	writeJSON(w, http.StatusOK, pageBody[sourceBody]{Data: out, NextCursor: srcs.NextCursor})
}

func (s *server) getSource(w http.ResponseWriter, r *http.Request) {
	src, err := s.handle(r).GetSource(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, showSource(src))
}

func (s *server) updateSource(w http.ResponseWriter, r *http.Request) {
	var u sourceUpdate
	if err := decode(w, r, &u); err != nil {
		s.fail(w, r, err)
		return
	}
	up := minirag.SourceUpdate{BotID: u.BotProfileID, Name: u.Name, Type: u.Type}
	if len(u.Config) > 0 {
		up.Config = u.Config
	}
	src, err := s.handle(r).UpdateSource(r.Context(), r.PathValue("id"), up)
	if err != nil {
		s.fail(w, r, renameBotField(err))
		return
	}
	writeJSON(w, http.StatusOK, showSource(src))
}

func (s *server) deleteSource(w http.ResponseWriter, r *http.Request) {
	if err := s.handle(r).DeleteSource(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
