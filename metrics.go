package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// metrics are what /metrics serves besides the Go runtime's and the process's.
type metrics struct {
	registry    *prometheus.Registry
	operations  *prometheus.HistogramVec // by operation type and result
	claims      *prometheus.CounterVec   // by outcome and reason
	redisErrors *prometheus.CounterVec   // by command
}

// newMetrics registers autoclaim's metrics. live, when set, reports the
// number of live subscriptions of this instance.
func newMetrics(live func() int) *metrics {
	m := &metrics{
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
	if live != nil {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "autoclaim_live_subscriptions",
			Help: "Subscriptions this instance is serving now.",
		}, func() float64 { return float64(live()) }))
	}
	return m
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
	graphql.FieldInterceptor
} = (*metrics)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (m *metrics) ExtensionName() string { return "Metrics" }

// Validate implements graphql.HandlerExtension.
func (m *metrics) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse times each response.
func (m *metrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
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

// InterceptField counts claim answers.
func (m *metrics) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if r, ok := res.(*license.ClaimResult); ok && err == nil {
		if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Field.Name == "claimLicense" {
			m.claims.WithLabelValues(string(r.Outcome), string(r.Reason)).Inc()
		}
	}
	return res, err
}

// redisHook counts failed Redis commands. Answers of autoclaim's own scripts
// (a denial, a conflict) and "no such key" are not failures.
func (m *metrics) redisHook() redis.Hook { return redisErrorHook{m} }

type redisErrorHook struct{ m *metrics }

func (h redisErrorHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisErrorHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.count(cmd.Name(), err)
		return err
	}
}

func (h redisErrorHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil {
			h.count("pipeline", err)
		}
		return err
	}
}

func (h redisErrorHook) count(name string, err error) {
	if err == nil || errors.Is(err, redis.Nil) || strings.Contains(err.Error(), "AC:") || strings.HasPrefix(err.Error(), "NOSCRIPT") {
		return
	}
	h.m.redisErrors.WithLabelValues(name).Inc()
}
