package api

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/autoclaim/autoclaim/license"
)

// Metrics are what /metrics serves besides the Go runtime's and the process's.
type Metrics struct {
	registry    *prometheus.Registry
	operations  *prometheus.HistogramVec // by operation type and result
	claims      *prometheus.CounterVec   // by outcome and reason
	redisErrors *prometheus.CounterVec   // by command
}

// NewMetrics registers autoclaim's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		operations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "autoclaim_graphql_operation_duration_seconds",
			Help:    "GraphQL operations (each subscription event counts as one) by type and result (ok or error).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation", "result"}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoclaim_claims_total",
			Help: "claimLicense answers by outcome and denial reason.",
		}, []string{"outcome", "reason"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoclaim_redis_errors_total",
			Help: "Redis commands that failed (connection errors, timeouts, server errors), by command.",
		}, []string{"command"}),
	}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.operations, m.claims, m.redisErrors)
	return m
}

// CountLive reports live() as the number of subscriptions this instance serves.
func (m *Metrics) CountLive(live func() int) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "autoclaim_live_subscriptions",
		Help: "Subscriptions this instance is serving now.",
	}, func() float64 { return float64(live()) }))
}

// RedisCommandFailed counts a Redis command that failed (connection error,
// timeout, server error); give it to the store's Options.CommandFailed.
func (m *Metrics) RedisCommandFailed(command string) {
	m.redisErrors.WithLabelValues(command).Inc()
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
	graphql.FieldInterceptor
} = (*Metrics)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (m *Metrics) ExtensionName() string { return "Metrics" }

// Validate implements graphql.HandlerExtension.
func (m *Metrics) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse times each response.
func (m *Metrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	op := "unknown"
	if graphql.HasOperationContext(ctx) {
		if oc := graphql.GetOperationContext(ctx); oc.Operation != nil {
			op = string(oc.Operation.Operation)
		}
	}
	result := "ok"
	if resp != nil && len(resp.Errors) > 0 {
		result = "error"
	}
	m.operations.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
	return resp
}

// InterceptField counts claim answers; a replay is no new claim.
func (m *Metrics) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if r, ok := res.(*license.ClaimResult); ok && err == nil && !r.Replayed {
		if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Field.Name == "claimLicense" {
			m.claims.WithLabelValues(string(r.Outcome), string(r.Reason)).Inc()
		}
	}
	return res, err
}
