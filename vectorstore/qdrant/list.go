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

// deleteIDs deletes the points of f whose chunk IDs are in f.IDs, idBatch
// IDs per request, each with wait=true. A failure leaves the earlier
// batches deleted; deleting again is safe.
func (s *Store) deleteIDs(ctx context.Context, coll string, f vectorstore.Filter) error {
	all := f.IDs
	for start := 0; start < len(all); start += idBatch {
		end := min(start+idBatch, len(all))
		f.IDs = all[start:end]
		res, err := s.client.Delete(ctx, &qc.DeletePoints{
			CollectionName: coll,
			Wait:           qc.PtrOf(true),
			Points:         qc.NewPointsSelectorFilter(filter(f)),
		})
		if err != nil {
			return s.translate(ctx, fmt.Sprintf("delete: IDs %d-%d of %d", start, end-1, len(all)), err)
		}
		if err := checkUpdate(res); err != nil {
			return fmt.Errorf("qdrant: delete on %s: IDs %d-%d of %d: %w", s.addr, start, end-1, len(all), err)
		}
	}
	return nil
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
	points, next, err := s.client.ScrollAndOffset(ctx, &qc.ScrollPoints{
		CollectionName: coll,
		Filter:         filter(f),
		Offset:         offset,
		Limit:          qc.PtrOf(uint32(limit)),
		WithPayload:    qc.NewWithPayloadInclude(FieldChunk, FieldBot, FieldSource, FieldDocument),
		WithVectors:    qc.NewWithVectors(false),
	})
	if err != nil {
		return nil, "", s.translate(ctx, "list", err)
	}
	out := make([]vectorstore.Record, 0, len(points))
	for _, p := range points {
		pl := p.GetPayload()
		id := pl[FieldChunk].GetStringValue()
		if id == "" {
			return nil, "", fmt.Errorf("qdrant: list: point %s of collection %s has no %s payload (not written by this package?)",
				p.GetId().GetUuid(), coll, FieldChunk)
		}
		out = append(out, vectorstore.Record{
			ID:         id,
			TenantID:   f.TenantID,
			BotID:      pl[FieldBot].GetStringValue(),
			SourceID:   pl[FieldSource].GetStringValue(),
			DocumentID: pl[FieldDocument].GetStringValue(),
		})
	}
	if next == nil {
		return out, "", nil
	}
	u := next.GetUuid()
	if u == "" {
		return nil, "", fmt.Errorf("qdrant: list: collection %s holds a point with a numeric ID (not written by this package?)", coll)
	}
	return out, cursorPrefix + u, nil
}
