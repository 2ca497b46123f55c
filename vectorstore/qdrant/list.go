package qdrant

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	qc "github.com/qdrant/go-client/qdrant"

	"github.com/minirag/minirag/vectorstore"
)

// idBatch is how many record IDs one Delete request names; a Delete with
// more sends several requests.
const idBatch = 1000

// hasIDs is a has_id condition on the points of ids in tenant.
func hasIDs(tenant string, ids []string) *qc.Condition {
	pids := make([]*qc.PointId, len(ids))
	var buf []byte
	for i, id := range ids {
		var u string
		u, buf = pointID(buf, tenant, id)
		pids[i] = qc.NewIDUUID(u)
	}
	return qc.NewHasID(pids...)
}

// cursorPrefix starts every cursor List makes; the UUID of the point the
// next page starts with follows.
const cursorPrefix = "q1."

// List returns at most limit records matching f in the order of their
// point IDs (Qdrant scrolls by point ID; it cannot order by a string
// payload such as the chunk ID). One Scroll request per page; the chunk
// and filter IDs come from the payload.
func (s *Store) List(ctx context.Context, f vectorstore.Filter, cursor string, limit int) ([]vectorstore.Record, string, error) {
	if err := vectorstore.ValidateList(f, limit); err != nil {
		return nil, "", fmt.Errorf("qdrant: list: %w", err)
	}
	var offset *qc.PointId
	if cursor != "" {
		rest, ok := strings.CutPrefix(cursor, cursorPrefix)
		u, err := uuid.Parse(rest)
		if !ok || err != nil {
			return nil, "", fmt.Errorf("qdrant: list: %w", vectorstore.ErrBadCursor)
		}
		offset = qc.NewIDUUID(u.String())
	}
	if limit > 1<<31 {
		limit = 1 << 31 // Scroll's limit is a uint32
	}
	coll, _, err := s.state("list")
	if err != nil {
		return nil, "", err
	}
	qf, refine, err := pointFilter(f)
	if err != nil {
		return nil, "", fmt.Errorf("qdrant: list: %w", err)
	}
	if !refine.IsZero() {
		return s.listRefined(ctx, coll, f.TenantID, qf, offset, limit, refine)
	}
	points, next, err := s.client.ScrollAndOffset(ctx, &qc.ScrollPoints{
		CollectionName: coll,
		Filter:         qf,
		Offset:         offset,
		Limit:          qc.PtrOf(uint32(limit)),
		WithPayload:    listWith(),
		WithVectors:    qc.NewWithVectors(false),
	})
	if err != nil {
		return nil, "", s.translate(ctx, "list", err)
	}
	out := make([]vectorstore.Record, 0, len(points))
	for _, p := range points {
		r, err := listed(coll, f.TenantID, p)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	if next == nil {
		return out, "", nil
	}
	c, err := cursorOf(coll, next)
	if err != nil {
		return nil, "", err
	}
	return out, c, nil
}

// listWith is the payload List reads.
func listWith(fields ...string) *qc.WithPayloadSelector {
	return qc.NewWithPayloadInclude(append([]string{FieldChunk, FieldBot, FieldSource, FieldDocument}, fields...)...)
}

// listed is the record of a listed point.
func listed(coll, tenant string, p *qc.RetrievedPoint) (vectorstore.Record, error) {
	pl := p.GetPayload()
	id := pl[FieldChunk].GetStringValue()
	if id == "" {
		return vectorstore.Record{}, fmt.Errorf("qdrant: list: point %s of collection %s has no %s payload (not written by this package?)",
			p.GetId().GetUuid(), coll, FieldChunk)
	}
	return vectorstore.Record{
		ID:         id,
		TenantID:   tenant,
		BotID:      pl[FieldBot].GetStringValue(),
		SourceID:   pl[FieldSource].GetStringValue(),
		DocumentID: pl[FieldDocument].GetStringValue(),
	}, nil
}

// cursorOf is the cursor of a page starting at point id.
func cursorOf(coll string, id *qc.PointId) (string, error) {
	u := id.GetUuid()
	if u == "" {
		return "", fmt.Errorf("qdrant: list: collection %s holds a point with a numeric ID (not written by this package?)", coll)
	}
	return cursorPrefix + u, nil
}
