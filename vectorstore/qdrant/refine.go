package qdrant

import (
	"context"
	"fmt"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/vectorstore"
)

// This file holds the paths taken when a metadata filter has a condition
// Qdrant cannot evaluate exactly (a range with string bounds, see
// translate): Qdrant applies a filter that holds for every matching point
// and perhaps others, and each point found is checked with filter.Match on
// its stored metadata before it counts. When every record holds only times
// in record.TimeLayout in the fields ranged over, the Qdrant filter is
// already exact and nothing is dropped.

// scrollPage is how many points one Scroll of a refined listing, delete
// or metadata update reads.
const scrollPage = 1000

func matches(refine filter.Filter, payload map[string]*qc.Value) bool {
	return refine.Match(metadataOf(payload[FieldMeta]))
}

// searchRefined runs req asking for more points than topK, keeps those
// passing refine, and asks again for four times as many until topK pass
// or Qdrant has no more.
func (s *Store) searchRefined(ctx context.Context, req *qc.QueryPoints, topK int, refine filter.Filter) ([]vectorstore.Match, error) {
	req.WithPayload = qc.NewWithPayloadInclude(FieldChunk, FieldMeta)
	limit := max(2*topK, 64)
	for {
		req.Limit = qc.PtrOf(uint64(limit))
		res, err := s.client.Query(ctx, req)
		if err != nil {
			return nil, s.translate(ctx, "search", err)
		}
		out := make([]vectorstore.Match, 0, topK)
		for _, p := range res {
			if !matches(refine, p.GetPayload()) {
				continue
			}
			id := p.GetPayload()[FieldChunk].GetStringValue()
			if id == "" {
				return nil, fmt.Errorf("qdrant: search: point %s of collection %s has no %s payload (not written by this package?)",
					p.GetId().GetUuid(), req.GetCollectionName(), FieldChunk)
			}
			out = append(out, vectorstore.Match{ID: id, Score: p.GetScore()})
			if len(out) == topK {
				return out, nil
			}
		}
		if len(res) < limit {
			return out, nil
		}
		limit *= 4
	}
}

// listRefined scrolls from offset until limit points pass refine; the
// cursor returned names the next point that passes, so it is "" exactly
// when none follows.
func (s *Store) listRefined(ctx context.Context, coll, tenant string, qf *qc.Filter, offset *qc.PointId, limit int, refine filter.Filter) ([]vectorstore.Record, string, error) {
	var out []vectorstore.Record
	for {
		points, next, err := s.client.ScrollAndOffset(ctx, &qc.ScrollPoints{
			CollectionName: coll,
			Filter:         qf,
			Offset:         offset,
			Limit:          qc.PtrOf(uint32(min(max(limit, 64), scrollPage))),
			WithPayload:    listWith(FieldMeta),
			WithVectors:    qc.NewWithVectors(false),
		})
		if err != nil {
			return nil, "", s.translate(ctx, "list", err)
		}
		for _, p := range points {
			if !matches(refine, p.GetPayload()) {
				continue
			}
			if len(out) == limit {
				c, err := cursorOf(coll, p.GetId())
				return out, c, err
			}
			r, err := listed(coll, tenant, p)
			if err != nil {
				return nil, "", err
			}
			out = append(out, r)
		}
		if next == nil {
			return out, "", nil
		}
		offset = next
	}
}

// update applies an update (a delete, a payload change) to the points
// matching f, with wait=true: one request by filter when the filter is
// exact and names at most idBatch IDs; otherwise the filter is split by
// IDs, and an inexact one is resolved first to the IDs of the points
// passing it, updated idBatch at a time by a filter on the tenant and
// those IDs. A failure leaves the earlier requests applied; updating again
// is safe.
func (s *Store) update(ctx context.Context, op, coll string, f vectorstore.Filter, do func(*qc.PointsSelector) (*qc.UpdateResult, error)) error {
	all := f.IDs
	for start := 0; start == 0 || start < len(all); start += idBatch {
		part := ""
		if len(all) > idBatch {
			end := min(start+idBatch, len(all))
			f.IDs = all[start:end]
			part = fmt.Sprintf(": IDs %d-%d of %d", start, end-1, len(all))
		}
		qf, refine, err := pointFilter(f)
		if err != nil {
			return fmt.Errorf("qdrant: %s: %w", op, err)
		}
		if refine.IsZero() {
			if err := s.apply(ctx, op+part, do, qc.NewPointsSelectorFilter(qf)); err != nil {
				return err
			}
		} else if err := s.updateRefined(ctx, op+part, coll, f.TenantID, qf, refine, do); err != nil {
			return err
		}
		if len(all) <= idBatch {
			return nil
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, op string, do func(*qc.PointsSelector) (*qc.UpdateResult, error), sel *qc.PointsSelector) error {
	res, err := do(sel)
	if err != nil {
		return s.translate(ctx, op, err)
	}
	if err := checkUpdate(res); err != nil {
		return fmt.Errorf("qdrant: %s on %s: %w", op, s.addr, err)
	}
	return nil
}

func (s *Store) updateRefined(ctx context.Context, op, coll, tenant string, qf *qc.Filter, refine filter.Filter, do func(*qc.PointsSelector) (*qc.UpdateResult, error)) error {
	var ids []*qc.PointId
	var offset *qc.PointId
	for {
		points, next, err := s.client.ScrollAndOffset(ctx, &qc.ScrollPoints{
			CollectionName: coll,
			Filter:         qf,
			Offset:         offset,
			Limit:          qc.PtrOf(uint32(scrollPage)),
			WithPayload:    qc.NewWithPayloadInclude(FieldMeta),
			WithVectors:    qc.NewWithVectors(false),
		})
		if err != nil {
			return s.translate(ctx, op, err)
		}
		for _, p := range points {
			if matches(refine, p.GetPayload()) {
				ids = append(ids, p.GetId())
			}
		}
		if next == nil {
			break
		}
		offset = next
	}
	for start := 0; start < len(ids); start += idBatch {
		sel := qc.NewPointsSelectorFilter(&qc.Filter{Must: []*qc.Condition{
			qc.NewMatchKeyword(FieldTenant, tenant),
			qc.NewHasID(ids[start:min(start+idBatch, len(ids))]...),
		}})
		if err := s.apply(ctx, op, do, sel); err != nil {
			return err
		}
	}
	return nil
}
