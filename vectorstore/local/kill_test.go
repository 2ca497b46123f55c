package local

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minirag/minirag/vectorstore"
)

// The kill test runs a writer in a child process (this test binary,
// re-executed with killChildEnv set), kills it with SIGKILL at a random
// instant, reopens the folder and checks that every write the child had
// acknowledged is there, and that the write in flight is there entirely or
// not at all.
const (
	killChildEnv = "MINIRAG_LOCAL_KILL_CHILD" // folder,sync(0|1),seed
	killSeedEnv  = "MINIRAG_LOCAL_KILL_SEED"  // replays one round
)

// killOp is the k-th write of a child with seed: an Upsert of batch k, or,
// for k%5 == 4, a Delete by IDs of the records of batch k-2.
func killOp(seed uint64, k int) (recs []vectorstore.Record, del *vectorstore.Filter) {
	if k%5 == 4 {
		ids := make([]string, 0, 40)
		for _, r := range killBatch(seed, k-2) {
			ids = append(ids, r.ID)
		}
		return nil, &vectorstore.Filter{TenantID: "t0", IDs: append(ids, "never-written")}
	}
	return killBatch(seed, k), nil
}

// killBatch is batch k's records: 1 to 40 of them, with vectors of
// testDims, in tenant t0 or t1, some replacing records of earlier batches.
func killBatch(seed uint64, k int) []vectorstore.Record {
	r := rand.New(rand.NewPCG(seed, uint64(k)))
	recs := make([]vectorstore.Record, 1+r.IntN(40))
	for i := range recs {
		id := fmt.Sprintf("b%d-%d", k, i)
		if k > 0 && r.IntN(8) == 0 {
			id = fmt.Sprintf("b%d-0", r.IntN(k)) // replaces an earlier record (if that batch was an upsert)
		}
		v := make([]float32, testDims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		recs[i] = vectorstore.Record{ID: id, TenantID: "t" + strconv.Itoa(r.IntN(2)), BotID: "bot", SourceID: "s" + strconv.Itoa(k%3),
			DocumentID: "d" + strconv.Itoa(k), Vector: v}
	}
	if recs[0].TenantID != "t0" { // deletes name tenant t0: keep some of every batch there
		recs[0].TenantID = "t0"
	}
	return recs
}

// killModel is the state after ops 0..n-1: tenant → ID → record.
func killModel(seed uint64, n int) map[string]map[string]vectorstore.Record {
	m := map[string]map[string]vectorstore.Record{}
	for k := range n {
		recs, del := killOp(seed, k)
		if del != nil {
			for _, id := range del.IDs {
				delete(m[del.TenantID], id)
			}
			continue
		}
		for _, r := range recs {
			if m[r.TenantID] == nil {
				m[r.TenantID] = map[string]vectorstore.Record{}
			}
			m[r.TenantID][r.ID] = r
		}
	}
	for t, recs := range m {
		if len(recs) == 0 {
			delete(m, t)
		}
	}
	return m
}

// killChild is the child's side: write forever, printing "ack k" after
// write k returned.
func killChild(spec string) {
	parts := strings.Split(spec, ",")
	seed, _ := strconv.ParseUint(parts[2], 10, 64)
	s, err := Open(parts[0], WithSync(parts[1] == "1"), WithCompactionThreshold(32<<10))
	if err == nil {
		err = s.Init(context.Background(), testSpace)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	for k := 0; ; k++ {
		recs, del := killOp(seed, k)
		if del != nil {
			err = s.Delete(context.Background(), *del)
		} else {
			err = s.Upsert(context.Background(), recs)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		if _, err := os.Stdout.WriteString("ack " + strconv.Itoa(k) + "\n"); err != nil {
			os.Exit(4)
		}
	}
}

// TestKillAcknowledgedWritesSurvive kills a writing process at random
// instants (10 rounds with the default fsync per write, 10 with
// WithSync(false): a process kill loses nothing in either) and checks
// after each that reopening the folder gives exactly the acknowledged
// writes, plus possibly the whole of the one in flight. The log compacts
// every 32 KiB, so kills also land inside snapshots. Each round's seed is
// logged; MINIRAG_LOCAL_KILL_SEED=<seed> replays it.
func TestKillAcknowledgedWritesSurvive(t *testing.T) {
	if spec := os.Getenv(killChildEnv); spec != "" {
		killChild(spec)
		return
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("needs SIGKILL and flock")
	}
	rounds := 10
	base := uint64(time.Now().UnixNano())
	if v := os.Getenv(killSeedEnv); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", killSeedEnv, err)
		}
		base, rounds = seed, 1
	}
	for _, sync := range []bool{true, false} {
		for i := range rounds {
			seed := base + uint64(i)
			t.Run(fmt.Sprintf("sync=%t/seed=%d", sync, seed), func(t *testing.T) {
				t.Logf("replay with %s=%d", killSeedEnv, seed)
				killRound(t, seed, sync)
			})
		}
	}
}

func killRound(t *testing.T, seed uint64, sync bool) {
	dir := filepath.Join(t.TempDir(), "vs")
	r := rand.New(rand.NewPCG(seed, 99))
	killAfter := 1 + r.IntN(80)                             // acknowledged writes before the kill
	extra := time.Duration(r.IntN(2000)) * time.Microsecond // then a little more, to land mid-write

	syncFlag := "0"
	if sync {
		syncFlag = "1"
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillAcknowledgedWritesSurvive$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir+","+syncFlag+","+strconv.FormatUint(seed, 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "ack "); ok {
			n, err := strconv.Atoi(k)
			if err != nil || n != acked+1 {
				t.Fatalf("child printed %q after ack %d", line, acked)
			}
			acked = n
		}
		if !killed && acked+1 >= killAfter {
			time.Sleep(extra)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill: %v", err)
			}
			killed = true // acks the child wrote before dying are still read
		}
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("child exited before the kill: %v; stderr: %s", werr, stderr.String())
	}
	if acked < 0 {
		t.Fatalf("child acknowledged nothing; stderr: %s", stderr.String())
	}

	// Evidence of where the kill landed: a snapshot or log being replaced.
	space := filepath.Join(dir, folderName(testSpace.Model))
	var midCompaction []string
	for _, name := range []string{snapName + ".tmp", walName + ".tmp"} {
		if _, err := os.Stat(filepath.Join(space, name)); err == nil {
			midCompaction = append(midCompaction, name)
		}
	}
	_, snapErr := os.Stat(filepath.Join(space, snapName))

	s := openInit(t, dir)
	defer mustClose(t, s)
	got := dump(s)
	// Acknowledged: ops 0..acked. In flight: op acked+1, all or nothing.
	okAcked := killStateIs(got, killModel(seed, acked+1))
	okFlight := killStateIs(got, killModel(seed, acked+2))
	if !okAcked && !okFlight {
		t.Fatalf("after a kill with %d writes acknowledged (sync=%t): the store holds neither the acknowledged state nor it plus the write in flight; %s",
			acked+1, sync, killDiff(got, killModel(seed, acked+1)))
	}
	t.Logf("killed after %d acknowledged writes (+%v); write in flight kept: %t; snapshot written before: %t; killed while writing %v",
		acked+1, extra, okFlight && !okAcked, snapErr == nil, midCompaction)

	// The reopened store takes writes, and they persist.
	if err := s.Upsert(context.Background(), killBatch(seed, 1000)); err != nil {
		t.Fatalf("Upsert after reopening: %v", err)
	}
}

// killStateIs reports whether the dumped state holds exactly the model's
// records (IDs and filter IDs equal, vectors in the same direction).
func killStateIs(got map[string]map[string]row, want map[string]map[string]vectorstore.Record) bool {
	return killDiff(got, want) == ""
}

func killDiff(got map[string]map[string]row, want map[string]map[string]vectorstore.Record) string {
	var diffs []string
	for t, recs := range want {
		for id, w := range recs {
			g, ok := got[t][id]
			switch {
			case !ok:
				diffs = append(diffs, fmt.Sprintf("%s/%s missing", t, id))
			case g.Bot != w.BotID || g.Source != w.SourceID || g.Doc != w.DocumentID:
				diffs = append(diffs, fmt.Sprintf("%s/%s has IDs %s/%s/%s, want %s/%s/%s", t, id, g.Bot, g.Source, g.Doc, w.BotID, w.SourceID, w.DocumentID))
			case cosine64(g.Vec, w.Vector) < 1-1e-5 || math.IsNaN(cosine64(g.Vec, w.Vector)):
				diffs = append(diffs, fmt.Sprintf("%s/%s has another vector", t, id))
			}
		}
	}
	for t, recs := range got {
		for id := range recs {
			if _, ok := want[t][id]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s/%s should not be there", t, id))
			}
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", len(diffs)-5))
	}
	return strings.Join(diffs, "; ")
}
