package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/autoclaim/autoclaim/internal/gqltest"
)

// otlpReceiver is an OTLP/HTTP trace endpoint that keeps what it receives.
type otlpReceiver struct {
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.Resource.GetAttributes() {
			if kv.Key == "service.name" {
				o.services = append(o.services, kv.Value.GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// TestTracesExportedOverOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, a claim's
// trace (HTTP, GraphQL, Redis) reaches the collector by the time the server
// has stopped, under the service name autoclaim, and the access log line of
// the request names the trace.
func TestTracesExportedOverOTLP(t *testing.T) {
	receiver := &otlpReceiver{}
	collector := httptest.NewServer(receiver)
	defer collector.Close()
	srv := launch(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}, "-log-format", "json", "-log-level", "debug")
	gqltest.MustPost(t, srv.exports["AUTOCLAIM_URL"], srv.exports["APP_TOKEN"],
		`mutation Claim { claimLicense(input: {tenantId: "contoso", userId: "alex", appId: "POWER_AUTOMATE", trigger: TRIGGER_PREMIUM_FLOW}) { outcome } }`, nil, nil)
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	receiver.mu.Lock()
	defer receiver.mu.Unlock()
	var claim *tracepb.Span
	for _, s := range receiver.spans {
		if s.Name == "mutation Claim" {
			claim = s
		}
	}
	if claim == nil {
		t.Fatalf("no span named mutation Claim among %d received", len(receiver.spans))
	}
	inTrace := map[string]*tracepb.Span{}
	for _, s := range receiver.spans {
		if string(s.TraceId) == string(claim.TraceId) {
			inTrace[s.Name] = s
		}
	}
	request, command := inTrace["POST /graphql"], inTrace["evalsha"]
	if request == nil || command == nil || string(claim.ParentSpanId) != string(request.SpanId) || string(command.ParentSpanId) != string(claim.SpanId) {
		t.Fatalf("the claim's trace holds %v; want POST /graphql > mutation Claim > evalsha", keys(inTrace))
	}
	if len(receiver.services) == 0 || receiver.services[0] != "autoclaim" {
		t.Errorf("service names %v; want autoclaim", receiver.services)
	}
	traceID := hex.EncodeToString(claim.TraceId)
	for _, l := range logLines(t, srv.stderr.String()) {
		if l["msg"] == "http request" && l["route"] == "/graphql" && l["method"] == "POST" {
			if l["trace_id"] != traceID {
				t.Errorf("access log %v; want trace_id %s", l, traceID)
			}
			return
		}
	}
	t.Errorf("no access log line for the claim in:\n%s", srv.stderr)
}

func keys(m map[string]*tracepb.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestTracingSettings: no endpoint, or OTEL_SDK_DISABLED, installs nothing;
// a protocol other than http/protobuf is refused at start.
func TestTracingSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		on      bool
		wantErr string
	}{
		{"NoEndpoint", nil, false, ""},
		{"Endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, ""},
		{"TracesEndpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true, ""},
		{"Disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false, ""},
		{"ErrGRPC", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, "http/protobuf only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, stop, err := startTracing(t.Context(), func(k string) string { return tt.env[k] }, "devel")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("startTracing = %v; want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tp != nil) != tt.on || (stop != nil) != tt.on {
				t.Fatalf("startTracing installed a provider: %v; want %v", tp != nil, tt.on)
			}
			if stop != nil {
				stop(t.Context())
			}
		})
	}
}
