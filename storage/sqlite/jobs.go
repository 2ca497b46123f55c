package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/minirag/minirag/record"
)

// EnqueueJob stores a queued job. A source that is not of the job's tenant
// is record.ErrNotFound.
func (s *Store) EnqueueJob(ctx context.Context, j record.Job) error {
	const op = "enqueue job"
	if err := checkTenant(ctx, op, j.TenantID); err != nil {
		return err
	}
	if j.ID == "" {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("id", "is required"))
	}
	status := j.Status
	if status == "" {
		status = record.JobQueued
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO jobs (id, tenant_id, source_id, kind, status, attempts, max_attempts, run_at,
			lease_owner, lease_expires_at, last_error, created_at, updated_at, finished_at, payload, trace_context)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.TenantID, j.SourceID, j.Kind, string(status), j.Attempts, j.MaxAttempts, tm(j.RunAt),
		j.LeaseOwner, tmPtr(j.LeaseExpiresAt), j.LastError, tm(j.CreatedAt), tm(j.UpdatedAt), tmPtr(j.FinishedAt),
		payload(j.Payload), j.TraceContext)
	if isFKViolation(err) {
		return fmt.Errorf("sqlite: %s: source: %w", op, record.ErrNotFound)
	}
	if err != nil {
		return opErr(ctx, op, err)
	}
	return nil
}

const jobCols = `id, tenant_id, source_id, kind, status, attempts, max_attempts, run_at, lease_owner, lease_expires_at,
	last_error, created_at, updated_at, finished_at, payload, trace_context`

// payload is a job's Payload as a column value: NULL for nil, a BLOB
// otherwise (an empty one included).
func payload(p []byte) any {
	if p == nil {
		return nil
	}
	return p
}

func scanJob(sc interface{ Scan(...any) error }) (record.Job, error) {
	var j record.Job
	var status string
	var run, c, u int64
	var lease, fin sql.NullInt64
	if err := sc.Scan(&j.ID, &j.TenantID, &j.SourceID, &j.Kind, &status, &j.Attempts, &j.MaxAttempts, &run, &j.LeaseOwner, &lease,
		&j.LastError, &c, &u, &fin, &j.Payload, &j.TraceContext); err != nil {
		return j, err
	}
	j.Status = record.JobStatus(status)
	j.RunAt, j.CreatedAt, j.UpdatedAt = fromTm(run), fromTm(c), fromTm(u)
	j.LeaseExpiresAt, j.FinishedAt = fromTmPtr(lease), fromTmPtr(fin)
	return j, nil
}

// GetJob returns a job of the tenant.
func (s *Store) GetJob(ctx context.Context, tenantID, id string) (record.Job, error) {
	if err := checkTenant(ctx, "get job", tenantID); err != nil {
		return record.Job{}, err
	}
	j, err := scanJob(s.q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return record.Job{}, opErr(ctx, "get job", err)
	}
	return j, nil
}

// ListJobs lists a tenant's jobs, newest first, only those of sourceID when
// it is not empty.
func (s *Store) ListJobs(ctx context.Context, tenantID, sourceID string) ([]record.Job, error) {
	if err := checkTenant(ctx, "list jobs", tenantID); err != nil {
		return nil, err
	}
	if sourceID != "" {
		return queryList(ctx, s.q, "list jobs", scanJob,
			`SELECT `+jobCols+` FROM jobs WHERE tenant_id = ? AND source_id = ? ORDER BY created_at DESC, seq DESC`, tenantID, sourceID)
	}
	return queryList(ctx, s.q, "list jobs", scanJob,
		`SELECT `+jobCols+` FROM jobs WHERE tenant_id = ? ORDER BY created_at DESC, seq DESC`, tenantID)
}

// ClaimJob gives worker the oldest claimable job of any tenant (queued with
// RunAt <= now, or running with an expired lease, ordered by RunAt then
// creation) and marks it running, Attempts+1, leased until now+lease. It is
// one UPDATE … RETURNING in a write transaction, so two claimers never get
// the same job. record.ErrNotFound when there is none.
func (s *Store) ClaimJob(ctx context.Context, worker string, now time.Time, lease time.Duration) (record.Job, error) {
	const op = "claim job"
	if err := ctx.Err(); err != nil {
		return record.Job{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if worker == "" {
		return record.Job{}, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("worker", "is required"))
	}
	if lease <= 0 {
		return record.Job{}, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("lease", "must be positive"))
	}
	var j record.Job
	err := s.withTx(ctx, func(tx *Store) error {
		var err error
		j, err = scanJob(tx.q.QueryRowContext(ctx, `UPDATE jobs
			SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?, updated_at = ?
			WHERE seq = (
				SELECT seq FROM jobs
				WHERE (status = 'queued' AND run_at <= ?) OR (status = 'running' AND lease_expires_at <= ?)
				ORDER BY run_at, created_at, seq
				LIMIT 1)
			RETURNING `+jobCols,
			worker, tm(now.Add(lease)), tm(now), tm(now), tm(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: %s: no job to claim: %w", op, record.ErrNotFound)
		}
		if err != nil {
			return opErr(ctx, op, err)
		}
		return nil
	})
	if err != nil {
		return record.Job{}, err
	}
	return j, nil
}

// held finishes an update of a job that worker must hold: ErrNotFound when
// the job does not exist, ErrConflict when worker does not hold it.
func (s *Store) held(ctx context.Context, q querier, op, jobID string, res sql.Result, err error) error {
	if err != nil {
		return opErr(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return opErr(ctx, op, err)
	}
	if n > 0 {
		return nil
	}
	ok, err := exists(ctx, q, `SELECT 1 FROM jobs WHERE id = ?`, jobID)
	if err != nil {
		return opErr(ctx, op, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: %w", op, record.ErrNotFound)
	}
	return fmt.Errorf("sqlite: %s: %w: the worker no longer holds the job's lease", op, record.ErrConflict)
}

// ExtendLease moves the lease of a job worker holds to until.
// record.ErrConflict when worker no longer holds it.
func (s *Store) ExtendLease(ctx context.Context, jobID, worker string, until time.Time) error {
	const op = "extend lease"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return s.withTx(ctx, func(tx *Store) error {
		res, err := tx.q.ExecContext(ctx, `UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND status = 'running' AND lease_owner = ?`,
			tm(until), jobID, worker)
		return s.held(ctx, tx.q, op, jobID, res, err)
	})
}

// CompleteJob marks a job worker holds done. record.ErrConflict when worker
// no longer holds it.
func (s *Store) CompleteJob(ctx context.Context, jobID, worker string, at time.Time) error {
	const op = "complete job"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return s.withTx(ctx, func(tx *Store) error {
		res, err := tx.q.ExecContext(ctx, `UPDATE jobs SET status = 'done', lease_expires_at = NULL, updated_at = ?, finished_at = ?
			WHERE id = ? AND status = 'running' AND lease_owner = ?`,
			tm(at), tm(at), jobID, worker)
		return s.held(ctx, tx.q, op, jobID, res, err)
	})
}

// FailJob records errText on a job worker holds; with retryAt non-nil the
// job is queued again to run then (its lease cleared), otherwise it is
// failed. record.ErrConflict when worker no longer holds it.
func (s *Store) FailJob(ctx context.Context, jobID, worker, errText string, at time.Time, retryAt *time.Time) error {
	const op = "fail job"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return s.withTx(ctx, func(tx *Store) error {
		var res sql.Result
		var err error
		if retryAt != nil {
			res, err = tx.q.ExecContext(ctx, `UPDATE jobs SET status = 'queued', run_at = ?, lease_owner = '', lease_expires_at = NULL,
					last_error = ?, updated_at = ?
				WHERE id = ? AND status = 'running' AND lease_owner = ?`,
				tm(*retryAt), errText, tm(at), jobID, worker)
		} else {
			res, err = tx.q.ExecContext(ctx, `UPDATE jobs SET status = 'failed', lease_expires_at = NULL, last_error = ?, updated_at = ?,
					finished_at = ?
				WHERE id = ? AND status = 'running' AND lease_owner = ?`,
				errText, tm(at), tm(at), jobID, worker)
		}
		return s.held(ctx, tx.q, op, jobID, res, err)
	})
}
