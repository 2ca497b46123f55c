package minirag

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queueSources creates n text sources and queues an ingestion of each.
func queueSources(t *testing.T, e *ingestEnv, h *TenantHandle, botID string, n int) ([]Source, []Job) {
	t.Helper()
	var srcs []Source
	var jobs []Job
	for i := range n {
		s := e.textSource(t, h, botID, fmt.Sprintf("Note %d", i), fmt.Sprintf("Note number %d says the meeting room %d is on floor %d.", i, i*7, i%4))
		j, err := h.EnqueueIngest(e.ctx, s.ID)
		require.NoError(t, err)
		srcs = append(srcs, s)
		jobs = append(jobs, j)
	}
	return srcs, jobs
}

func TestEnqueueIngest(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	srcs, jobs := queueSources(t, e, h, bot.ID, 1)
	assert.Equal(t, JobQueued, jobs[0].Status)
	assert.Equal(t, JobKindIngest, jobs[0].Kind)
	again, err := h.EnqueueIngest(e.ctx, srcs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, jobs[0].ID, again.ID, "a job already queued is not queued twice")
	got, err := h.GetSource(e.ctx, srcs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, StatusPending, got.Status)
	list, err := h.ListJobs(e.ctx, srcs[0].ID)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	_, err = h.EnqueueIngest(e.ctx, "missing")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestWorkerDrainConcurrentExactlyOnce(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	srcs, jobs := queueSources(t, e, h, bot.ID, 12)

	var inFlight, peak atomic.Int64
	e.emb.set(func(c *countingEmbedder) {
		c.failWhen = func([]string) error {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			inFlight.Add(-1)
			return nil
		}
	})
	var mu sync.Mutex
	runs := map[string]int{}
	progress := func(p IngestProgress) {
		if p.Done {
			mu.Lock()
			runs[p.SourceID]++
			mu.Unlock()
		}
	}
	// Three workers of two slots each drain the queue at once.
	var wg sync.WaitGroup
	for i := range 3 {
		w, err := e.c.NewWorker(WorkerConfig{ID: fmt.Sprintf("w%d", i), Concurrency: 2, Ingest: IngestOptions{Progress: progress}})
		require.NoError(t, err)
		wg.Go(func() { assert.NoError(t, w.Drain(e.ctx)) })
	}
	wg.Wait()

	for i, s := range srcs {
		assert.Equal(t, 1, runs[s.ID], "source %d ingested exactly once", i)
		j, err := h.GetJob(e.ctx, jobs[i].ID)
		require.NoError(t, err)
		assert.Equal(t, JobDone, j.Status)
		assert.Equal(t, 1, j.Attempts)
		assert.NotNil(t, j.FinishedAt)
		got, err := h.GetSource(e.ctx, s.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusReady, got.Status)
		assert.Equal(t, 1, got.DocumentCount)
	}
	assert.Greater(t, peak.Load(), int64(1), "jobs ran concurrently")
	assert.LessOrEqual(t, peak.Load(), int64(6), "never more than the workers' slots")
}

func TestWorkerConcurrencyBound(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	queueSources(t, e, h, bot.ID, 8)
	var inFlight, peak atomic.Int64
	e.emb.set(func(c *countingEmbedder) {
		c.failWhen = func([]string) error {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			inFlight.Add(-1)
			return nil
		}
	})
	w, err := e.c.NewWorker(WorkerConfig{Concurrency: 3})
	require.NoError(t, err)
	require.NoError(t, w.Drain(e.ctx))
	assert.LessOrEqual(t, peak.Load(), int64(3))
	assert.Greater(t, peak.Load(), int64(1))
}

func TestWorkerRetriesWithBackoff(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	srcs, jobs := queueSources(t, e, h, bot.ID, 1)
	var calls atomic.Int64
	e.emb.set(func(c *countingEmbedder) {
		c.failWhen = func([]string) error {
			if calls.Add(1) <= 2 {
				return errors.New("embedding service overloaded")
			}
			return nil
		}
	})
	var backoffs []int
	w, err := e.c.NewWorker(WorkerConfig{MaxAttempts: 3, Backoff: func(n int) time.Duration {
		backoffs = append(backoffs, n)
		return time.Duration(n) * time.Minute
	}})
	require.NoError(t, err)

	require.NoError(t, w.Drain(e.ctx))
	j, err := h.GetJob(e.ctx, jobs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, JobQueued, j.Status)
	assert.Equal(t, 1, j.Attempts)
	assert.Contains(t, j.LastError, "embedding failed")
	assert.NotContains(t, j.LastError, "embedding service overloaded", "the cause goes to the host's log, not to tenants")
	assert.Equal(t, e.c.now().Add(time.Minute), j.RunAt)
	src, err := h.GetSource(e.ctx, srcs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, StatusError, src.Status)
	assert.Contains(t, src.Error, "embedding failed")

	// Not before its time.
	ok, err := w.RunOnce(e.ctx)
	require.NoError(t, err)
	assert.False(t, ok)
	e.clock.Advance(time.Minute)
	require.NoError(t, w.Drain(e.ctx))
	j, err = h.GetJob(e.ctx, jobs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, 2, j.Attempts)
	assert.Equal(t, e.c.now().Add(2*time.Minute), j.RunAt, "exponential backoff: attempt 2 waits longer")

	e.clock.Advance(2 * time.Minute)
	require.NoError(t, w.Drain(e.ctx))
	j, err = h.GetJob(e.ctx, jobs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, JobDone, j.Status)
	assert.Equal(t, 3, j.Attempts)
	assert.Equal(t, []int{1, 2}, backoffs)
	src, err = h.GetSource(e.ctx, srcs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, StatusReady, src.Status)
	assert.Empty(t, src.Error)
}

func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	srcs, jobs := queueSources(t, e, h, bot.ID, 1)
	e.emb.set(func(c *countingEmbedder) { c.fail = errors.New("embedding service down") })
	w, err := e.c.NewWorker(WorkerConfig{MaxAttempts: 2, Backoff: func(int) time.Duration { return time.Second }})
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, w.Drain(e.ctx))
		e.clock.Advance(time.Second)
	}
	j, err := h.GetJob(e.ctx, jobs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, JobFailed, j.Status)
	assert.Equal(t, 2, j.Attempts)
	assert.Contains(t, j.LastError, "embedding failed")
	assert.Contains(t, j.LastError, "Note 0", "the error names the source")
	assert.Contains(t, j.LastError, `"text"`, "the error names the document")
	src, err := h.GetSource(e.ctx, srcs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, StatusError, src.Status)
	assert.Contains(t, src.Error, "embedding failed")
}

func TestWorkerDoesNotRetryPermanentErrors(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	// A file source whose only document is not UTF-8 (past the loader's
	// 8 KiB sniff).
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"broken.md": strings.Repeat("Notes. ", 2000) + "\xff\xfe"})
	src := e.dirSource(t, h, bot.ID, dir)
	j, err := h.EnqueueIngest(e.ctx, src.ID)
	require.NoError(t, err)
	w, err := e.c.NewWorker(WorkerConfig{MaxAttempts: 5})
	require.NoError(t, err)
	require.NoError(t, w.Drain(e.ctx))
	j, err = h.GetJob(e.ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, JobFailed, j.Status)
	assert.Equal(t, 1, j.Attempts)
	assert.Contains(t, j.LastError, "broken.md")
	assert.Contains(t, j.LastError, "invalid UTF-8")
}

func TestWorkerReclaimsExpiredLease(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	srcs, jobs := queueSources(t, e, h, bot.ID, 1)
	// A worker claims the job and dies.
	dead, err := e.c.Storage().ClaimJob(e.ctx, "dead-worker", e.c.now(), time.Minute)
	require.NoError(t, err)
	require.Equal(t, jobs[0].ID, dead.ID)

	w, err := e.c.NewWorker(WorkerConfig{ID: "alive", Lease: time.Minute})
	require.NoError(t, err)
	ok, err := w.RunOnce(e.ctx)
	require.NoError(t, err)
	assert.False(t, ok, "a job under a live lease is not taken")

	e.clock.Advance(time.Minute + time.Second)
	require.NoError(t, w.Drain(e.ctx))
	j, err := h.GetJob(e.ctx, jobs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, JobDone, j.Status)
	assert.Equal(t, 2, j.Attempts)
	src, err := h.GetSource(e.ctx, srcs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, StatusReady, src.Status)

	// The dead worker coming back cannot complete or fail it again.
	err = e.c.Storage().CompleteJob(e.ctx, dead.ID, "dead-worker", e.c.now())
	assert.ErrorIs(t, err, ErrConflict)
}

func TestWorkerGivesUpOnJobWhoseWorkersKeepDying(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	srcs, jobs := queueSources(t, e, h, bot.ID, 1)
	for range 2 {
		_, err := e.c.Storage().ClaimJob(e.ctx, "dead-worker", e.c.now(), time.Minute)
		require.NoError(t, err)
		e.clock.Advance(2 * time.Minute)
	}
	w, err := e.c.NewWorker(WorkerConfig{MaxAttempts: 2})
	require.NoError(t, err)
	require.NoError(t, w.Drain(e.ctx))
	j, err := h.GetJob(e.ctx, jobs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, JobFailed, j.Status)
	assert.Contains(t, j.LastError, "gave up after 2 attempts")
	src, err := h.GetSource(e.ctx, srcs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, StatusError, src.Status)
	assert.Contains(t, src.Error, "gave up")
}

func TestWorkerExtendsLease(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	_, jobs := queueSources(t, e, h, bot.ID, 1)
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	e.emb.set(func(c *countingEmbedder) {
		c.failWhen = func([]string) error {
			once.Do(func() { close(started) })
			<-release
			return nil
		}
	})
	const lease = 150 * time.Millisecond
	w, err := e.c.NewWorker(WorkerConfig{ID: "slow", Lease: lease})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := w.RunOnce(e.ctx)
		assert.NoError(t, err)
	}()
	<-started
	claimed, err := h.GetJob(e.ctx, jobs[0].ID)
	require.NoError(t, err)
	// Time passes beyond the first lease; the running worker extends it.
	e.clock.Advance(time.Hour)
	require.Eventually(t, func() bool {
		j, err := h.GetJob(e.ctx, jobs[0].ID)
		return err == nil && j.LeaseExpiresAt != nil && j.LeaseExpiresAt.After(*claimed.LeaseExpiresAt)
	}, 10*time.Second, 10*time.Millisecond)
	other, err := e.c.NewWorker(WorkerConfig{ID: "other", Lease: lease})
	require.NoError(t, err)
	ok, err := other.RunOnce(e.ctx)
	require.NoError(t, err)
	assert.False(t, ok, "an extended lease keeps the job with its worker")
	close(release)
	<-done
	j, err := h.GetJob(e.ctx, jobs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, JobDone, j.Status)
	assert.Equal(t, 1, j.Attempts)
}

func TestWorkerRunUntilCancelled(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	w, err := e.c.NewWorker(WorkerConfig{PollInterval: 5 * time.Millisecond, Concurrency: 2})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(e.ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()
	_, jobs := queueSources(t, e, h, bot.ID, 3)
	require.Eventually(t, func() bool {
		for _, j := range jobs {
			got, err := h.GetJob(e.ctx, j.ID)
			if err != nil || got.Status != JobDone {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond)
	cancel()
	assert.NoError(t, <-stopped)
}

func TestNewWorkerValidation(t *testing.T) {
	e := newIngestEnv(t)
	_, err := e.c.NewWorker(WorkerConfig{Concurrency: -1, Lease: -1})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Len(t, ve.Fields, 2)
	w, err := e.c.NewWorker(WorkerConfig{})
	require.NoError(t, err)
	assert.NotEmpty(t, w.ID())
	assert.Equal(t, 10*time.Second, DefaultBackoff(1))
	assert.Equal(t, 20*time.Second, DefaultBackoff(2))
	assert.Equal(t, 10*time.Minute, DefaultBackoff(30))
}
