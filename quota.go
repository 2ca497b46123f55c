package minirag

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minirag/minirag/storage"
)

// Quota is a tenant's limits (Config.Quotas). A zero field is no limit.
type Quota struct {
	// MaxDocuments and MaxChunks bound what the tenant stores: an
	// ingestion (Ingest, EnqueueIngest) does not start while the tenant
	// holds that many or more. A run that starts under the limit is not
	// stopped midway, so it may end above it.
	MaxDocuments int `json:"max_documents,omitempty"`
	MaxChunks    int `json:"max_chunks,omitempty"`
	// TokensPerDay and TokensPerMonth bound the tokens (in and out, every
	// kind of the usage ledger) of a UTC day and month: Ask, AskStream and
	// ingestion do not start once the period's tokens reached the limit.
	// Calls already running when it is reached finish (their tokens are
	// known only then), so a period may end a little above it.
	TokensPerDay   int64 `json:"tokens_per_day,omitempty"`
	TokensPerMonth int64 `json:"tokens_per_month,omitempty"`
	// RequestsPerMinute bounds the Search, Ask and AskStream calls of
	// callers without the admin scope (query tokens: widgets, end users)
	// per calendar minute. Counted in Storage before work starts, exactly:
	// n concurrent calls in one minute, in any number of processes sharing
	// the Storage, let exactly RequestsPerMinute through.
	RequestsPerMinute int `json:"requests_per_minute,omitempty"`
}

// QuotaFunc returns a tenant's limits (Config.Quotas), for example from
// the host's plans. It is called before each call a quota bounds; an
// error fails that call.
type QuotaFunc func(ctx context.Context, tenantID string) (Quota, error)

// ErrQuotaExceeded is matched (errors.Is) by the *QuotaError a call
// returns when a limit of the tenant's Quota is reached; HTTPStatus maps
// it to 429 and RetryAfter says when to retry.
var ErrQuotaExceeded = errors.New("minirag: quota exceeded")

// QuotaError is a reached limit of a tenant's Quota.
type QuotaError struct {
	// Limit names the Quota field: "requests_per_minute",
	// "tokens_per_day", "tokens_per_month", "max_documents",
	// "max_chunks".
	Limit string `json:"limit"`
	// Max is the limit's value.
	Max int64 `json:"max"`
	// RetryAfter is how long until the limit's period ends (0 for
	// max_documents and max_chunks, which only deleting content frees).
	RetryAfter time.Duration `json:"retry_after"`
}

// Error implements error.
func (e *QuotaError) Error() string {
	s := fmt.Sprintf("minirag: quota exceeded: %s (%d)", e.Limit, e.Max)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf("; retry in %s", e.RetryAfter.Round(time.Second))
	}
	return s
}

// Is reports whether target is ErrQuotaExceeded.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// RetryAfter returns how long to wait before retrying a call that failed
// with a *QuotaError whose limit frees itself with time (the value of an
// HTTP Retry-After header, rounded up to whole seconds by the host), and
// false for any other error.
func RetryAfter(err error) (time.Duration, bool) {
	var qe *QuotaError
	if errors.As(err, &qe) && qe.RetryAfter > 0 {
		return qe.RetryAfter, true
	}
	return 0, false
}

// quota returns the tenant's limits (zero without Config.Quotas).
func (h *TenantHandle) quota(ctx context.Context) (Quota, error) {
	if h.c.quotas == nil {
		return Quota{}, nil
	}
	q, err := h.c.quotas(ctx, h.p.TenantID)
	if err != nil {
		return Quota{}, fmt.Errorf("minirag: quota of tenant %s: %w", h.p.TenantID, err)
	}
	return q, nil
}

// checkRate counts a request against RequestsPerMinute for a caller
// without the admin scope.
func (h *TenantHandle) checkRate(ctx context.Context, q Quota) error {
	if q.RequestsPerMinute <= 0 || h.p.HasScope(ScopeAdmin) {
		return nil
	}
	now := h.c.now()
	window := now.Truncate(time.Minute)
	ok, err := h.c.store.CountRequest(ctx, h.p.TenantID, window, q.RequestsPerMinute)
	if err != nil {
		return fmt.Errorf("minirag: quota: %w", err)
	}
	if !ok {
		return &QuotaError{Limit: "requests_per_minute", Max: int64(q.RequestsPerMinute), RetryAfter: window.Add(time.Minute).Sub(now)}
	}
	return nil
}

// checkTokens refuses work once the day's or month's tokens reached the
// limits.
func (h *TenantHandle) checkTokens(ctx context.Context, q Quota) error {
	if q.TokensPerDay <= 0 && q.TokensPerMonth <= 0 {
		return nil
	}
	now := h.c.now()
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	month := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	rows, err := h.c.store.ListUsage(ctx, storage.UsageQuery{TenantID: h.p.TenantID, From: month})
	if err != nil {
		return fmt.Errorf("minirag: quota: %w", err)
	}
	var day, mon int64
	for _, r := range rows {
		n := r.InputTokens + r.OutputTokens
		mon += n
		if !r.Day.Before(today) {
			day += n
		}
	}
	if q.TokensPerDay > 0 && day >= q.TokensPerDay {
		return &QuotaError{Limit: "tokens_per_day", Max: q.TokensPerDay, RetryAfter: today.AddDate(0, 0, 1).Sub(now)}
	}
	if q.TokensPerMonth > 0 && mon >= q.TokensPerMonth {
		return &QuotaError{Limit: "tokens_per_month", Max: q.TokensPerMonth, RetryAfter: month.AddDate(0, 1, 0).Sub(now)}
	}
	return nil
}

// checkContent refuses an ingestion once the tenant holds MaxDocuments or
// MaxChunks.
func (h *TenantHandle) checkContent(ctx context.Context, q Quota) error {
	if q.MaxDocuments <= 0 && q.MaxChunks <= 0 {
		return nil
	}
	docs, chunks, err := h.c.store.CountContent(ctx, h.p.TenantID)
	if err != nil {
		return fmt.Errorf("minirag: quota: %w", err)
	}
	if q.MaxDocuments > 0 && docs >= q.MaxDocuments {
		return &QuotaError{Limit: "max_documents", Max: int64(q.MaxDocuments)}
	}
	if q.MaxChunks > 0 && chunks >= q.MaxChunks {
		return &QuotaError{Limit: "max_chunks", Max: int64(q.MaxChunks)}
	}
	return nil
}

// checkQueryQuota is the check before Search: the request rate.
func (h *TenantHandle) checkQueryQuota(ctx context.Context) error {
	q, err := h.quota(ctx)
	if err != nil {
		return err
	}
	return h.checkRate(ctx, q)
}

// checkAskQuota is the check before Ask and AskStream: the request rate
// and the tokens.
func (h *TenantHandle) checkAskQuota(ctx context.Context) error {
	q, err := h.quota(ctx)
	if err != nil {
		return err
	}
	if err := h.checkTokens(ctx, q); err != nil {
		return err
	}
	return h.checkRate(ctx, q)
}

// checkIngestQuota is the check before an ingestion: the content and the
// tokens.
func (h *TenantHandle) checkIngestQuota(ctx context.Context) error {
	q, err := h.quota(ctx)
	if err != nil {
		return err
	}
	if err := h.checkContent(ctx, q); err != nil {
		return err
	}
	return h.checkTokens(ctx, q)
}
