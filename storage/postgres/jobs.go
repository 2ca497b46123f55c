package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/minirag/minirag/record"
)

// EnqueueJob stores a queued job, its Payload (bytea, NULL for nil) and
// TraceContext included. A source that is not the tenant's is
// record.ErrNotFound.
func (s *Store) EnqueueJob(ctx context.Context, j record.Job) error {
	const op = "enqueue job"
	if err := begin(ctx, op, j.TenantID); err != nil {
		return err
	}
	if j.ID == "" {
		return fmt.Errorf("postgres: %s: %w", op, record.Invalid("id", "is required"))
	}
	status := j.Status
	if status == "" {
		status = record.JobQueued
	}
	_, err := s.q.Exec(ctx, s.sql(`INSERT INTO @.jobs (id, tenant_id, source_id, kind, status, attempts, max_attempts, run_at,
			lease_owner, lease_expires_at, last_error, created_at, updated_at, finished_at, payload, trace_context)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`),
		j.ID, j.TenantID, j.SourceID, j.Kind, string(status), j.Attempts, j.MaxAttempts, j.RunAt,
		j.LeaseOwner, j.LeaseExpiresAt, j.LastError, j.CreatedAt, j.UpdatedAt, j.FinishedAt, j.Payload, j.TraceContext)
	return wrapErr(ctx, op, err)
}

const jobCols = `id, tenant_id, source_id, kind, status, attempts, max_attempts, run_at, lease_owner, lease_expires_at,
	last_error, created_at, updated_at, finished_at, payload, trace_context`

func scanJob(r pgx.Row) (record.Job, error) {
	var j record.Job
	var status string
	err := r.Scan(&j.ID, &j.TenantID, &j.SourceID, &j.Kind, &status, &j.Attempts, &j.MaxAttempts, &j.RunAt, &j.LeaseOwner,
		&j.LeaseExpiresAt, &j.LastError, &j.CreatedAt, &j.UpdatedAt, &j.FinishedAt, &j.Payload, &j.TraceContext)
	j.Status = record.JobStatus(status)
	j.RunAt, j.LeaseExpiresAt, j.CreatedAt, j.UpdatedAt, j.FinishedAt =
		utc(j.RunAt), utcPtr(j.LeaseExpiresAt), utc(j.CreatedAt), utc(j.UpdatedAt), utcPtr(j.FinishedAt)
	return j, err
}

// GetJob returns a job of the tenant.
func (s *Store) GetJob(ctx context.Context, tenantID, id string) (record.Job, error) {
	const op = "get job"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.Job{}, err
	}
	return one(ctx, s, op, scanJob, `SELECT `+jobCols+` FROM @.jobs WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// ListJobs lists a tenant's jobs, newest first, only sourceID's when it is
// not empty.
func (s *Store) ListJobs(ctx context.Context, tenantID, sourceID string) ([]record.Job, error) {
	const op = "list jobs"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	if sourceID != "" {
		return list(ctx, s, op, scanJob, `SELECT `+jobCols+` FROM @.jobs WHERE tenant_id = $1 AND source_id = $2
			ORDER BY created_at DESC, id DESC`, tenantID, sourceID)
	}
	return list(ctx, s, op, scanJob, `SELECT `+jobCols+` FROM @.jobs WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`, tenantID)
}

// ClaimJob gives worker the oldest due job of any tenant (queued with
// RunAt <= now, or running with a lease expired at now), ordered by RunAt
// then creation, and marks it running, Attempts+1, leased until now+lease.
// The row is picked with FOR UPDATE SKIP LOCKED: concurrent claimers, in
// any number of processes, skip each other's rows and never get the same
// job. record.ErrNotFound when there is none.
func (s *Store) ClaimJob(ctx context.Context, worker string, now time.Time, lease time.Duration) (record.Job, error) {
	const op = "claim job"
	if err := ctx.Err(); err != nil {
		return record.Job{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if worker == "" {
		return record.Job{}, fmt.Errorf("postgres: %s: %w", op, record.Invalid("worker", "is required"))
	}
	if lease <= 0 {
		return record.Job{}, fmt.Errorf("postgres: %s: %w", op, record.Invalid("lease", "must be positive"))
	}
	j, err := scanJob(s.q.QueryRow(ctx, s.sql(`UPDATE @.jobs j
		SET status = 'running', attempts = j.attempts + 1, lease_owner = $1, lease_expires_at = $3, updated_at = $2
		FROM (SELECT id FROM @.jobs
			WHERE (status = 'queued' AND run_at <= $2) OR (status = 'running' AND lease_expires_at <= $2)
			ORDER BY run_at, created_at, id
			LIMIT 1
			FOR UPDATE SKIP LOCKED) c
		WHERE j.id = c.id
		RETURNING `+prefixed("j.", jobCols)), worker, now, now.Add(lease)))
	if err != nil {
		return record.Job{}, wrapErr(ctx, op, err)
	}
	return j, nil
}

// held finishes an update of a job that worker must hold: ErrNotFound when
// the job does not exist, ErrConflict when worker does not hold it.
func (s *Store) held(ctx context.Context, op, jobID string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return wrapErr(ctx, op, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var exists bool
	if err := s.q.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM @.jobs WHERE id = $1)`), jobID).Scan(&exists); err != nil {
		return wrapErr(ctx, op, err)
	}
	if !exists {
		return fmt.Errorf("postgres: %s: %w", op, record.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: %w: the worker no longer holds the job's lease", op, record.ErrConflict)
}

// ExtendLease moves the lease of a job worker holds to until.
// record.ErrConflict when worker no longer holds it.
func (s *Store) ExtendLease(ctx context.Context, jobID, worker string, until time.Time) error {
	const op = "extend lease"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	tag, err := s.q.Exec(ctx, s.sql(`UPDATE @.jobs SET lease_expires_at = $3 WHERE id = $1 AND status = 'running' AND lease_owner = $2`),
		jobID, worker, until)
	return s.held(ctx, op, jobID, tag, err)
}

// CompleteJob marks a job worker holds done. record.ErrConflict when
// worker no longer holds it.
func (s *Store) CompleteJob(ctx context.Context, jobID, worker string, at time.Time) error {
	const op = "complete job"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	tag, err := s.q.Exec(ctx, s.sql(`UPDATE @.jobs SET status = 'done', lease_expires_at = NULL, updated_at = $3, finished_at = $3
		WHERE id = $1 AND status = 'running' AND lease_owner = $2`), jobID, worker, at)
	return s.held(ctx, op, jobID, tag, err)
}

// FailJob records errText on a job worker holds; with retryAt non-nil the
// job is queued again to run then (its lease cleared), otherwise it is
// failed. record.ErrConflict when worker no longer holds it.
func (s *Store) FailJob(ctx context.Context, jobID, worker, errText string, at time.Time, retryAt *time.Time) error {
	const op = "fail job"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	var tag pgconn.CommandTag
	var err error
	if retryAt != nil {
		tag, err = s.q.Exec(ctx, s.sql(`UPDATE @.jobs SET status = 'queued', run_at = $5, lease_owner = '', lease_expires_at = NULL,
				last_error = $3, updated_at = $4
			WHERE id = $1 AND status = 'running' AND lease_owner = $2`), jobID, worker, errText, at, *retryAt)
	} else {
		tag, err = s.q.Exec(ctx, s.sql(`UPDATE @.jobs SET status = 'failed', lease_expires_at = NULL, last_error = $3, updated_at = $4,
				finished_at = $4
			WHERE id = $1 AND status = 'running' AND lease_owner = $2`), jobID, worker, errText, at)
	}
	return s.held(ctx, op, jobID, tag, err)
}
