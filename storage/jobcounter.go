package storage

import "context"

// JobCounter is an optional capability of a Storage: the depth of the
// ingestion queue, over every tenant, for the minirag.jobs gauge (see
// docs/OBSERVABILITY.md). Callers find it by type assertion and report
// nothing when it is absent:
//
//	if jc, ok := s.(storage.JobCounter); ok {
//		queued, running, err = jc.CountJobs(ctx)
//	}
//
// Like ClaimJob it reads across tenants; it returns counts only.
// storage/sqlite and storage/postgres implement it; storage/storagetest
// checks it on every store that offers it.
type JobCounter interface {
	// CountJobs returns how many jobs are queued (due or not yet due) and
	// how many are running (leased, an expired lease included).
	CountJobs(ctx context.Context) (queued, running int, err error)
}
