package openaihttp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		v, ms string
		want  time.Duration
		ok    bool
	}{
		{"3", "", 3 * time.Second, true},
		{" 1.5 ", "", 1500 * time.Millisecond, true},
		{"0", "", 0, true},
		{"", "250", 250 * time.Millisecond, true},
		{"9", "20", 20 * time.Millisecond, true},
		{now.Add(10 * time.Second).Format(http.TimeFormat), "", 10 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), "", 0, true},
		{"-1", "", 0, false},
		{"soon", "", 0, false},
		{"", "", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.v, c.ms, now)
		assert.Equal(t, c.ok, ok, c.v)
		assert.Equal(t, c.want, got, c.v)
	}
}

func TestBackoff(t *testing.T) {
	r := &Retry{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for attempt, base := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		base *= time.Millisecond
		for range 50 {
			d, ok := r.Backoff(attempt, errors.New("x"))
			require.True(t, ok)
			assert.GreaterOrEqual(t, d, base/2)
			assert.LessOrEqual(t, d, base)
		}
	}
	d, ok := r.Backoff(0, &StatusError{StatusCode: 429, RetryAfter: 7 * time.Second})
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, d)
	_, ok = r.Backoff(0, &StatusError{StatusCode: 429, RetryAfter: time.Hour})
	assert.False(t, ok)
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	key := "sk-very-secret"
	err, temp := Classify(ctx, "pkg", key, &openai.APIError{HTTPStatusCode: 400, Message: "bad " + key + " input", Code: "invalid"}, &Capture{Status: 400}, time.Now())
	assert.False(t, temp)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 400, se.StatusCode)
	assert.Equal(t, "pkg: server answered 400 Bad Request (invalid): bad [REDACTED] input", err.Error())

	err, temp = Classify(ctx, "pkg", key, &openai.RequestError{HTTPStatusCode: 503, Body: []byte("<html>\n down </html>")}, &Capture{Status: 503, RetryAfter: "2"}, time.Now())
	assert.True(t, temp)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 2*time.Second, se.RetryAfter)
	assert.Contains(t, err.Error(), "<html> down </html>")

	cause := &url.Error{Op: "Post", URL: "http://x", Err: errors.New("dial tcp: connection refused " + key)}
	err, temp = Classify(ctx, "pkg", key, cause, &Capture{}, time.Now())
	assert.True(t, temp)
	assert.NotContains(t, err.Error(), key)
	assert.False(t, errors.Is(err, cause), "a cause holding the key is not exposed")

	// An error before sending (go-openai's own checks) is not retried.
	_, temp = Classify(ctx, "pkg", key, openai.ErrChatCompletionInvalidModel, &Capture{}, time.Now())
	assert.False(t, temp)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	err, temp = Classify(canceled, "pkg", key, errors.New("whatever"), nil, time.Now())
	assert.False(t, temp)
	assert.ErrorIs(t, err, context.Canceled)
	assert.True(t, strings.HasPrefix(err.Error(), "pkg: "))
}

func TestRetryDo(t *testing.T) {
	var waits []time.Duration
	r := &Retry{Pkg: "pkg", MaxRetries: 2, Sleep: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}
	calls := 0
	err := r.Do(context.Background(), func(ctx context.Context) error {
		calls++
		return &openai.APIError{HTTPStatusCode: 500, Message: "boom"}
	})
	assert.Equal(t, 3, calls)
	assert.Len(t, waits, 2)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 500, se.StatusCode)

	// Cancellation during the wait ends Do with the context error.
	ctx, cancel := context.WithCancel(context.Background())
	r.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() }
	err = r.Do(ctx, func(context.Context) error { return &openai.APIError{HTTPStatusCode: 429, Message: "slow down"} })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "slow down")

	// No retries when negative.
	r = &Retry{Pkg: "pkg", MaxRetries: -1}
	calls = 0
	_ = r.Do(context.Background(), func(context.Context) error { calls++; return &url.Error{Op: "Post", URL: "u", Err: errors.New("net")} })
	assert.Equal(t, 1, calls)
}
