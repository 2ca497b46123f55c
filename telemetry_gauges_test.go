package minirag

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// gauges collects the reader's metrics once and returns the int64 gauge
// points by metric name.
func (o *otelEnv) gauges(t *testing.T) map[string][]metricdata.DataPoint[int64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, o.read.Collect(context.Background(), &rm))
	out := map[string][]metricdata.DataPoint[int64]{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				out[m.Name] = d.DataPoints
			case metricdata.Sum[int64]:
				out[m.Name] = d.DataPoints
			}
		}
	}
	return out
}

// TestMetricsGauges reads the queue-depth and vector-store-size gauges
// through an SDK manual reader: jobs queued then running, the records of
// the index's space (the chunks the ingestions stored), and nothing once
// the Client is closed.
func TestMetricsGauges(t *testing.T) {
	o := newOtelEnv(t, false, &fakeModel{reply: "x"})
	g := o.gauges(t)

	var chunks int64
	for _, dp := range g["minirag.ingest.chunks"] {
		chunks += dp.Value
	}
	require.Positive(t, chunks)
	recs := g["minirag.vectorstore.records"]
	require.Len(t, recs, 1, "one space")
	assert.Equal(t, chunks, recs[0].Value, "records = chunks stored")
	model, _ := recs[0].Attributes.Value("minirag.space.model")
	dims, _ := recs[0].Attributes.Value("minirag.space.dims")
	assert.Equal(t, o.c.emb.Model(), model.AsString())
	assert.Equal(t, int64(256), dims.AsInt64())

	jobs := func() map[string]int64 {
		out := map[string]int64{}
		for _, dp := range o.gauges(t)["minirag.jobs"] {
			s, _ := dp.Attributes.Value("minirag.job.status")
			out[s.AsString()] = dp.Value
		}
		return out
	}
	assert.Equal(t, map[string]int64{"queued": 0, "running": 0}, jobs())
	srcs, err := o.h.ListSources(o.ctx, "")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(srcs), 2)
	for _, s := range srcs[:2] {
		_, err := o.h.EnqueueIngest(o.ctx, s.ID)
		require.NoError(t, err)
	}
	assert.Equal(t, map[string]int64{"queued": 2, "running": 0}, jobs())
	_, err = o.c.Storage().ClaimJob(o.ctx, "test-worker", o.clock.Now().Add(time.Hour), time.Minute)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"queued": 1, "running": 1}, jobs())

	require.NoError(t, o.c.Close())
	g = o.gauges(t)
	assert.Empty(t, g["minirag.jobs"], "no observation after Close")
	assert.Empty(t, g["minirag.vectorstore.records"], "no observation after Close")
}
