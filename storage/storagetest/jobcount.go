package storagetest

import (
	"time"

	"github.com/minirag/minirag/storage"
)

// testJobCounter checks storage.JobCounter (optional): queued jobs, due or
// not, and running ones are counted over every tenant; done and failed
// ones are not.
func testJobCounter(f *fixture) {
	jc, ok := f.s.(storage.JobCounter)
	if !ok {
		f.t.Skipf("storagetest: %T does not implement storage.JobCounter (optional)", f.s)
	}
	s, ctx := f.s, f.ctx
	count := func(what string, wantQueued, wantRunning int) {
		f.t.Helper()
		q, r, err := jc.CountJobs(ctx)
		f.must(err, "CountJobs "+what)
		if q != wantQueued || r != wantRunning {
			f.t.Errorf("CountJobs %s: got %d queued, %d running; want %d, %d", what, q, r, wantQueued, wantRunning)
		}
	}
	count("of an empty store", 0, 0)

	a, b := f.newTenant(), f.newTenant()
	srcA := f.newSource(a.ID, f.newBot(a.ID).ID)
	srcB := f.newSource(b.ID, f.newBot(b.ID).ID)
	f.newJob(a.ID, srcA.ID, at(0))
	f.newJob(a.ID, srcA.ID, at(1))
	f.newJob(b.ID, srcB.ID, at(2))
	f.newJob(b.ID, srcB.ID, at(500)) // not yet due: still queued
	count("after four enqueues in two tenants", 4, 0)

	var claimed []string
	for range 3 {
		j, err := s.ClaimJob(ctx, "worker", at(10), time.Hour)
		f.must(err, "ClaimJob")
		claimed = append(claimed, j.ID)
	}
	count("after three claims", 1, 3)
	f.must(s.CompleteJob(ctx, claimed[0], "worker", at(11)), "CompleteJob")
	f.must(s.FailJob(ctx, claimed[1], "worker", "boom", at(11), nil), "FailJob")
	count("after one done and one failed", 1, 1)
	retry := at(20)
	f.must(s.FailJob(ctx, claimed[2], "worker", "again", at(11), &retry), "FailJob with a retry")
	count("after a retry is queued again", 2, 0)
}
