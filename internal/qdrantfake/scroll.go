package qdrantfake

import (
	"context"
	"sort"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Scroll implements qdrant.PointsServer.
func (p pointsService) Scroll(ctx context.Context, req *qdrant.ScrollPoints) (*qdrant.ScrollResponse, error) {
	return p.s.scroll(ctx, req)
}

// scroll answers a scroll as Qdrant does without order_by: the points
// matching the filter in point-ID order (numeric IDs first, then UUIDs by
// their bytes), from offset (inclusive), at most limit (default 10), and
// next_page_offset the ID of the first matching point after the page, nil
// at the end. Payload is returned unless with_payload says otherwise.
func (s *Server) scroll(_ context.Context, req *qdrant.ScrollPoints) (_ *qdrant.ScrollResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: "Scroll", Collection: req.GetCollectionName(), Limit: uint64(req.GetLimit())}
	if req.Filter != nil {
		call.Filter = proto.Clone(req.Filter).(*qdrant.Filter)
	}
	if req.WithPayload != nil {
		call.WithPayload = proto.Clone(req.WithPayload).(*qdrant.WithPayloadSelector)
	}
	defer func() { s.record(call, err) }()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.OrderBy != nil || req.ShardKeySelector != nil {
		return nil, status.Error(codes.Unimplemented, "qdrantfake: order_by and shard keys are not implemented in scroll")
	}
	if req.Limit != nil && req.GetLimit() == 0 {
		return nil, status.Error(codes.InvalidArgument, "Validation error in body: [limit: value 0 invalid, must be 1 or larger]")
	}
	if err := c.checkStrict(req.GetFilter(), true); err != nil {
		return nil, err
	}
	limit := 10
	if req.Limit != nil {
		limit = int(req.GetLimit())
	}
	points := c.sortedPoints()
	if req.Offset != nil {
		key, _, err := pointKey(req.GetOffset())
		if err != nil {
			return nil, err
		}
		points = points[sort.Search(len(points), func(i int) bool { return points[i].key >= key }):]
	}
	resp := &qdrant.ScrollResponse{}
	for _, p := range points {
		ok, err := matchFilter(req.GetFilter(), p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if len(resp.Result) == limit {
			resp.NextPageOffset = proto.Clone(p.id).(*qdrant.PointId)
			break
		}
		rp := &qdrant.RetrievedPoint{
			Id:      proto.Clone(p.id).(*qdrant.PointId),
			Payload: selectPayload(req.GetWithPayload(), p.payload, true),
		}
		if req.GetWithVectors().GetEnable() {
			rp.Vectors = &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vector{Vector: &qdrant.VectorOutput{Vector: &qdrant.VectorOutput_Dense{Dense: &qdrant.DenseVector{Data: append([]float32(nil), p.vector...)}}}}}
		}
		resp.Result = append(resp.Result, rp)
	}
	return resp, nil
}
