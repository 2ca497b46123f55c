package sqlite

import (
	"context"

	"github.com/minirag/minirag/storage"
)

var _ storage.JobCounter = (*Store)(nil)

// CountJobs returns how many jobs, of every tenant, are queued and how
// many are running (storage.JobCounter). It reads the jobs_queue index.
func (s *Store) CountJobs(ctx context.Context) (queued, running int, err error) {
	err = s.q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM jobs WHERE status = 'queued'),
		(SELECT count(*) FROM jobs WHERE status = 'running')`).Scan(&queued, &running)
	if err != nil {
		return 0, 0, opErr(ctx, "count jobs", err)
	}
	return queued, running, nil
}
