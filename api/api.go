// Package api is autoclaim's HTTP surface: every route, the middleware
// around them (request ids, tracing, metrics and the access log, body limit,
// queries-only GET, CORS), the gqlgen handler with its request limits, and
// the operator's endpoints (metrics, profiles) served on a listener apart.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/rs/cors"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/autoclaim/autoclaim/api/console"
	"github.com/autoclaim/autoclaim/api/graphiql"
	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// Readiness reports whether the store can serve requests, and loads what it
// needs (scripts) when it can't.
type Readiness interface {
	// Ready returns nil when the store can serve. Returns EUNAVAILABLE otherwise.
	Ready(ctx context.Context) error
	// LoadScripts loads the store's scripts into Redis.
	LoadScripts(ctx context.Context) error
}

// Deps are what New wires together.
type Deps struct {
	Service  license.Service
	Ready    Readiness
	Verifier *auth.Verifier
	// Log receives the server's log lines, each with the request's id and
	// trace (see LogHandler), and the access log at debug level.
	Log *slog.Logger
	// Console serves the admin console at /.
	Console bool
	// ConsoleSignIn is the OpenID provider the console signs in with (none:
	// tokens only).
	ConsoleSignIn console.OIDC
	// GraphiQL serves GraphiQL at /graphiql.
	GraphiQL bool
	// Introspection allows schema introspection and field suggestions.
	Introspection bool
	// Limits bound each request; zero bounds take DefaultLimits' (zero
	// claim rates mean unlimited).
	Limits Limits
	// Metrics counts requests, operations and claims; OpsHandler serves
	// them (nil: counted, and served nowhere).
	Metrics *Metrics
	// TracerProvider, when set, traces each request (an HTTP server span,
	// joining the caller's trace when it sends a traceparent header) and
	// each GraphQL operation in it. Nil: no tracing, and no cost.
	TracerProvider trace.TracerProvider
	// Shutdown, when done, completes every live subscription (nil: never).
	Shutdown context.Context
	// AllowedOrigins are host patterns (path.Match) whose browser pages may
	// open websockets; same-origin pages always may.
	AllowedOrigins []string
	// CORSOrigins may call the API from browsers (empty: same origin only).
	CORSOrigins []string
	// StreamKeepAlive is how often an idle event stream (SSE) or websocket
	// is pinged, and StreamWriteTimeout how long one write to an event
	// stream may take before its reader is dropped (0: 15 s and 10 s).
	StreamKeepAlive, StreamWriteTimeout time.Duration
	// Clock is the clock of rate limits (nil: time.Now).
	Clock func() time.Time
}

// New returns the HTTP handler of autoclaim: every route in one place.
func New(d Deps) http.Handler {
	d.Limits = d.Limits.withDefaults()
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.StreamKeepAlive == 0 {
		d.StreamKeepAlive = 15 * time.Second
	}
	if d.StreamWriteTimeout == 0 {
		d.StreamWriteTimeout = 10 * time.Second
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.Log = slog.New(LogHandler(d.Log.Handler()))
	mux := http.NewServeMux()
	var gql http.Handler = graphQLMethods(limitBody(newGraphQLHandler(d)))
	if len(d.CORSOrigins) > 0 {
		gql = cors.New(cors.Options{
			AllowedOrigins: d.CORSOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions},
			AllowedHeaders: []string{"Authorization", "Content-Type", "Accept", "X-Request-Id"},
			ExposedHeaders: []string{"X-Request-Id"},
			MaxAge:         600,
		}).Handler(gql)
	}
	mux.Handle("/graphql", gql)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", readyz(d.Ready, d.Verifier, d.Log))
	mux.HandleFunc("GET "+reportCSVPath, reportCSV(d.Service, d.Verifier, d.Log))
	if d.Console {
		// "/" rather than "GET /": a method on the catch-all would conflict with /graphql.
		mux.Handle("/", console.Handler(console.Options{Endpoint: "/graphql", ReportCSV: reportCSVPath, SignIn: d.ConsoleSignIn}))
	}
	if d.GraphiQL {
		g := graphiql.Handler(graphiql.Options{Path: "/graphiql", Endpoint: "/graphql"})
		mux.Handle("GET /graphiql", g)
		mux.Handle("GET /graphiql/", g)
	}
	h := observe(mux, d.Metrics, d.Log)
	if d.TracerProvider != nil {
		// Span names become "POST /graphql" once the mux has matched a route.
		h = otelhttp.NewHandler(h, "autoclaim", otelhttp.WithTracerProvider(d.TracerProvider),
			otelhttp.WithPropagators(propagation.TraceContext{}), otelhttp.WithMeterProvider(noop.NewMeterProvider()))
	}
	return withRequestID(h)
}

// readyz answers 200 when the store and the token verifier are ready, and
// 503 when not. Redis may have restarted with an empty script cache: it
// loads the scripts again.
func readyz(ready Readiness, tokens *auth.Verifier, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		err := ready.Ready(ctx)
		if err != nil && license.ErrorCode(err) == license.EUNAVAILABLE {
			if ready.LoadScripts(ctx) == nil {
				err = ready.Ready(ctx)
			}
		}
		if err == nil {
			err = tokens.Ready(ctx)
		}
		if err != nil {
			log.WarnContext(ctx, "not ready", "err", err)
			http.Error(w, "not ready: "+license.ErrorMessage(err), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	}
}
