package minirag_test

// The ingestion queue shared by several processes: TestMultiProcessWorkers
// starts three worker processes (this test binary again, running
// TestHelperWorker) on one PostgreSQL schema (storage/postgres) and one
// pgvector schema, queues 30 ingestion jobs, kills (SIGKILL) the process
// that holds one slow job mid-run, and checks that every job was done
// exactly once: the jobs table, what each worker logged as done, and what
// each worker embedded; and that the index is consistent afterwards
// (Client.Reconcile, dry run: every chunk has its vector, no orphan).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// Environment of a helper worker process.
const (
	envHelperWorker    = "MINIRAG_HELPER_WORKER" // "1": TestHelperWorker acts as a worker
	envHelperID        = "MINIRAG_HELPER_ID"
	envHelperDir       = "MINIRAG_HELPER_DIR" // logs and the slow job's claim file
	envHelperPGSchema  = "MINIRAG_HELPER_PG_SCHEMA"
	envHelperVecSchema = "MINIRAG_HELPER_VEC_SCHEMA"

	// mpSlowWord marks the one document whose first embedding stalls.
	mpSlowWord = "slowpoke"
	// mpSlowClaim is the file the stalling worker creates (O_EXCL) and
	// writes its ID to: only the first worker to embed the slow document
	// stalls; the next one, after the lease expired, runs it at once.
	mpSlowClaim = "slow.claim"
	mpJobs      = 30
	mpWorkers   = 3
	mpLease     = 2 * time.Second
)

// mpEmbedder is the helper's embedder: it logs every text it embeds, and
// stalls on the slow document the first time any worker meets it.
type mpEmbedder struct {
	embed.Embedder
	id, dir string
	log     *slog.Logger
}

func (e *mpEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for _, t := range texts {
		if !strings.Contains(t, mpSlowWord) {
			continue
		}
		f, err := os.OpenFile(filepath.Join(e.dir, mpSlowClaim), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, os.ErrExist) {
			break // another worker stalled on it already: run it
		}
		if err != nil {
			return nil, err
		}
		_, werr := f.WriteString(e.id)
		if cerr := f.Close(); werr != nil || cerr != nil {
			return nil, errors.Join(werr, cerr)
		}
		e.log.Info("helper: stalling on the slow document")
		<-ctx.Done() // until killed (or stopped)
		return nil, ctx.Err()
	}
	for _, t := range texts {
		e.log.Info("helper: embedded", "text", t)
	}
	return e.Embedder.Embed(ctx, texts)
}

// Lexical forwards the hashing embedder's capability.
func (e *mpEmbedder) Lexical() bool {
	l, ok := e.Embedder.(interface{ Lexical() bool })
	return ok && l.Lexical()
}

// TestHelperWorker is not a test: TestMultiProcessWorkers runs the test
// binary again with -test.run=^TestHelperWorker$ and MINIRAG_HELPER_WORKER=1,
// and this function then is one worker process, until SIGINT/SIGTERM (or
// SIGKILL), or 50 s at most.
func TestHelperWorker(t *testing.T) {
	if os.Getenv(envHelperWorker) != "1" {
		t.Skip("helper process of TestMultiProcessWorkers; runs only when started by it")
	}
	id, dir := os.Getenv(envHelperID), os.Getenv(envHelperDir)
	pgURL, vecURL := testsvc.PostgresURL(t), testsvc.PGVectorURL(t)
	logf, err := os.OpenFile(filepath.Join(dir, id+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	defer logf.Close()
	// Unbuffered: every record is in the file before the next line runs,
	// so a SIGKILL loses nothing already logged.
	log := slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo})).With("pid", os.Getpid())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 50*time.Second)
	defer cancel()

	st, err := postgres.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, pgURL, 3)), postgres.WithSchema(os.Getenv(envHelperPGSchema)))
	require.NoError(t, err)
	vs, err := pgvector.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, vecURL, 1)), pgvector.Options{Schema: os.Getenv(envHelperVecSchema)})
	require.NoError(t, err)
	hash, err := hashing.New(hashing.Config{Dimensions: 128})
	require.NoError(t, err)
	c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: &mpEmbedder{Embedder: hash, id: id, dir: dir, log: log}, Logger: log})
	require.NoError(t, err)
	defer c.Close()
	w, err := c.NewWorker(minirag.WorkerConfig{ID: id, Lease: mpLease, PollInterval: 100 * time.Millisecond,
		Backoff: func(int) time.Duration { return 200 * time.Millisecond }})
	require.NoError(t, err)
	log.Info("helper: ready")
	require.NoError(t, w.Run(ctx))
	log.Info("helper: stopped", "cause", fmt.Sprint(context.Cause(ctx)))
}

// mpProc is one helper worker process.
type mpProc struct {
	id     string
	cmd    *exec.Cmd
	out    bytes.Buffer // stdout and stderr
	done   chan struct{}
	killed bool
}

// mpLogRecord is one line of a helper's log.
type mpLogRecord struct {
	Msg    string `json:"msg"`
	JobID  string `json:"job_id"`
	Worker string `json:"worker"`
	Text   string `json:"text"`
}

func readMPLog(t *testing.T, path string) []mpLogRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	// A line still being written (no newline yet) is left for later.
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	var recs []mpLogRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r mpLogRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "log line %q", sc.Text())
		recs = append(recs, r)
	}
	require.NoError(t, sc.Err())
	return recs
}

func TestMultiProcessWorkers(t *testing.T) {
	pgURL, vecURL := testsvc.PostgresURL(t), testsvc.PGVectorURL(t)
	if testing.Short() {
		t.Skip("starts three worker processes; not in -short mode")
	}
	// The whole test stops itself within a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	defer cancel()

	pgSchema, vecSchema := testsvc.Schema(t, pgURL), testsvc.Schema(t, vecURL)
	pool := testsvc.Pool(t, testsvc.PoolConfig(t, pgURL, 2))
	st, err := postgres.New(ctx, pool, postgres.WithSchema(pgSchema))
	require.NoError(t, err)
	c, err := minirag.New(minirag.Config{Storage: st})
	require.NoError(t, err)
	defer c.Close()
	table := func(name string) string { return pgx.Identifier{pgSchema, name}.Sanitize() }

	// Two tenants, 15 text sources each, one job per source. The slow
	// document is queued first, so that it is claimed early.
	var handles []*minirag.TenantHandle
	for _, slug := range []string{"north", "south"} {
		b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: slug, Slug: slug, OwnerEmail: "owner@" + slug + ".example"})
		require.NoError(t, err)
		handles = append(handles, c.Tenant(b.Tenant.ID))
	}
	bots := make([]minirag.Bot, len(handles))
	for i, h := range handles {
		bots[i], err = h.CreateBot(ctx, minirag.BotParams{Name: "bot"})
		require.NoError(t, err)
	}
	jobSource := map[string]string{}  // job ID -> source ID
	sourceWord := map[string]string{} // source ID -> the word only its document holds
	var slowJob string
	for i := range mpJobs {
		h, bot := handles[i%2], bots[i%2]
		word := fmt.Sprintf("token%02dx", i)
		content := fmt.Sprintf("Document %d of the queue test mentions %s and nothing else of note.", i, word)
		if i == 0 {
			content += " It is the " + mpSlowWord + " document."
		}
		src, err := h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: fmt.Sprintf("doc %02d", i), Type: minirag.SourceText,
			Config: loader.TextConfig{Content: content}})
		require.NoError(t, err)
		job, err := h.EnqueueIngest(ctx, src.ID)
		require.NoError(t, err)
		jobSource[job.ID], sourceWord[src.ID] = src.ID, word
		if i == 0 {
			slowJob = job.ID
		}
	}

	// Three worker processes.
	dir := t.TempDir()
	procs := make([]*mpProc, mpWorkers)
	for i := range procs {
		p := &mpProc{id: fmt.Sprintf("w%d", i+1), done: make(chan struct{})}
		p.cmd = exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperWorker$", "-test.count=1", "-test.timeout=58s")
		p.cmd.Env = append(os.Environ(), envHelperWorker+"=1", envHelperID+"="+p.id, envHelperDir+"="+dir,
			envHelperPGSchema+"="+pgSchema, envHelperVecSchema+"="+vecSchema)
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		require.NoError(t, p.cmd.Start())
		go func() { _ = p.cmd.Wait(); close(p.done) }()
		procs[i] = p
	}
	var stopOnce sync.Once
	stopAll := func() {
		stopOnce.Do(func() {
			for _, p := range procs {
				if !p.killed {
					_ = p.cmd.Process.Signal(os.Interrupt)
				}
			}
			for _, p := range procs {
				select {
				case <-p.done:
				case <-time.After(15 * time.Second):
					_ = p.cmd.Process.Kill()
					<-p.done
				}
			}
		})
	}
	t.Cleanup(stopAll)
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				t.Logf("worker %s output:\n%s", p.id, p.out.String())
				b, _ := os.ReadFile(filepath.Join(dir, p.id+".log"))
				t.Logf("worker %s log:\n%s", p.id, b)
			}
		}
	})

	// wait polls cond every 50 ms until it holds or ctx ends.
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s", what)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	jobRow := func(id string) (status, owner string, attempts int) {
		t.Helper()
		require.NoError(t, pool.QueryRow(ctx, "SELECT status, lease_owner, attempts FROM "+table("jobs")+" WHERE id = $1", id).
			Scan(&status, &owner, &attempts))
		return
	}

	// The worker stalling on the slow job holds it (running, its lease):
	// kill it there.
	var victim string
	wait("a worker to stall on the slow job", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, mpSlowClaim))
		victim = string(b)
		return err == nil && victim != ""
	})
	wait("the slow job to show running under the stalling worker's lease", func() bool {
		status, owner, _ := jobRow(slowJob)
		return status == string(minirag.JobRunning) && owner == victim
	})
	var killedProc *mpProc
	for _, p := range procs {
		if p.id == victim {
			killedProc = p
		}
	}
	require.NotNil(t, killedProc, "stalling worker %q", victim)
	killedProc.killed = true
	require.NoError(t, killedProc.cmd.Process.Kill()) // SIGKILL: no cleanup, the lease is left to expire
	<-killedProc.done
	killedAt := time.Now()
	status, owner, attempts := jobRow(slowJob)
	assert.Equal(t, string(minirag.JobRunning), status, "the killed worker's job is still running under its lease")
	assert.Equal(t, victim, owner)
	assert.Equal(t, 1, attempts)

	// The others drain the queue, the slow job included once its lease
	// expired.
	wait("all jobs done", func() bool {
		var done int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table("jobs")+" WHERE status = 'done'").Scan(&done))
		return done == mpJobs
	})
	rescuedAfter := time.Since(killedAt)
	// Stop the survivors once each is up (a stop during start-up would
	// fail it).
	wait("every surviving worker to be ready", func() bool {
		for _, p := range procs {
			if p == killedProc {
				continue
			}
			ready := false
			for _, r := range readMPLog(t, filepath.Join(dir, p.id+".log")) {
				ready = ready || r.Msg == "helper: ready"
			}
			if !ready {
				return false
			}
		}
		return true
	})
	stopAll()
	for _, p := range procs {
		if p != killedProc {
			assert.Equal(t, 0, p.cmd.ProcessState.ExitCode(), "worker %s exit", p.id)
		}
	}

	// The jobs table: 30 done, one attempt each but the slow job's two,
	// the second by another worker.
	rows, err := pool.Query(ctx, "SELECT id, source_id, status, attempts, lease_owner FROM "+table("jobs"))
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var id, src, status, owner string
		var attempts int
		require.NoError(t, rows.Scan(&id, &src, &status, &attempts, &owner))
		n++
		assert.Equal(t, jobSource[id], src)
		assert.Equal(t, string(minirag.JobDone), status, "job %s", id)
		if id == slowJob {
			assert.Equal(t, 2, attempts, "the slow job: the killed attempt and the one that finished it")
			assert.NotEqual(t, victim, owner, "the slow job was finished by another worker")
			continue
		}
		assert.Equal(t, 1, attempts, "job %s", id)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, mpJobs, n)

	// What the workers logged: each job done once, by one worker; each
	// source's document embedded once, in all.
	doneBy := map[string][]string{}
	embedded := map[string]int{}
	perWorker := map[string]int{}
	for _, p := range procs {
		for _, r := range readMPLog(t, filepath.Join(dir, p.id+".log")) {
			switch r.Msg {
			case "worker: job done":
				assert.Equal(t, p.id, r.Worker)
				doneBy[r.JobID] = append(doneBy[r.JobID], p.id)
				perWorker[p.id]++
			case "helper: embedded":
				for src, word := range sourceWord {
					if strings.Contains(r.Text, word) {
						embedded[src]++
					}
				}
			}
		}
	}
	assert.Len(t, doneBy, mpJobs)
	for id := range jobSource {
		assert.Len(t, doneBy[id], 1, "job %s done by %v", id, doneBy[id])
	}
	assert.NotContains(t, doneBy[slowJob], victim)
	for src := range sourceWord {
		assert.Equal(t, 1, embedded[src], "source %s embedded %d times", src, embedded[src])
	}

	// Storage: one document and one chunk per source, every source ready;
	// pgvector: one vector per source.
	var docs, chunks, ready int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT source_id) FROM "+table("documents")).Scan(&docs, &n))
	assert.Equal(t, mpJobs, docs)
	assert.Equal(t, mpJobs, n)
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT source_id) FROM "+table("chunks")).Scan(&chunks, &n))
	assert.Equal(t, mpJobs, chunks)
	assert.Equal(t, mpJobs, n)
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table("sources")+" WHERE status = 'ready'").Scan(&ready))
	assert.Equal(t, mpJobs, ready)
	vpool := testsvc.Pool(t, testsvc.PoolConfig(t, vecURL, 1))
	hash, err := hashing.New(hashing.Config{Dimensions: 128})
	require.NoError(t, err)
	vs, err := pgvector.New(ctx, vpool, pgvector.Options{Schema: vecSchema})
	require.NoError(t, err)
	var vecs int
	require.NoError(t, vpool.QueryRow(ctx, "SELECT count(*), count(DISTINCT source_id) FROM "+
		pgx.Identifier{vecSchema, vs.TableName(hash.Model())}.Sanitize()).Scan(&vecs, &n))
	assert.Equal(t, mpJobs, vecs)
	assert.Equal(t, mpJobs, n)

	// The index is consistent although a worker died holding a job: every
	// chunk has its vector, labelled with its own bot, source and
	// document, and no vector lacks its chunk (Reconcile, dry run, reads
	// both stores page by page).
	rc, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: hash})
	require.NoError(t, err)
	rep, err := rc.Reconcile(ctx, minirag.ReconcileOptions{DryRun: true})
	require.NoError(t, err)
	assert.True(t, rep.Consistent(), "%+v", rep)
	assert.Equal(t, mpJobs, rep.Chunks)
	assert.Equal(t, mpJobs, rep.Vectors)

	t.Logf("jobs done per worker: %v (killed: %s); slow job finished %s after the kill (lease %s)",
		perWorker, victim, rescuedAfter.Round(time.Millisecond), mpLease)
}
