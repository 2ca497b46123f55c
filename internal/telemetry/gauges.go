package telemetry

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// JobsFunc reports the depth of the job queue; ok is false when the
// Storage cannot count its jobs (nothing is observed then).
type JobsFunc func(ctx context.Context) (queued, running int, ok bool, err error)

// RecordsFunc reports the number of records of the vector store's space;
// ok is false when the store cannot count them or its space is not known
// yet (nothing is observed then).
type RecordsFunc func(ctx context.Context) (n int64, model string, dims int, ok bool, err error)

// gaugeTimeout bounds one collection's counts.
const gaugeTimeout = 5 * time.Second

// RegisterGauges registers the observable gauges minirag.jobs (queued and
// running jobs, by minirag.job.status) and minirag.vectorstore.records
// (records of the space, by minirag.space.model and minirag.space.dims),
// read by jobs and records each time the host's metric reader collects.
// The returned function unregisters them (Client.Close calls it). With a
// no-op meter provider nothing is ever called.
func (t *T) RegisterGauges(jobs JobsFunc, records RecordsFunc) (unregister func() error) {
	jobsG, err1 := t.meter.Int64ObservableGauge("minirag.jobs", metric.WithUnit("{job}"),
		metric.WithDescription("Ingestion jobs in the queue, of every tenant, by status (queued, running)."))
	recsG, err2 := t.meter.Int64ObservableGauge("minirag.vectorstore.records", metric.WithUnit("{record}"),
		metric.WithDescription("Records (chunk vectors) in the vector store's space, of every tenant, by space."))
	if err := errors.Join(err1, err2); err != nil {
		return func() error { return nil }
	}
	queuedAttrs := metric.WithAttributes(KeyStatus.String("queued"))
	runningAttrs := metric.WithAttributes(KeyStatus.String("running"))
	reg, err := t.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, gaugeTimeout)
		defer cancel()
		var errs []error
		if q, r, ok, err := jobs(ctx); err != nil {
			errs = append(errs, err)
		} else if ok {
			o.ObserveInt64(jobsG, int64(q), queuedAttrs)
			o.ObserveInt64(jobsG, int64(r), runningAttrs)
		}
		if n, model, dims, ok, err := records(ctx); err != nil {
			errs = append(errs, err)
		} else if ok {
			o.ObserveInt64(recsG, n, metric.WithAttributeSet(attribute.NewSet(KeySpaceModel.String(model), KeySpaceDims.Int(dims))))
		}
		return errors.Join(errs...)
	}, jobsG, recsG)
	if err != nil {
		return func() error { return nil }
	}
	return reg.Unregister
}
