package qdrant_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/qdrant"
	"github.com/minirag/minirag/vectorstore/vectorstoretest"
)

const dims = 16

// conformanceFields declares the metadata fields the suite's Metadata area
// filters on with one type each (so Init creates their indexes); the area
// also filters on undeclared fields and on a field ("version") holding
// strings and numbers, which no single index type serves, so it runs
// without strict mode.
var conformanceFields = []qdrant.MetadataField{
	{Name: "lang", Type: qdrant.MetadataKeyword},
	{Name: "tags", Type: qdrant.MetadataKeyword},
	{Name: "year", Type: qdrant.MetadataNumber},
	{Name: "score", Type: qdrant.MetadataNumber},
	{Name: "draft", Type: qdrant.MetadataBool},
	{Name: "published", Type: qdrant.MetadataTime},
}

// strictSkip is why the strict-mode runs skip the Metadata area.
const strictSkip = "strict mode rejects filters on undeclared fields and the Metadata area filters on a field holding strings and numbers; TestConformance runs the area without strict mode, and metadata_test.go covers strict mode with declared fields"

// TestConformance runs the shared suite against the adapter on a caller-built
// client and the in-process server, without strict mode and with metadata
// fields declared. Every subtest gets its own store; the suite keeps
// subtests apart with a unique model (hence collection) each.
func TestConformance(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	client := srv.Client(t)
	newStore := func(t *testing.T) vectorstore.VectorStore {
		s, err := qdrant.New(client, qdrant.Options{CollectionPrefix: "conf_", NoStrictMode: true, MetadataFields: conformanceFields})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}
	vectorstoretest.RunOptions(t, newStore, dims, vectorstoretest.Options{
		Reopen: func(t *testing.T, old vectorstore.VectorStore) vectorstore.VectorStore {
			return newStore(t)
		},
	})
}

// TestConformanceDialSmallBatches runs the suite again on stores built by
// Dial (owning their client) with batches of 3 points, so that every multi-
// record Upsert of the suite spans several requests, in strict mode (the
// default), which proves every filter the other areas send is indexed.
func TestConformanceDialSmallBatches(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{APIKey: "conformance-key"})
	cfg := qdrant.Config{
		Host: srv.Host(), Port: srv.Port(), APIKey: "conformance-key", UseTLS: false,
		PoolSize: 1, CollectionPrefix: "dial_", BatchSize: 3,
	}
	newStore := func(t *testing.T) vectorstore.VectorStore {
		s, err := qdrant.Dial(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		return s
	}
	vectorstoretest.RunOptions(t, newStore, dims, vectorstoretest.Options{
		Reopen: func(t *testing.T, old vectorstore.VectorStore) vectorstore.VectorStore {
			return newStore(t)
		},
		Skip: map[string]string{"Metadata": strictSkip},
	})
	var multi int
	for _, c := range srv.CallsTo("Upsert") {
		if c.Points > 3 {
			t.Fatalf("an Upsert request carried %d points, BatchSize is 3", c.Points)
		}
		if !c.Wait {
			t.Fatalf("an Upsert request had wait=false")
		}
		if c.Points == 3 {
			multi++
		}
	}
	if multi == 0 {
		t.Fatalf("no Upsert request was full: batching was not exercised")
	}
}

// TestConformanceRealQdrant runs the suite against a real Qdrant when
// MINIRAG_TEST_QDRANT_ADDR is "host:port" of its gRPC API (6334), for
// example after
//
//	docker run -p 6333:6333 -p 6334:6334 qdrant/qdrant
//
// MINIRAG_TEST_QDRANT_API_KEY and MINIRAG_TEST_QDRANT_TLS=1 are used when
// set. The test skips when the address is unset: no Qdrant runs in this
// project's CI, so it is optional even with MINIRAG_REQUIRE_SERVICES=1.
// Collections get a prefix unique to the run and are dropped at the end.
func TestConformanceRealQdrant(t *testing.T) {
	addr := os.Getenv("MINIRAG_TEST_QDRANT_ADDR")
	if addr == "" {
		t.Skip("MINIRAG_TEST_QDRANT_ADDR is not set (host:port of a Qdrant gRPC API); skipping the real-Qdrant run")
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("MINIRAG_TEST_QDRANT_ADDR=%q: want host:port: %v", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("MINIRAG_TEST_QDRANT_ADDR=%q: bad port: %v", addr, err)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	prefix := "minirag_test_" + hex.EncodeToString(rnd[:]) + "_"
	client, err := qc.NewClient(&qc.Config{
		Host: host, Port: port,
		APIKey:                 os.Getenv("MINIRAG_TEST_QDRANT_API_KEY"),
		UseTLS:                 os.Getenv("MINIRAG_TEST_QDRANT_TLS") == "1",
		SkipCompatibilityCheck: true,
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		names, err := client.ListCollections(ctx)
		if err != nil {
			t.Logf("listing collections to drop: %v", err)
		}
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				if err := client.DeleteCollection(ctx, n); err != nil {
					t.Logf("dropping %s: %v", n, err)
				}
			}
		}
		_ = client.Close()
	})
	newStore := func(t *testing.T) vectorstore.VectorStore {
		s, err := qdrant.New(client, qdrant.Options{CollectionPrefix: prefix, BatchSize: 5, NoStrictMode: true, MetadataFields: conformanceFields})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}
	vectorstoretest.RunOptions(t, newStore, dims, vectorstoretest.Options{
		Reopen: func(t *testing.T, old vectorstore.VectorStore) vectorstore.VectorStore {
			return newStore(t)
		},
	})
}
