package qdrantfake

import (
	"context"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// selectPoints returns the keys of the points a selector names: the
// listed IDs that exist, or the points matching the filter (checked
// against strict mode as an update).
func (c *collection) selectPoints(sel *qdrant.PointsSelector) ([]string, error) {
	switch o := sel.GetPointsSelectorOneOf().(type) {
	case *qdrant.PointsSelector_Points:
		var keys []string
		for _, id := range o.Points.GetIds() {
			key, _, err := pointKey(id)
			if err != nil {
				return nil, err
			}
			if _, ok := c.points[key]; ok {
				keys = append(keys, key)
			}
		}
		return keys, nil
	case *qdrant.PointsSelector_Filter:
		if err := c.checkStrict(o.Filter, false); err != nil {
			return nil, err
		}
		var keys []string
		for key, p := range c.points {
			ok, err := matchFilter(o.Filter, p)
			if err != nil {
				return nil, err
			}
			if ok {
				keys = append(keys, key)
			}
		}
		return keys, nil
	default:
		return nil, status.Error(codes.InvalidArgument, "Wrong input: points selector is required")
	}
}

// setPayload answers SetPayload as Qdrant does: each top-level key of the
// request's payload replaces the point's value of that key as a whole
// (objects are not merged), other keys stay. OverwritePayload (overwrite)
// replaces the whole payload. Setting under a nested key (the request's
// key) is not implemented.
func (s *Server) setPayload(_ context.Context, method string, req *qdrant.SetPayloadPoints, overwrite bool) (_ *qdrant.PointsOperationResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: method, Collection: req.GetCollectionName(), Wait: req.GetWait()}
	if f := req.GetPointsSelector().GetFilter(); f != nil {
		call.Filter = proto.Clone(f).(*qdrant.Filter)
	}
	defer func() { s.record(call, err) }()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.Key != nil || req.ShardKeySelector != nil {
		return nil, status.Error(codes.Unimplemented, "qdrantfake: set payload under a key and shard keys are not implemented")
	}
	keys, err := c.selectPoints(req.GetPointsSelector())
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		p := c.points[k]
		if overwrite {
			p.payload = clonePayload(req.GetPayload())
			continue
		}
		pl := clonePayload(p.payload)
		for key, v := range req.GetPayload() {
			pl[key] = proto.Clone(v).(*qdrant.Value)
		}
		p.payload = pl
	}
	return s.updated(req.GetWait()), nil
}

// deletePayload removes top-level keys from the selected points.
func (s *Server) deletePayload(_ context.Context, req *qdrant.DeletePayloadPoints) (_ *qdrant.PointsOperationResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: "DeletePayload", Collection: req.GetCollectionName(), Wait: req.GetWait()}
	if f := req.GetPointsSelector().GetFilter(); f != nil {
		call.Filter = proto.Clone(f).(*qdrant.Filter)
	}
	defer func() { s.record(call, err) }()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.ShardKeySelector != nil {
		return nil, status.Error(codes.Unimplemented, "qdrantfake: shard keys are not implemented")
	}
	keys, err := c.selectPoints(req.GetPointsSelector())
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		p := c.points[k]
		pl := clonePayload(p.payload)
		for _, key := range req.GetKeys() {
			delete(pl, key)
		}
		p.payload = pl
	}
	return s.updated(req.GetWait()), nil
}
