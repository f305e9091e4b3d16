package api

import (
	"context"
	"runtime"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/autoclaim/autoclaim/license"
)

// Metrics are what OpsHandler serves at /metrics, besides the Go runtime's
// and the process's.
type Metrics struct {
	registry     *prometheus.Registry
	operations   *prometheus.HistogramVec // by operation type and result
	claims       *prometheus.CounterVec   // by outcome and reason; replays are not claims
	replays      *prometheus.CounterVec   // by outcome
	requests     *prometheus.CounterVec   // by route and status class
	latency      *prometheus.HistogramVec // by route
	redisErrors  *prometheus.CounterVec   // by command
	redisLatency *prometheus.HistogramVec // by command
	fills        prometheus.Counter       // licenses given to waiting users
	reclaims     prometheus.Counter       // licenses reclaimed unused
}

// latencyBuckets fit requests and operations: most take a millisecond or
// two; a Redis that stops answering turns them into errors within 3 s.
var latencyBuckets = []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// redisBuckets fit one Redis command on a local network.
var redisBuckets = []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// NewMetrics registers autoclaim's metrics, autoclaim_build_info among them.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		operations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "autoclaim_graphql_operation_duration_seconds",
			Help:    "GraphQL operations (each subscription event counts as one) by type and result (ok or error).",
			Buckets: latencyBuckets,
		}, []string{"operation", "result"}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoclaim_claims_total",
			Help: "claimLicense answers by outcome and denial reason; replays of an earlier answer (same idempotency key) are counted apart.",
		}, []string{"outcome", "reason"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoclaim_claim_replays_total",
			Help: "claimLicense calls answered with the stored first answer of their idempotency key, by that answer's outcome.",
		}, []string{"outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoclaim_http_requests_total",
			Help: "HTTP requests by route (the server's pattern, not the path) and status class (2xx, 4xx…); websockets are 1xx.",
		}, []string{"route", "code_class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "autoclaim_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route; websockets and event streams, which last as long as their client stays, are not timed.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoclaim_redis_errors_total",
			Help: "Redis commands that failed (connection errors, timeouts, server errors), by command.",
		}, []string{"command"}),
		redisLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "autoclaim_redis_command_duration_seconds",
			Help:    "Time from sending a Redis command to its reply (or failure), by command; a pipeline counts as one command named pipeline.",
			Buckets: redisBuckets,
		}, []string{"command"}),
		fills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "autoclaim_waitlist_fills_total",
			Help: "Licenses given to users waiting on a policy's waitlist, by this instance (in the call that made them available, or by its worker).",
		}),
		reclaims: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "autoclaim_licenses_reclaimed_total",
			Help: "Licenses reclaimed because their holders did not use them, by this instance (reclaimInactiveLicenses, or its worker's sweeps).",
		}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "autoclaim_build_info",
		Help: "Always 1; its labels name the version of autoclaim that runs and the Go version that built it.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(Version(), runtime.Version()).Set(1)
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build, m.operations, m.claims, m.replays, m.requests, m.latency, m.redisErrors, m.redisLatency, m.fills, m.reclaims)
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

// RedisCommandTook observes how long a Redis command took; give it to the
// store's Options.CommandTook.
func (m *Metrics) RedisCommandTook(command string, d time.Duration) {
	m.redisLatency.WithLabelValues(command).Observe(d.Seconds())
}

// Flowed counts licenses given to waiting users and reclaimed; give it to
// the store's Options.OnFlow.
func (m *Metrics) Flowed(filled, reclaimed int) {
	m.fills.Add(float64(filled))
	m.reclaims.Add(float64(reclaimed))
}

// request counts an HTTP request, and times it unless it was a stream.
func (m *Metrics) request(route string, code int, d time.Duration, stream bool) {
	m.requests.WithLabelValues(route, codeClass(code)).Inc()
	if !stream {
		m.latency.WithLabelValues(route).Observe(d.Seconds())
	}
}

// codeClass is "2xx" for 200 to 299, and so on.
func codeClass(code int) string {
	switch {
	case code >= 100 && code < 200:
		return "1xx"
	case code < 300:
		return "2xx"
	case code < 400:
		return "3xx"
	case code < 500:
		return "4xx"
	default:
		return "5xx"
	}
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

// InterceptField counts claim answers: a replay of an earlier answer is not
// a claim, and is counted apart.
func (m *Metrics) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if r, ok := res.(*license.ClaimResult); ok && err == nil {
		if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Field.Name == "claimLicense" {
			if r.Replayed {
				m.replays.WithLabelValues(string(r.Outcome)).Inc()
			} else {
				m.claims.WithLabelValues(string(r.Outcome), string(r.Reason)).Inc()
			}
		}
	}
	return res, err
}
