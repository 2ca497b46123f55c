package qdrantfake

import (
	"context"

	"github.com/qdrant/go-client/qdrant"
)

// The three gRPC services are separate types because CollectionsServer and
// PointsServer both have Get and Delete methods.

type healthService struct {
	qdrant.UnimplementedQdrantServer
}

type collectionsService struct {
	qdrant.UnimplementedCollectionsServer
	s *Server
}

// Create implements qdrant.CollectionsServer.
func (c collectionsService) Create(ctx context.Context, req *qdrant.CreateCollection) (*qdrant.CollectionOperationResponse, error) {
	return c.s.createCollection(ctx, req)
}

// Get implements qdrant.CollectionsServer.
func (c collectionsService) Get(ctx context.Context, req *qdrant.GetCollectionInfoRequest) (*qdrant.GetCollectionInfoResponse, error) {
	return c.s.getCollection(ctx, req)
}

// List implements qdrant.CollectionsServer.
func (c collectionsService) List(ctx context.Context, req *qdrant.ListCollectionsRequest) (*qdrant.ListCollectionsResponse, error) {
	return c.s.listCollections(ctx, req)
}

// CollectionExists implements qdrant.CollectionsServer.
func (c collectionsService) CollectionExists(ctx context.Context, req *qdrant.CollectionExistsRequest) (*qdrant.CollectionExistsResponse, error) {
	return c.s.collectionExists(ctx, req)
}

// Delete implements qdrant.CollectionsServer.
func (c collectionsService) Delete(ctx context.Context, req *qdrant.DeleteCollection) (*qdrant.CollectionOperationResponse, error) {
	return c.s.deleteCollection(ctx, req)
}

type pointsService struct {
	qdrant.UnimplementedPointsServer
	s *Server
}

// CreateFieldIndex implements qdrant.PointsServer.
func (p pointsService) CreateFieldIndex(ctx context.Context, req *qdrant.CreateFieldIndexCollection) (*qdrant.PointsOperationResponse, error) {
	return p.s.createFieldIndex(ctx, req)
}

// Upsert implements qdrant.PointsServer.
func (p pointsService) Upsert(ctx context.Context, req *qdrant.UpsertPoints) (*qdrant.PointsOperationResponse, error) {
	return p.s.upsert(ctx, req)
}

// Delete implements qdrant.PointsServer.
func (p pointsService) Delete(ctx context.Context, req *qdrant.DeletePoints) (*qdrant.PointsOperationResponse, error) {
	return p.s.deletePoints(ctx, req)
}

// Get implements qdrant.PointsServer.
func (p pointsService) Get(ctx context.Context, req *qdrant.GetPoints) (*qdrant.GetResponse, error) {
	return p.s.getPoints(ctx, req)
}

// Count implements qdrant.PointsServer.
func (p pointsService) Count(ctx context.Context, req *qdrant.CountPoints) (*qdrant.CountResponse, error) {
	return p.s.count(ctx, req)
}

// Query implements qdrant.PointsServer.
func (p pointsService) Query(ctx context.Context, req *qdrant.QueryPoints) (*qdrant.QueryResponse, error) {
	return p.s.query(ctx, req)
}

// SetPayload implements qdrant.PointsServer.
func (p pointsService) SetPayload(ctx context.Context, req *qdrant.SetPayloadPoints) (*qdrant.PointsOperationResponse, error) {
	return p.s.setPayload(ctx, "SetPayload", req, false)
}

// OverwritePayload implements qdrant.PointsServer.
func (p pointsService) OverwritePayload(ctx context.Context, req *qdrant.SetPayloadPoints) (*qdrant.PointsOperationResponse, error) {
	return p.s.setPayload(ctx, "OverwritePayload", req, true)
}

// DeletePayload implements qdrant.PointsServer.
func (p pointsService) DeletePayload(ctx context.Context, req *qdrant.DeletePayloadPoints) (*qdrant.PointsOperationResponse, error) {
	return p.s.deletePayload(ctx, req)
}
