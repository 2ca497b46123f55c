package minirag

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// UsageKind is the kind of a metered call: UsageChat (an answer),
// UsageRewrite (a follow-up rewritten into a query), UsageEmbed
// (embeddings of queries and documents), UsageRerank.
type UsageKind = record.UsageKind

// Usage kinds.
const (
	UsageChat    = record.UsageChat
	UsageRewrite = record.UsageRewrite
	UsageEmbed   = record.UsageEmbed
	UsageRerank  = record.UsageRerank
)

// Usage grouping keys (UsageRequest.GroupBy).
const (
	GroupByDay   = "day"
	GroupByBot   = "bot"
	GroupByModel = "model"
	GroupByKind  = "kind"
)

// maxUsageDays bounds the period of a usage query.
const maxUsageDays = 366

// UsageRequest selects the usage a TenantHandle.Usage report sums.
type UsageRequest struct {
	// From and To bound the period in UTC days: From's day and the days
	// before To (To's day too when To is not a UTC midnight). Zero From
	// means the first day of To's month; zero To means now. At most 366
	// days.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// BotID, when set, keeps only this bot's usage.
	BotID string `json:"bot_id,omitempty"`
	// GroupBy lists the keys the totals are grouped by: "day", "bot",
	// "model", "kind" (none: one total for the period).
	GroupBy []string `json:"group_by,omitempty"`
}

// UsageTotal is the usage of one group: the fields of GroupBy are set,
// the others empty.
type UsageTotal struct {
	Day          *time.Time `json:"day,omitempty"`
	BotID        string     `json:"bot_id,omitempty"`
	Model        string     `json:"model,omitempty"`
	Kind         UsageKind  `json:"kind,omitempty"`
	Requests     int64      `json:"requests"`
	InputTokens  int64      `json:"input_tokens"`
	OutputTokens int64      `json:"output_tokens"`
	TotalTokens  int64      `json:"total_tokens"`
}

// UsageReport is the usage of a period: per group, and in all.
type UsageReport struct {
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Groups []UsageTotal `json:"groups"`
	Total  UsageTotal   `json:"total"`
}

// Usage reports the tenant's metered use (tokens in and out, requests) of
// a period, grouped as asked, for billing dashboards. Every model call of
// Ask (the answer, a follow-up rewrite), every rerank and every embedding
// call of a semantic embedder (queries and ingestion; the offline hashing
// embedder costs nothing and is not metered) is counted per tenant, bot,
// model, kind and UTC day: tokens as the provider reported them, else
// counted with the cl100k_base tokenizer. Needs the admin scope.
func (h *TenantHandle) Usage(ctx context.Context, req UsageRequest) (UsageReport, error) {
	const op = "usage"
	if err := h.authorizeAdmin(); err != nil {
		return UsageReport{}, err
	}
	var v record.ValidationError
	if req.To.IsZero() {
		req.To = h.c.now()
	}
	if req.From.IsZero() {
		y, m, _ := req.To.UTC().Date()
		req.From = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	req.From, req.To = req.From.UTC(), req.To.UTC()
	switch {
	case req.To.Before(req.From):
		v.Add("to", "must not be before from")
	case req.To.Sub(req.From) > maxUsageDays*24*time.Hour:
		v.Add("to", fmt.Sprintf("must be at most %d days after from", maxUsageDays))
	}
	by := make(map[string]bool)
	for i, g := range req.GroupBy {
		switch g {
		case GroupByDay, GroupByBot, GroupByModel, GroupByKind:
			by[g] = true
		default:
			v.Add(fmt.Sprintf("group_by[%d]", i), "must be one of day, bot, model, kind")
		}
	}
	if err := v.Err(); err != nil {
		return UsageReport{}, err
	}
	rows, err := h.c.store.ListUsage(ctx, storage.UsageQuery{TenantID: h.p.TenantID, BotID: req.BotID, From: req.From, To: req.To})
	if err != nil {
		return UsageReport{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	rep := UsageReport{From: req.From, To: req.To, Groups: []UsageTotal{}}
	type key struct {
		day              time.Time
		bot, model, kind string
	}
	idx := make(map[key]int)
	for _, r := range rows {
		var k key
		if by[GroupByDay] {
			k.day = r.Day
		}
		if by[GroupByBot] {
			k.bot = r.BotID
		}
		if by[GroupByModel] {
			k.model = r.Model
		}
		if by[GroupByKind] {
			k.kind = string(r.Kind)
		}
		i, ok := idx[k]
		if !ok {
			i = len(rep.Groups)
			idx[k] = i
			g := UsageTotal{BotID: k.bot, Model: k.model, Kind: UsageKind(k.kind)}
			if by[GroupByDay] {
				d := r.Day
				g.Day = &d
			}
			rep.Groups = append(rep.Groups, g)
		}
		for _, t := range []*UsageTotal{&rep.Groups[i], &rep.Total} {
			t.Requests += r.Requests
			t.InputTokens += r.InputTokens
			t.OutputTokens += r.OutputTokens
			t.TotalTokens += r.InputTokens + r.OutputTokens
		}
	}
	slices.SortStableFunc(rep.Groups, func(a, b UsageTotal) int {
		if a.Day != nil && b.Day != nil {
			if c := a.Day.Compare(*b.Day); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.BotID, b.BotID), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Kind, b.Kind))
	})
	return rep, nil
}

// recordUsage adds a metered call to the ledger. It is not cancelled with
// ctx (a client that went away still used the tokens); a failure is
// logged, not returned: the answer it meters was already given.
func (c *Client) recordUsage(ctx context.Context, u record.Usage) {
	if u.Requests == 0 && u.InputTokens == 0 && u.OutputTokens == 0 {
		return
	}
	if u.Day.IsZero() {
		u.Day = c.now()
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.store.AddUsage(wctx, u); err != nil {
		c.log.LogAttrs(ctx, slogWarn, "usage not recorded", attrTenant(u.TenantID), attrBot(u.BotID), attrErr(err))
	}
}

// meterEmbedding records an embedding call of texts (tokens counted with
// the tokenizer) unless the embedder is lexical (the offline hashing
// embedder, which costs nothing).
func (c *Client) meterEmbedding(ctx context.Context, tenantID, botID string, texts []string) {
	if c.emb == nil || isLexicalEmbedder(c.emb) || len(texts) == 0 {
		return
	}
	tok, err := c.tokenizer()
	if err != nil {
		return
	}
	n := 0
	for _, t := range texts {
		n += tok.Count(t)
	}
	c.recordUsage(ctx, record.Usage{TenantID: tenantID, BotID: botID, Model: c.emb.Model(), Kind: UsageEmbed,
		Requests: 1, InputTokens: int64(n)})
}

// meterEmbed records an embedding call of ingestion: the batch's tokens as
// the chunker counted them (the tokenizer's count when it did not),
// unless the embedder is lexical.
func (r *ingestRun) meterEmbed(ctx context.Context, b embedBatch) {
	if r.c.emb == nil || isLexicalEmbedder(r.c.emb) {
		return
	}
	n := 0
	for _, ref := range b.refs {
		n += ref.w.pieces[ref.i].Tokens
	}
	if n == 0 {
		r.c.meterEmbedding(ctx, r.src.TenantID, r.src.BotID, b.texts)
		return
	}
	r.c.recordUsage(ctx, record.Usage{TenantID: r.src.TenantID, BotID: r.src.BotID, Model: r.c.emb.Model(), Kind: UsageEmbed,
		Requests: 1, InputTokens: int64(n)})
}
