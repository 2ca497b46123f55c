package postgres

import (
	"context"

	"github.com/minirag/minirag/storage"
)

var _ storage.JobCounter = (*Store)(nil)

// CountJobs returns how many jobs, of every tenant, are queued and how
// many are running (storage.JobCounter). It reads the partial indexes
// jobs_queued and jobs_running.
func (s *Store) CountJobs(ctx context.Context) (queued, running int, err error) {
	err = s.q.QueryRow(ctx, s.sql(`SELECT
		(SELECT count(*) FROM @.jobs WHERE status = 'queued'),
		(SELECT count(*) FROM @.jobs WHERE status = 'running')`)).Scan(&queued, &running)
	if err != nil {
		return 0, 0, wrapErr(ctx, "count jobs", err)
	}
	return queued, running, nil
}
