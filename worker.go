package minirag

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Job kinds. The options of a queued ingestion travel in its Kind, so
// that a job needs no payload: a worker runs a JobKindIngestForce job
// with IngestOptions.Force set.
const (
	// JobKindIngest is the Kind of a job that ingests its source.
	JobKindIngest = "ingest"
	// JobKindIngestForce is the Kind of a job that ingests its source
	// with IngestOptions.Force: every document is chunked and embedded
	// again, changed or not.
	JobKindIngestForce = "ingest:force"
	// JobKindUpsertDocuments is the Kind of a job that pushes documents
	// into a documents source (EnqueueUpsertDocuments); its Payload holds
	// them.
	JobKindUpsertDocuments = "upsert_documents"
)

// EnqueueOptions are the options of a queued ingestion, carried by its
// job. The other IngestOptions (Progress, Concurrency, BatchSize) belong
// to the worker that runs it: WorkerConfig.Ingest.
type EnqueueOptions struct {
	// Force is IngestOptions.Force for this job (JobKindIngestForce).
	Force bool
}

// kind is the Kind of a job with these options.
func (o EnqueueOptions) kind() string {
	if o.Force {
		return JobKindIngestForce
	}
	return JobKindIngest
}

// covers reports whether a queued job of kind k does at least what a job
// of kind want would: a forced ingestion covers a plain one.
func covers(k, want string) bool {
	return k == want || (k == JobKindIngestForce && want == JobKindIngest)
}

// Job statuses.
const (
	JobQueued  = record.JobQueued
	JobRunning = record.JobRunning
	JobDone    = record.JobDone
	JobFailed  = record.JobFailed
)

// Defaults of WorkerConfig.
const (
	DefaultWorkerConcurrency = 1
	DefaultLease             = 2 * time.Minute
	DefaultPollInterval      = time.Second
	DefaultMaxAttempts       = 5
)

// EnqueueIngest queues an ingestion of the source for a Worker and sets
// the source pending. When a job for the source is already queued (not
// yet running), that job is returned and nothing is added. The job's
// MaxAttempts is 0: the worker's WorkerConfig.MaxAttempts applies. Needs
// the admin scope. It is EnqueueIngestWithOptions with no options.
func (h *TenantHandle) EnqueueIngest(ctx context.Context, sourceID string) (Job, error) {
	return h.EnqueueIngestWithOptions(ctx, sourceID, EnqueueOptions{})
}

// EnqueueIngestWithOptions is EnqueueIngest with options carried by the
// job (its Kind: JobKindIngest or JobKindIngestForce). A queued job of the
// source that does at least as much is returned instead of adding one (a
// forced job serves a plain request); a forced request while only a plain
// job is queued adds the forced job (the plain one, run first, finds
// little to do once the forced one has run, or the reverse).
func (h *TenantHandle) EnqueueIngestWithOptions(ctx context.Context, sourceID string, opts EnqueueOptions) (Job, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Job{}, err
	}
	if sourceID == "" {
		return Job{}, record.Invalid("source_id", "is required")
	}
	if err := h.checkIngestQuota(ctx); err != nil { // quota.go
		return Job{}, err
	}
	var out Job
	err := h.c.store.InTx(ctx, func(tx storage.Storage) error {
		src, err := tx.GetSource(ctx, h.p.TenantID, sourceID)
		if err != nil {
			return err
		}
		jobs, err := tx.ListJobs(ctx, h.p.TenantID, sourceID)
		if err != nil {
			return err
		}
		kind := opts.kind()
		for _, j := range jobs {
			if j.Status == JobQueued && covers(j.Kind, kind) {
				out = j
				return nil
			}
		}
		now := h.c.now()
		j := Job{
			ID: id.New(), TenantID: h.p.TenantID, SourceID: sourceID, Kind: kind, Status: JobQueued,
			RunAt: now, CreatedAt: now, UpdatedAt: now, TraceContext: traceParent(ctx), // telemetry.go
		}
		if err := tx.EnqueueJob(ctx, j); err != nil {
			return err
		}
		if src.Status != StatusProcessing {
			if err := tx.SetSourceState(ctx, h.p.TenantID, sourceID, record.SourceState{
				Status: StatusPending, DocumentCount: src.DocumentCount, ChunkCount: src.ChunkCount,
				LastIngestedAt: src.LastIngestedAt, UpdatedAt: now,
			}); err != nil {
				return err
			}
		}
		out = j
		return nil
	})
	if err != nil {
		return Job{}, fmt.Errorf("minirag: enqueue ingest: %w", err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "ingest queued", attrTenant(h.p.TenantID), attrSource(sourceID), slog.String("job_id", out.ID), slog.String("kind", out.Kind))
	return out, nil
}

// GetJob returns a job of the tenant. Needs the admin scope.
func (h *TenantHandle) GetJob(ctx context.Context, jobID string) (Job, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Job{}, err
	}
	j, err := h.c.store.GetJob(ctx, h.p.TenantID, jobID)
	if err != nil {
		return Job{}, fmt.Errorf("minirag: get job: %w", err)
	}
	return j, nil
}

// ListJobs lists the tenant's jobs, newest first; only those of sourceID
// when it is not empty. Needs the admin scope.
func (h *TenantHandle) ListJobs(ctx context.Context, sourceID string) ([]Job, error) {
	if err := h.authorizeAdmin(); err != nil {
		return nil, err
	}
	js, err := h.c.store.ListJobs(ctx, h.p.TenantID, sourceID)
	if err != nil {
		return nil, fmt.Errorf("minirag: list jobs: %w", err)
	}
	return js, nil
}

// WorkerConfig configures a Worker. The zero value is usable.
type WorkerConfig struct {
	// ID names the worker in job leases; it must be unique among running
	// workers. Empty means "<hostname>-<pid>-<random>".
	ID string
	// Concurrency is how many jobs the worker runs at once; 0 means
	// DefaultWorkerConcurrency.
	Concurrency int
	// Lease is how long a claimed job is reserved. The worker extends it
	// every Lease/3 while the job runs; a job whose worker died is claimed
	// again once its lease expires. 0 means DefaultLease.
	Lease time.Duration
	// PollInterval is how long Run waits when the queue is empty; 0 means
	// DefaultPollInterval.
	PollInterval time.Duration
	// MaxAttempts bounds the runs of a job whose own MaxAttempts is 0;
	// 0 means DefaultMaxAttempts. After the last failed attempt the job
	// is failed and the error stays on the job and the source.
	MaxAttempts int
	// Backoff is the wait before the next attempt after attempt n
	// (1-based) failed; nil means DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Ingest are the options of each ingestion the worker runs; a job of
	// kind JobKindIngestForce sets Force (see EnqueueOptions).
	Ingest IngestOptions
	// Logger receives the worker's logs; nil means the Client's.
	Logger *slog.Logger
	// ReconcileInterval, when positive, makes Run reconcile every tenant
	// (Client.Reconcile) once that long after it starts and then at that
	// interval, repairing what crashes of any process sharing the stores
	// left behind. 0 means never; one worker of a fleet is enough.
	ReconcileInterval time.Duration
}

// DefaultBackoff is exponential: 10s after the first failure, doubling,
// at most 10 minutes.
func DefaultBackoff(attempt int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < attempt && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// Worker drains the ingestion job queue kept in Storage. Any number of
// workers, in one process or several sharing one database, may run at
// once: a job is claimed by one worker at a time under a lease.
type Worker struct {
	c   *Client
	cfg WorkerConfig
	log *slog.Logger
}

// NewWorker returns a Worker of the Client. Negative settings are
// ErrInvalidInput naming the field.
func (c *Client) NewWorker(cfg WorkerConfig) (*Worker, error) {
	var v record.ValidationError
	if cfg.Concurrency < 0 {
		v.Add("concurrency", "must not be negative")
	}
	if cfg.Lease < 0 {
		v.Add("lease", "must not be negative")
	}
	if cfg.PollInterval < 0 {
		v.Add("poll_interval", "must not be negative")
	}
	if cfg.MaxAttempts < 0 {
		v.Add("max_attempts", "must not be negative")
	}
	if cfg.ReconcileInterval < 0 {
		v.Add("reconcile_interval", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.ID = host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultWorkerConcurrency
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	w := &Worker{c: c, cfg: cfg, log: cfg.Logger}
	if w.log == nil {
		w.log = c.log
	}
	w.log = w.log.With(slog.String("worker", cfg.ID))
	return w, nil
}

// ID returns the worker's ID.
func (w *Worker) ID() string { return w.cfg.ID }

// Run claims and runs jobs, Concurrency at a time, until ctx is done; it
// then waits for the running jobs (which see ctx cancelled and are queued
// again) and returns nil. Errors claiming jobs are logged and retried
// after PollInterval.
func (w *Worker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if w.cfg.ReconcileInterval > 0 {
		wg.Go(func() { w.reconcileEvery(ctx, w.cfg.ReconcileInterval) })
	}
	sem := make(chan struct{}, w.cfg.Concurrency)
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		job, ok, err := w.claim(ctx)
		if !ok {
			<-sem
			if err != nil && ctx.Err() == nil {
				w.log.LogAttrs(ctx, slogWarn, "worker: claim failed", attrErr(err))
			}
			t := time.NewTimer(w.cfg.PollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			w.processTraced(ctx, job)
		})
	}
}

// reconcileEvery runs Client.Reconcile at every tick until ctx is done.
func (w *Worker) reconcileEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := w.c.Reconcile(ctx, ReconcileOptions{})
		switch {
		case err != nil && ctx.Err() == nil:
			w.log.LogAttrs(ctx, slogWarn, "worker: reconcile failed", attrErr(err))
		case err == nil && !rep.Consistent():
			w.log.LogAttrs(ctx, slogWarn, "worker: reconcile repaired the index", slog.Int("missing_vectors", rep.MissingVectors),
				slog.Int("mislabelled", rep.Mislabelled), slog.Int("orphans", rep.Orphans))
		}
	}
}

// RunOnce claims one job and runs it. It reports whether there was a job
// to run; the job's own failure is recorded on the job and its source,
// not returned. The error is a failure to reach the queue.
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	job, ok, err := w.claim(ctx)
	if !ok {
		return false, err
	}
	w.processTraced(ctx, job)
	return true, nil
}

// Drain runs jobs, Concurrency at a time, until none is ready to run (jobs
// waiting for a retry later are left queued), then returns. It suits
// tests and command-line tools.
func (w *Worker) Drain(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, w.cfg.Concurrency)
	for i := range w.cfg.Concurrency {
		wg.Go(func() {
			for {
				ok, err := w.RunOnce(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				if !ok {
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// claim takes the next job; ok is false when there is none (err nil) or
// the queue could not be read (err set).
func (w *Worker) claim(ctx context.Context) (Job, bool, error) {
	j, err := w.c.store.ClaimJob(ctx, w.cfg.ID, w.c.now(), w.cfg.Lease)
	if errors.Is(err, ErrNotFound) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("minirag: worker %s: claim job: %w", w.cfg.ID, err)
	}
	return j, true, nil
}

// process runs a claimed job and records its outcome.
func (w *Worker) process(ctx context.Context, job Job) {
	attrs := []slog.Attr{slog.String("job_id", job.ID), attrTenant(job.TenantID), attrSource(job.SourceID), slog.Int("attempt", job.Attempts)}
	limit := w.cfg.MaxAttempts
	if job.MaxAttempts > 0 {
		limit = job.MaxAttempts
	}
	// bg outlives ctx for recording the outcome of a job cut short.
	bg, cancelBG := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelBG()

	if job.Attempts > limit {
		// Claimed again after its worker died on the last attempt.
		msg := fmt.Sprintf("gave up after %d attempts (the last worker stopped without finishing)", limit)
		if job.LastError != "" {
			msg += "; last error: " + job.LastError
		}
		w.finish(bg, job, msg, nil, attrs)
		w.recordSourceError(bg, job, msg)
		return
	}
	opts := w.cfg.Ingest
	switch job.Kind {
	case JobKindIngest:
	case JobKindIngestForce:
		opts.Force = true
	case JobKindUpsertDocuments:
	default:
		w.finish(bg, job, fmt.Sprintf("unknown job kind %q", job.Kind), nil, attrs)
		return
	}

	w.log.LogAttrs(ctx, slogDebug, "worker: job started", attrs...)
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lost bool
	stop := make(chan struct{})
	extended := make(chan struct{})
	go func() {
		defer close(extended)
		t := time.NewTicker(max(w.cfg.Lease/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-jctx.Done():
				return
			case <-t.C:
				err := w.c.store.ExtendLease(jctx, job.ID, w.cfg.ID, w.c.now().Add(w.cfg.Lease))
				if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
					lost = true
					cancel()
					return
				}
				if err != nil && jctx.Err() == nil {
					w.log.LogAttrs(ctx, slogWarn, "worker: extend lease failed", append(attrs, attrErr(err))...)
				}
			}
		}
	}()
	var err error
	if job.Kind == JobKindUpsertDocuments {
		err = w.c.runUpsertJob(jctx, job) // push.go
	} else {
		_, err = w.c.tracedIngest(jctx, job.TenantID, job.SourceID, opts)
	}
	close(stop)
	<-extended
	if lost {
		w.log.LogAttrs(ctx, slogWarn, "worker: lost the job's lease; another worker owns it", attrs...)
		return
	}
	if err != nil {
		// The job and the source show tenants only jobErrorText; the
		// full error goes to the host's log.
		w.log.LogAttrs(ctx, slogWarn, "worker: ingestion failed", append(attrs, attrErr(err))...)
	}
	switch {
	case err == nil:
		if cerr := w.c.store.CompleteJob(bg, job.ID, w.cfg.ID, w.c.now()); cerr != nil {
			w.log.LogAttrs(ctx, slogWarn, "worker: complete job failed", append(attrs, attrErr(cerr))...)
			return
		}
		w.log.LogAttrs(ctx, slogInfo, "worker: job done", attrs...)
	case ctx.Err() != nil:
		// The worker is stopping: queue the job again at once.
		now := w.c.now()
		w.finish(bg, job, "worker stopped: "+jobErrorText(err), &now, attrs)
	case permanent(err) || job.Attempts >= limit:
		w.finish(bg, job, jobErrorText(err), nil, attrs)
	default:
		next := w.c.now().Add(w.cfg.Backoff(job.Attempts))
		w.finish(bg, job, jobErrorText(err), &next, attrs)
	}
}

// jobErrorText is what a job's LastError (read by tenants) says of an
// ingestion's error: the failed documents and the kinds of failure, never
// a host path, SQL or a driver's message.
func jobErrorText(err error) string {
	var ie *IngestError
	if errors.As(err, &ie) {
		return ie.PublicText()
	}
	return publicText(err)
}

// finish records a failed attempt: queued again at retryAt, or failed.
func (w *Worker) finish(ctx context.Context, job Job, msg string, retryAt *time.Time, attrs []slog.Attr) {
	if err := w.c.store.FailJob(ctx, job.ID, w.cfg.ID, msg, w.c.now(), retryAt); err != nil {
		w.log.LogAttrs(ctx, slogWarn, "worker: record job failure failed", append(attrs, attrErr(err))...)
		return
	}
	if retryAt != nil {
		w.log.LogAttrs(ctx, slogWarn, "worker: job failed, will retry", append(attrs, slog.String("error", msg), slog.Time("retry_at", *retryAt))...)
	} else {
		w.log.LogAttrs(ctx, slogWarn, "worker: job failed", append(attrs, slog.String("error", msg))...)
	}
}

// recordSourceError puts msg on the job's source.
func (w *Worker) recordSourceError(ctx context.Context, job Job, msg string) {
	src, err := w.c.store.GetSource(ctx, job.TenantID, job.SourceID)
	if err != nil {
		return
	}
	w.c.finishSource(ctx, src, record.SourceState{
		Status: StatusError, Error: msg, DocumentCount: src.DocumentCount, ChunkCount: src.ChunkCount, LastIngestedAt: src.LastIngestedAt,
	})
}

// permanent reports an ingestion error that another attempt would not
// fix: a source gone or misconfigured, or only documents that are bad in
// themselves (empty, invalid UTF-8).
func permanent(err error) bool {
	var ie *IngestError
	if errors.As(err, &ie) {
		for _, d := range ie.Failed {
			if !permanent(d.Err) {
				return false
			}
		}
		return len(ie.Failed) > 0
	}
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrForbidden) ||
		errors.Is(err, chunk.ErrInvalidUTF8) || errors.Is(err, loader.ErrBlockedAddress)
}
