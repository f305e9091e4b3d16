package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/autoclaim/autoclaim/api"
	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// observedAPI is a test API on a store opened as the server opens it (with
// its command hooks and tracing), serving metrics, traces into memory and
// JSON logs at debug level into a buffer.
type observedAPI struct {
	*testAPI
	metrics *api.Metrics
	spans   *tracetest.InMemoryExporter
}

func newObservedAPI(t *testing.T, b *redistest.Backend) *observedAPI {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { tp.Shutdown(t.Context()) })
	metrics := api.NewMetrics()
	st, err := store.Open(store.Options{URL: "redis://" + b.Addr + "/0", Prefix: b.Prefix, Catalog: license.BuiltinCatalog(),
		CommandFailed: metrics.RedisCommandFailed, CommandTook: metrics.RedisCommandTook, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.LoadScripts(t.Context()); err != nil {
		t.Fatal(err)
	}
	secret := []byte("test-secret-" + b.Prefix)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := api.New(api.Deps{Service: st, Ready: st, Verifier: auth.NewVerifier(secret, nil), Log: log,
		Metrics: metrics, TracerProvider: tp, Limits: api.DefaultLimits()})
	return &observedAPI{testAPI: &testAPI{t: t, store: st, secret: secret, handler: h, logs: logs}, metrics: metrics, spans: spans}
}

// claimFixture makes a tenant whose Power Automate policy gives FLOW_PER_USER,
// with auto-claim on, and returns its Global admin's token.
func (a *observedAPI) claimFixture(tenant string) string {
	a.t.Helper()
	f := a.newFixture(tenant)
	a.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"tenantId": tenant, "name": "PA", "appId": "POWER_AUTOMATE",
			"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"]}}}}, nil)
	a.mustDo(f.admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": tenant}, nil)
	return f.admin
}

const observedClaim = `mutation Claim($t: ID!, $u: ID!, $k: String) { claimLicense(input: {tenantId: $t, userId: $u, appId: "POWER_AUTOMATE",
	trigger: TRIGGER_PREMIUM_FLOW, idempotencyKey: $k}) { outcome replayed } }`

// TestOneClaimIsOneTrace: a claim through the real handler is one trace: the
// HTTP server span, the GraphQL operation's span under it, and exactly one
// Redis span (the EVALSHA) under that; the access log line carries the
// trace's id.
func TestOneClaimIsOneTrace(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		a := newObservedAPI(t, b)
		admin := a.claimFixture("traced")
		a.mustDo(admin, observedClaim, map[string]any{"t": "traced", "u": "warm-up"}, nil) // caches the policy
		a.spans.Reset()
		a.logs.Reset()

		var out struct{ ClaimLicense struct{ Outcome string } }
		a.mustDo(admin, observedClaim, map[string]any{"t": "traced", "u": "counted"}, &out)
		if out.ClaimLicense.Outcome != "CLAIMED" {
			t.Fatalf("outcome %s; want CLAIMED", out.ClaimLicense.Outcome)
		}
		var httpSpans, gqlSpans, redisSpans []tracetest.SpanStub
		for _, s := range a.spans.GetSpans() {
			switch scope := s.InstrumentationScope.Name; {
			case strings.Contains(scope, "otelhttp"):
				httpSpans = append(httpSpans, s)
			case strings.Contains(scope, "redisotel"):
				redisSpans = append(redisSpans, s)
			case scope == "github.com/autoclaim/autoclaim/api":
				gqlSpans = append(gqlSpans, s)
			default:
				t.Errorf("span %q of scope %q; want only HTTP, GraphQL and Redis spans", s.Name, scope)
			}
		}
		if len(httpSpans) != 1 || len(gqlSpans) != 1 || len(redisSpans) != 1 {
			t.Fatalf("spans: %d HTTP, %d GraphQL, %d Redis (%v); want one of each", len(httpSpans), len(gqlSpans), len(redisSpans), names(a.spans.GetSpans()))
		}
		h, g, r := httpSpans[0], gqlSpans[0], redisSpans[0]
		if h.Name != "POST /graphql" || h.SpanKind != trace.SpanKindServer || h.Parent.IsValid() {
			t.Errorf("HTTP span %q, kind %v, parent %v; want a root server span POST /graphql", h.Name, h.SpanKind, h.Parent)
		}
		if g.Name != "mutation Claim" || g.Parent.SpanID() != h.SpanContext.SpanID() {
			t.Errorf("GraphQL span %q under %v; want mutation Claim under the HTTP span %v", g.Name, g.Parent.SpanID(), h.SpanContext.SpanID())
		}
		if r.Name != "evalsha" || r.Parent.SpanID() != g.SpanContext.SpanID() {
			t.Errorf("Redis span %q under %v; want evalsha under the GraphQL span %v", r.Name, r.Parent.SpanID(), g.SpanContext.SpanID())
		}
		id := h.SpanContext.TraceID()
		if g.SpanContext.TraceID() != id || r.SpanContext.TraceID() != id {
			t.Errorf("trace ids %v, %v, %v; want one trace", id, g.SpanContext.TraceID(), r.SpanContext.TraceID())
		}
		line := accessLine(t, a.logs.String())
		if line["trace_id"] != id.String() || line["span_id"] != h.SpanContext.SpanID().String() {
			t.Errorf("access log %v; want trace_id %s and the HTTP span's id", line, id)
		}
	})
}

// TestOperationSpanRecordsErrors: an operation that answers with an error has
// its span marked as failed, with the error's code.
func TestOperationSpanRecordsErrors(t *testing.T) {
	a := newObservedAPI(t, redistest.Mini(t))
	f := a.newFixture("failing")
	a.spans.Reset()
	r := a.do(f.admin, `query Missing { tenant(id: "failing") { policy(id: "failing:policy:9") { id } } }`, nil)
	if r.Code() == "" {
		t.Fatalf("answer %s; want an error", r.Data)
	}
	for _, s := range a.spans.GetSpans() {
		if s.Name != "query Missing" {
			continue
		}
		if s.Status.Code.String() != "Error" || len(s.Events) == 0 {
			t.Fatalf("span %q: status %v, events %v; want an error recorded", s.Name, s.Status, s.Events)
		}
		for _, kv := range s.Events[0].Attributes {
			if kv.Key == "graphql.error.code" && kv.Value.AsString() == r.Code() {
				return
			}
		}
		t.Fatalf("span events %v; want graphql.error.code %s", s.Events, r.Code())
	}
	t.Fatalf("no span named query Missing among %v", names(a.spans.GetSpans()))
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// accessLine returns the one access log line among JSON log lines.
func accessLine(t *testing.T, logs string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http request" {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d access log lines in:\n%s\nwant 1", len(found), logs)
	}
	return found[0]
}

// TestAccessLog: each request is one line at debug level with its method,
// route, status, size, duration and request id; none at info level.
func TestAccessLog(t *testing.T) {
	b := redistest.Mini(t)
	var logs bytes.Buffer
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		logs.Reset()
		ta := newTestAPIOn(t, b.Client, b.Prefix, license.BuiltinCatalog(), func(d *api.Deps) {
			d.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level}))
		})
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header.Set("X-Request-Id", "req-42")
		ta.handler.ServeHTTP(httptest.NewRecorder(), req)
		if level == slog.LevelInfo {
			if logs.Len() > 0 {
				t.Fatalf("at info level a request logged %s; want nothing", logs.String())
			}
			continue
		}
		line := accessLine(t, logs.String())
		want := map[string]any{"level": "DEBUG", "method": "GET", "route": "/healthz", "status": float64(200), "bytes": float64(3), "request_id": "req-42"}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("access log %s = %v; want %v (line %v)", k, line[k], v, line)
			}
		}
		if _, ok := line["duration"]; !ok {
			t.Errorf("access log %v has no duration", line)
		}
	}
}

// scrape reads what the operator's listener serves at /metrics.
func scrape(t *testing.T, m *api.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	api.OpsHandler(m).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// TestMetrics: claims, replays apart, requests by route and status class
// with their latency, Redis command latency, build information; /metrics is
// served on the operator's listener, not on the API.
func TestMetrics(t *testing.T) {
	a := newObservedAPI(t, redistest.Mini(t))
	admin := a.claimFixture("metrics")
	for range 2 { // the second is a replay
		a.mustDo(admin, observedClaim, map[string]any{"t": "metrics", "u": "u1", "k": "key-1"}, nil)
	}
	a.mustDo(admin, observedClaim, map[string]any{"t": "metrics", "u": "u1"}, nil) // ALREADY_LICENSED
	a.handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if strings.Contains(rec.Body.String(), "autoclaim_") {
		t.Errorf("the API port serves metrics: %d %.200s", rec.Code, rec.Body.String())
	}
	body := scrape(t, a.metrics)
	for _, want := range []string{
		`autoclaim_claims_total{outcome="CLAIMED",reason=""} 1`,
		`autoclaim_claims_total{outcome="ALREADY_LICENSED",reason=""} 1`,
		`autoclaim_claim_replays_total{outcome="CLAIMED"} 1`,
		`autoclaim_graphql_operation_duration_seconds_count{operation="mutation",result="ok"}`,
		`autoclaim_http_requests_total{code_class="2xx",route="/graphql"}`,
		`autoclaim_http_requests_total{code_class="4xx",route="unmatched"} 2`,
		`autoclaim_http_request_duration_seconds_count{route="/graphql"}`,
		`autoclaim_redis_command_duration_seconds_count{command="evalsha"}`,
		`autoclaim_build_info{goversion="go`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `autoclaim_claims_total{outcome="CLAIMED",reason=""} 2`) {
		t.Error("a replay was counted as a claim")
	}
}

// TestMetricNamesPassPromlint: every metric /metrics serves follows
// Prometheus's naming conventions.
func TestMetricNamesPassPromlint(t *testing.T) {
	a := newObservedAPI(t, redistest.Mini(t))
	admin := a.claimFixture("lint")
	a.mustDo(admin, observedClaim, map[string]any{"t": "lint", "u": "u1"}, nil)
	a.metrics.CountLive(func() int { return 0 })
	problems, err := promlint.New(strings.NewReader(scrape(t, a.metrics))).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
