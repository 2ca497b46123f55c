package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

func testJobs(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	src1, src2 := f.newSource(ten.ID, bot.ID), f.newSource(ten.ID, bot.ID)

	j1 := f.newJob(ten.ID, src1.ID, at(0))
	j2 := f.newJob(ten.ID, src1.ID, at(5))
	j3 := f.newJob(ten.ID, src2.ID, at(100)) // not yet due
	j4 := f.newJob(ten.ID, src2.ID, at(6))

	got, err := s.GetJob(ctx, ten.ID, j1.ID)
	f.must(err, "GetJob")
	f.equal("GetJob", j1, got)
	_, err = s.GetJob(ctx, ten.ID, f.id("missing"))
	f.wantErr(err, record.ErrNotFound, "GetJob of an unknown ID")

	list, err := s.ListJobs(ctx, ten.ID, "")
	f.must(err, "ListJobs")
	f.equal("ListJobs (newest first)", []record.Job{j4, j3, j2, j1}, list)
	list, err = s.ListJobs(ctx, ten.ID, src1.ID)
	f.must(err, "ListJobs of a source")
	f.equal("ListJobs of a source", []record.Job{j2, j1}, list)

	dup := j1
	f.wantErr(s.EnqueueJob(ctx, dup), record.ErrConflict, "EnqueueJob with a duplicate ID")

	// Claims go oldest first (by RunAt) and only to due jobs.
	now, lease := at(10), 24*time.Hour
	for _, want := range []record.Job{j1, j2, j4} {
		c, err := s.ClaimJob(ctx, "worker-1", now, lease)
		f.must(err, "ClaimJob")
		want.Status, want.Attempts, want.LeaseOwner, want.LeaseExpiresAt = record.JobRunning, 1, "worker-1", ptr(now.Add(lease))
		if c.ID != want.ID {
			f.t.Errorf("ClaimJob: got job %s, want %s (the oldest due job)", c.ID, want.ID)
			continue
		}
		// UpdatedAt is the adapter's to set on a claim.
		want.UpdatedAt = c.UpdatedAt
		f.equal("ClaimJob result", want, c)
		got, err := s.GetJob(ctx, ten.ID, c.ID)
		f.must(err, "GetJob after ClaimJob")
		f.equal("GetJob after ClaimJob", c, got)
	}
	_, err = s.ClaimJob(ctx, "worker-1", now, lease)
	f.wantErr(err, record.ErrNotFound, "ClaimJob when the only queued job has RunAt in the future")
	c, err := s.ClaimJob(ctx, "worker-2", at(100), time.Minute)
	f.must(err, "ClaimJob once RunAt has come")
	if c.ID != j3.ID {
		f.t.Errorf("ClaimJob at RunAt: got %s, want %s", c.ID, j3.ID)
	}

	f.must(s.CompleteJob(ctx, j3.ID, "worker-2", at(100)), "CompleteJob")

	// ClaimJob serves every tenant.
	other := f.newTenant()
	oj := f.newJob(other.ID, f.newSource(other.ID, f.newBot(other.ID).ID).ID, at(101))
	c, err = s.ClaimJob(ctx, "worker-2", at(102), time.Minute)
	f.must(err, "ClaimJob of another tenant's job")
	if c.ID != oj.ID || c.TenantID != other.ID || c.SourceID != oj.SourceID {
		f.t.Errorf("ClaimJob: got job %s of tenant %s, want %s of tenant %s", c.ID, c.TenantID, oj.ID, other.ID)
	}
}

func testJobLeases(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	src := f.newSource(ten.ID, f.newBot(ten.ID).ID)
	job := f.newJob(ten.ID, src.ID, at(0))

	c, err := s.ClaimJob(ctx, "w1", at(0), time.Minute)
	f.must(err, "ClaimJob")
	if c.ID != job.ID || c.Attempts != 1 {
		f.t.Fatalf("ClaimJob: got job %s attempts %d, want %s attempts 1", c.ID, c.Attempts, job.ID)
	}
	_, err = s.ClaimJob(ctx, "w2", at(0).Add(30*time.Second), time.Minute)
	f.wantErr(err, record.ErrNotFound, "ClaimJob while the only job's lease is held")

	// Extending the lease keeps the job from other workers.
	f.must(s.ExtendLease(ctx, job.ID, "w1", at(3)), "ExtendLease by the holder")
	got, err := s.GetJob(ctx, ten.ID, job.ID)
	f.must(err, "GetJob")
	if got.LeaseExpiresAt == nil || !got.LeaseExpiresAt.Equal(at(3).Truncate(time.Microsecond)) {
		f.t.Errorf("GetJob after ExtendLease: LeaseExpiresAt = %v, want %v", got.LeaseExpiresAt, at(3))
	}
	_, err = s.ClaimJob(ctx, "w2", at(2), time.Minute)
	f.wantErr(err, record.ErrNotFound, "ClaimJob before the extended lease expires")

	// An expired lease: another worker takes the job over.
	c, err = s.ClaimJob(ctx, "w2", at(4), time.Minute)
	f.must(err, "ClaimJob of a job whose lease expired")
	if c.ID != job.ID || c.Attempts != 2 || c.LeaseOwner != "w2" || c.Status != record.JobRunning {
		f.t.Errorf("ClaimJob of an expired lease: got %s attempts %d owner %q status %s, want %s attempts 2 owner w2 running",
			c.ID, c.Attempts, c.LeaseOwner, c.Status, job.ID)
	}
	f.wantErr(s.ExtendLease(ctx, job.ID, "w1", at(9)), record.ErrConflict, "ExtendLease by a worker that lost the lease")
	f.wantErr(s.CompleteJob(ctx, job.ID, "w1", at(5)), record.ErrConflict, "CompleteJob by a worker that lost the lease")
	f.wantErr(s.FailJob(ctx, job.ID, "w1", "late", at(5), nil), record.ErrConflict, "FailJob by a worker that lost the lease")
	f.wantErr(s.FailJob(ctx, job.ID, "w1", "late", at(5), ptr(at(6))), record.ErrConflict, "FailJob with retry by a worker that lost the lease")
	got, err = s.GetJob(ctx, ten.ID, job.ID)
	f.must(err, "GetJob")
	if got.Status != record.JobRunning || got.LeaseOwner != "w2" {
		f.t.Errorf("GetJob after the old holder's calls: status %s owner %q, want running w2", got.Status, got.LeaseOwner)
	}

	// Fail with a retry: queued again to run at retryAt.
	f.must(s.FailJob(ctx, job.ID, "w2", "embedding server said 503", at(5), ptr(at(20))), "FailJob with retryAt")
	got, err = s.GetJob(ctx, ten.ID, job.ID)
	f.must(err, "GetJob after FailJob with retry")
	if got.Status != record.JobQueued || got.LastError != "embedding server said 503" || !got.RunAt.Equal(at(20).Truncate(time.Microsecond)) ||
		got.Attempts != 2 || got.FinishedAt != nil {
		f.t.Errorf("GetJob after FailJob with retry: got status %s error %q RunAt %v attempts %d finished %v; want queued, the error, %v, 2, nil",
			got.Status, got.LastError, got.RunAt, got.Attempts, got.FinishedAt, at(20))
	}
	f.wantErr(s.CompleteJob(ctx, job.ID, "w2", at(6)), record.ErrConflict, "CompleteJob of a re-queued job")
	_, err = s.ClaimJob(ctx, "w3", at(19), time.Minute)
	f.wantErr(err, record.ErrNotFound, "ClaimJob before the retry time")
	c, err = s.ClaimJob(ctx, "w3", at(20), time.Minute)
	f.must(err, "ClaimJob at the retry time")
	if c.ID != job.ID || c.Attempts != 3 {
		f.t.Errorf("ClaimJob at the retry time: got %s attempts %d, want %s attempts 3", c.ID, c.Attempts, job.ID)
	}

	// Fail without a retry: failed for good.
	f.must(s.FailJob(ctx, job.ID, "w3", "gave up", at(21), nil), "FailJob without retry")
	got, err = s.GetJob(ctx, ten.ID, job.ID)
	f.must(err, "GetJob after FailJob")
	if got.Status != record.JobFailed || got.LastError != "gave up" || got.FinishedAt == nil || !got.FinishedAt.Equal(at(21).Truncate(time.Microsecond)) {
		f.t.Errorf("GetJob after FailJob: got status %s error %q finished %v; want failed, gave up, %v", got.Status, got.LastError, got.FinishedAt, at(21))
	}
	_, err = s.ClaimJob(ctx, "w4", at(1000), time.Minute)
	f.wantErr(err, record.ErrNotFound, "ClaimJob when the only job failed")
	f.wantErr(s.CompleteJob(ctx, job.ID, "w3", at(22)), record.ErrConflict, "CompleteJob of a failed job")

	// Complete.
	done := f.newJob(ten.ID, src.ID, at(30))
	c, err = s.ClaimJob(ctx, "w5", at(30), time.Minute)
	f.must(err, "ClaimJob")
	if c.ID != done.ID {
		f.t.Fatalf("ClaimJob: got %s, want %s", c.ID, done.ID)
	}
	f.must(s.CompleteJob(ctx, done.ID, "w5", at(31)), "CompleteJob")
	got, err = s.GetJob(ctx, ten.ID, done.ID)
	f.must(err, "GetJob after CompleteJob")
	if got.Status != record.JobDone || got.FinishedAt == nil || !got.FinishedAt.Equal(at(31).Truncate(time.Microsecond)) || got.Attempts != 1 {
		f.t.Errorf("GetJob after CompleteJob: got status %s finished %v attempts %d; want done, %v, 1", got.Status, got.FinishedAt, got.Attempts, at(31))
	}
	_, err = s.ClaimJob(ctx, "w6", at(1000), time.Minute)
	f.wantErr(err, record.ErrNotFound, "ClaimJob when every job is done or failed")
	f.wantErr(s.CompleteJob(ctx, done.ID, "w5", at(32)), record.ErrConflict, "CompleteJob twice")
	f.wantErr(s.ExtendLease(ctx, done.ID, "w5", at(33)), record.ErrConflict, "ExtendLease of a done job")

	err = s.CompleteJob(ctx, f.id("missing"), "w5", at(1))
	if !errors.Is(err, record.ErrNotFound) && !errors.Is(err, record.ErrConflict) {
		f.t.Errorf("CompleteJob of an unknown job: got %v, want ErrNotFound or ErrConflict", err)
	}
}

func testConcurrentClaims(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	src := f.newSource(ten.ID, f.newBot(ten.ID).ID)
	const jobs, workers = 10, 20
	want := map[string]bool{}
	for i := range jobs {
		want[f.newJob(ten.ID, src.ID, at(i)).ID] = true
	}

	var mu sync.Mutex
	claimed := map[string]string{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("worker-%d", w)
			// More claims than jobs by one worker means jobs are handed
			// out again: stop rather than loop forever.
			for range jobs + 1 {
				j, err := s.ClaimJob(ctx, name, at(60), time.Hour)
				if errors.Is(err, record.ErrNotFound) {
					return
				}
				if err != nil {
					f.t.Errorf("ClaimJob by %s: %v", name, err)
					return
				}
				mu.Lock()
				if other, ok := claimed[j.ID]; ok {
					f.t.Errorf("ClaimJob: job %s given to both %s and %s", j.ID, other, name)
				}
				claimed[j.ID] = name
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != jobs {
		f.t.Errorf("concurrent ClaimJob: %d jobs claimed, want %d", len(claimed), jobs)
	}
	for id := range want {
		if _, ok := claimed[id]; !ok {
			f.t.Errorf("concurrent ClaimJob: job %s never claimed", id)
		}
	}
	// Each job is leased to the worker that got it.
	for id, w := range claimed {
		j, err := s.GetJob(ctx, ten.ID, id)
		f.must(err, "GetJob")
		if j.LeaseOwner != w || j.Attempts != 1 {
			f.t.Errorf("job %s: owner %q attempts %d, want %q and 1", id, j.LeaseOwner, j.Attempts, w)
		}
	}
}

// testJobPayload: a job's Payload (any bytes, large ones included) and
// TraceContext are stored as given and come back from GetJob, ListJobs,
// ListJobsPage and ClaimJob, and stay through a completion; a job without
// them has none; a returned Payload is the caller's.
func testJobPayload(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	src := f.newSource(ten.ID, f.newBot(ten.ID).ID)

	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	withPayload := record.Job{ID: f.id("job"), TenantID: ten.ID, SourceID: src.ID, Kind: "documents", Status: record.JobQueued,
		MaxAttempts: 3, RunAt: at(0), CreatedAt: f.tick(), UpdatedAt: f.tick(),
		Payload:      []byte("\x00\xff{\"documents\":[]}\x00 not UTF-8: \xc3\x28"),
		TraceContext: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	f.must(s.EnqueueJob(ctx, withPayload), "EnqueueJob with a payload")
	large := withPayload
	large.ID, large.Payload, large.TraceContext, large.RunAt, large.CreatedAt = f.id("job"), big, "", at(1), f.tick()
	f.must(s.EnqueueJob(ctx, large), "EnqueueJob with a 256 KiB payload")
	plain := f.newJob(ten.ID, src.ID, at(2))

	for _, want := range []record.Job{withPayload, large, plain} {
		got, err := s.GetJob(ctx, ten.ID, want.ID)
		f.must(err, "GetJob")
		f.equal("GetJob of a job with payload "+fmt.Sprint(len(want.Payload)), want, got)
	}
	list, err := s.ListJobs(ctx, ten.ID, src.ID)
	f.must(err, "ListJobs")
	f.equal("ListJobs", []record.Job{plain, large, withPayload}, list)
	page, _, err := s.ListJobsPage(ctx, ten.ID, "", storage.Page{Limit: 10})
	f.must(err, "ListJobsPage")
	f.equal("ListJobsPage", []record.Job{plain, large, withPayload}, page)

	// A returned payload is a copy.
	got, err := s.GetJob(ctx, ten.ID, withPayload.ID)
	f.must(err, "GetJob")
	got.Payload[0] = 'X'
	got, err = s.GetJob(ctx, ten.ID, withPayload.ID)
	f.must(err, "GetJob")
	f.equal("GetJob after changing a returned payload", withPayload, got)

	c, err := s.ClaimJob(ctx, "worker-p", at(10), time.Hour)
	f.must(err, "ClaimJob")
	if c.ID != withPayload.ID {
		f.t.Fatalf("ClaimJob: got %s, want %s", c.ID, withPayload.ID)
	}
	f.equal("ClaimJob's Payload", withPayload.Payload, c.Payload)
	if c.TraceContext != withPayload.TraceContext {
		f.t.Errorf("ClaimJob's TraceContext: got %q, want %q", c.TraceContext, withPayload.TraceContext)
	}
	f.must(s.CompleteJob(ctx, c.ID, "worker-p", at(11)), "CompleteJob")
	got, err = s.GetJob(ctx, ten.ID, c.ID)
	f.must(err, "GetJob after CompleteJob")
	f.equal("Payload after CompleteJob", withPayload.Payload, got.Payload)
	if got.TraceContext != withPayload.TraceContext {
		f.t.Errorf("TraceContext after CompleteJob: got %q, want %q", got.TraceContext, withPayload.TraceContext)
	}
	c, err = s.ClaimJob(ctx, "worker-p", at(10), time.Hour)
	f.must(err, "ClaimJob")
	f.equal("ClaimJob's 256 KiB Payload", big, c.Payload)
}
