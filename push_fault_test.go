package minirag

// Fault injection over the push path (UpsertDocuments, DeleteDocuments)
// and the tenant erase, with the harness of fault_test.go: every call to
// Storage or the VectorStore fails in turn, before or after it runs; the
// invariant holds after each fault (every chunk has its vector, every
// pushed document is found in its previous or its new version, a
// metadata filter never returns a document Storage says does not match)
// and a retry converges.

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

func (v *faultVec) SetMetadata(ctx context.Context, f vectorstore.Filter, m record.Metadata) error {
	return v.p.do("SetMetadata", func() error { return v.VectorStore.SetMetadata(ctx, f, m) })
}

func (s *faultStore) GetDocuments(ctx context.Context, tenantID string, ids []string) ([]record.Document, error) {
	return faultCall(s.p, "GetDocuments", func() ([]record.Document, error) { return s.Storage.GetDocuments(ctx, tenantID, ids) })
}

func (s *faultStore) DeleteTenant(ctx context.Context, id string) error {
	return s.p.do("DeleteTenant", func() error { return s.Storage.DeleteTenant(ctx, id) })
}

// pushedDoc is pushed document i (10..14) in a version: its word
// zebra<i> in both, "original" or "revised", and team "a" or "b".
func pushedDoc(i int, text, team string) DocumentInput {
	return DocumentInput{Key: fmt.Sprintf("p-%d", i), Title: fmt.Sprintf("Pushed %d", i),
		Text:     fmt.Sprintf("zebra%d %s notes about pushed topic %d.", i, text, i),
		Metadata: record.Metadata{"team": team, "n": i}}
}

// pushV1 is p-10..13, original, team a; pushV2 revises p-10 and p-11,
// moves p-12 to team b (metadata only), keeps p-13 and adds p-14.
func pushV1() []DocumentInput {
	return []DocumentInput{pushedDoc(10, "original", "a"), pushedDoc(11, "original", "a"), pushedDoc(12, "original", "a"), pushedDoc(13, "original", "a")}
}

func pushV2() []DocumentInput {
	return []DocumentInput{pushedDoc(10, "revised", "a"), pushedDoc(11, "revised", "a"), pushedDoc(12, "original", "b"),
		pushedDoc(13, "original", "a"), pushedDoc(14, "revised", "a")}
}

// preparePush makes the round's source a documents source holding v1.
func preparePush(t *testing.T, r *faultRound) {
	ctx := t.Context()
	src, err := r.h.CreateSource(ctx, SourceParams{BotID: r.botA.ID, Name: "pushed", Type: SourceDocuments})
	require.NoError(t, err)
	_, err = r.h.UpsertDocuments(ctx, src.ID, pushV1())
	require.NoError(t, err)
	r.src = src
}

// requireTeams checks that a search filtered on each team, in every
// mode, returns only documents Storage says are of that team.
func (r *faultRound) requireTeams(t *testing.T, why string) {
	t.Helper()
	for _, team := range []string{"a", "b"} {
		for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
			res, err := r.h.Search(t.Context(), SearchRequest{BotID: r.botA.ID, Query: "pushed topic notes", Mode: mode, TopK: 20,
				Filter: filter.Eq("team", team)})
			require.NoError(t, err, why)
			for _, x := range res {
				d, err := r.h.GetDocument(t.Context(), x.DocumentID)
				require.NoError(t, err, why)
				require.Equal(t, team, d.Metadata["team"], "%s: %s search for team %s returned %s", why, mode, team, d.Key)
			}
		}
	}
}

var pushFaultOps = []faultOp{
	{
		name:    "push",
		prepare: preparePush,
		run: func(ctx context.Context, r *faultRound) error {
			_, err := r.h.UpsertDocuments(ctx, r.src.ID, pushV2())
			return err
		},
		afterFault: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			r.requireFound(t, r.botA.ID, []int{10, 11, 12, 13}, "", why)
			r.requireTeams(t, why)
		},
		retry: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			_, err := r.h.UpsertDocuments(t.Context(), r.src.ID, pushV2())
			require.NoError(t, err, why)
			r.requireFound(t, r.botA.ID, []int{10, 11, 14}, "revised", why)
			r.requireFound(t, r.botA.ID, []int{12, 13}, "original", why)
			r.requireTeams(t, why)
			// p-12's vectors carry team b: a filtered dense search finds it.
			res, err := r.h.Search(t.Context(), SearchRequest{BotID: r.botA.ID, Query: "zebra12", Mode: SearchDense, Filter: filter.Eq("team", "b")})
			require.NoError(t, err, why)
			require.Len(t, res, 1, why)
			require.Equal(t, "p-12", res[0].DocumentKey, why)
			src, err := r.h.GetSource(t.Context(), r.src.ID)
			require.NoError(t, err)
			require.Equal(t, StatusReady, src.Status, why)
		},
	},
	{
		name:    "delete-documents",
		prepare: preparePush,
		run: func(ctx context.Context, r *faultRound) error {
			_, err := r.h.DeleteDocuments(ctx, r.src.ID, []string{"p-10", "p-11"})
			return err
		},
		afterFault: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			r.requireFound(t, r.botA.ID, []int{12, 13}, "original", why)
		},
		retry: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			_, err := r.h.DeleteDocuments(t.Context(), r.src.ID, []string{"p-10", "p-11"})
			require.NoError(t, err, why)
			for _, i := range []int{10, 11} {
				ok, _ := r.found(t, r.botA.ID, SearchHybrid, i)
				require.False(t, ok, "%s: p-%d deleted", why, i)
			}
		},
	},
}

func TestPushFaultsSQLiteLocal(t *testing.T) {
	s := sqliteFaultStack(t)
	n := runFaultOpList(t, s, pushFaultOps)
	t.Logf("SQLite + local: %d faults injected over %d push operations, each checked and retried", n, len(pushFaultOps))
}

// TestDeleteTenantFaultsSQLiteLocal interrupts DeleteTenant at each of
// its calls (before or after the call runs) and calls it again: the
// retry finishes the erase, and nothing of the tenant remains.
func TestDeleteTenantFaultsSQLiteLocal(t *testing.T) {
	s := sqliteFaultStack(t)
	checkDeleteTenantFaults(t, s)
}

func checkDeleteTenantFaults(t *testing.T, s *faultStack) {
	injected := 0
	for _, after := range []bool{false, true} {
		for n := 1; ; n++ {
			require.Less(t, n, 50)
			r := s.round(t)
			preparePush(t, r)
			s.p.arm(n, after)
			err := s.c.DeleteTenant(t.Context(), r.h.TenantID())
			calls, fired := s.p.disarm()
			if fired == "" {
				require.NoError(t, err)
				requireTenantGone(t, s.st, s.vs, r.h.TenantID())
				break
			}
			injected++
			why := fmt.Sprintf("fault %s of %d calls (error: %v)", fired, calls, err)
			err = s.c.DeleteTenant(t.Context(), r.h.TenantID())
			if err != nil {
				require.ErrorIs(t, err, ErrNotFound, why)
			}
			requireTenantGone(t, s.st, s.vs, r.h.TenantID())
		}
	}
	require.Positive(t, injected)
	t.Logf("%d faults injected into DeleteTenant, each retried to a complete erase", injected)
}

var _ storage.Storage = (*faultStore)(nil)
