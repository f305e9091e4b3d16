package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/autoclaim/autoclaim/api/console"
	"github.com/autoclaim/autoclaim/api/graphiql"
	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/graph"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/resolvers"
)

// readiness reports whether the store can serve requests.
type readiness interface {
	Ready(ctx context.Context) error
	LoadScripts(ctx context.Context) error
}

// serverDeps are what NewServer wires together.
type serverDeps struct {
	Service  license.Service
	Ready    readiness
	Verifier *auth.Verifier
	Log      *slog.Logger
	GraphiQL bool
	Console  bool
	// Introspection allows schema introspection and field suggestions.
	Introspection bool
	// Limits bound each request; zero values take defaults.
	Limits        limitSettings
	MaxComplexity int
	MaxTokens     int
	// Metrics is what /metrics serves (nil: the runtime's metrics only).
	Metrics *metrics
	// Shutdown, when done, completes every live subscription (nil: never).
	Shutdown context.Context
	// AllowedOrigins are host patterns (path.Match) whose browser pages may
	// open websockets; same-origin pages always may.
	AllowedOrigins []string
	// CORSOrigins may call the API from browsers (empty: same origin only).
	CORSOrigins []string
}

// Websocket close code for a refused connection_init (bad or missing token).
const closeForbidden = 4403

// defaults fills what a test or a caller left unset.
func (d *serverDeps) defaults() {
	if d.Limits.MaxDepth == 0 {
		d.Limits = limitSettings{MaxDepth: 12, MaxAliases: 30, MaxRootField: 10}
	}
	d.Limits.Introspection = d.Introspection
	if d.MaxComplexity == 0 {
		d.MaxComplexity = 10000
	}
	if d.MaxTokens == 0 {
		d.MaxTokens = 15000
	}
	if d.Metrics == nil {
		d.Metrics = newMetrics(nil)
	}
}

// newGraphQLHandler builds the gqlgen handler: transports, caches, limits,
// the directives and the error presenter.
func newGraphQLHandler(d serverDeps) http.Handler {
	cfg := graph.Config{Resolvers: &resolvers.Resolver{Service: d.Service, Log: d.Log, Shutdown: d.Shutdown}}
	cfg.Directives.HasRole = auth.HasRole
	cfg.Directives.TenantScoped = auth.TenantScoped
	// A page of n items costs n times its items.
	page := func(child int, first *int) int {
		n := 50
		if first != nil {
			n = max(1, *first)
		}
		return child * n
	}
	cfg.Complexity.Tenant.Users = func(child int, first *int, _ *string) int { return page(child, first) }
	cfg.Complexity.PolicyReport.ClaimedUsers = func(child int, first *int, _ *string) int { return page(child, first) }
	srv := handler.New(graph.NewExecutableSchema(cfg))
	srv.AddTransport(transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: d.AllowedOrigins},
		},
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			c, err := d.Verifier.VerifyHeader(p.Authorization())
			if err != nil {
				ctx = transport.WithWebsocketCloseCode(ctx, closeForbidden)
				ctx = transport.AppendCloseReason(ctx, "forbidden: "+license.ErrorMessage(err))
				return ctx, nil, err
			}
			return resolvers.WithWebsocket(auth.WithCaller(ctx, c, nil)), nil, nil
		},
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: 15 * time.Second,
		PingPongInterval:      15 * time.Second,
	})
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(d.MaxTokens)
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(extension.FixedComplexityLimit(d.MaxComplexity))
	srv.Use(&limits{limitSettings: d.Limits})
	srv.Use(d.Metrics)
	if d.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.SetDisableSuggestion(true)
	}
	srv.SetErrorPresenter(resolvers.ErrorPresenter(d.Log))
	srv.SetRecoverFunc(resolvers.Recover(d.Log))
	return getQueriesOnly(auth.Middleware(d.Verifier)(srv))
}

// maxBodyBytes bounds a request body; larger ones are answered 413.
const maxBodyBytes = 1 << 20

// limitBody answers 413 to a request whose body is over maxBodyBytes.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			http.Error(w, "request body over 1 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength < 0 {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
			if err != nil {
				http.Error(w, "could not read the request body", http.StatusBadRequest)
				return
			}
			if len(body) > maxBodyBytes {
				http.Error(w, "request body over 1 MiB", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		} else if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// NewServer returns the HTTP handler of autoclaim: every route in one place.
func NewServer(d serverDeps) http.Handler {
	d.defaults()
	mux := http.NewServeMux()
	var api http.Handler = limitBody(newGraphQLHandler(d))
	if len(d.CORSOrigins) > 0 {
		api = cors.New(cors.Options{
			AllowedOrigins: d.CORSOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions},
			AllowedHeaders: []string{"Authorization", "Content-Type", "Accept", "X-Request-Id"},
			ExposedHeaders: []string{"X-Request-Id"},
			MaxAge:         600,
		}).Handler(api)
	}
	mux.Handle("/graphql", api)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		err := d.Ready.Ready(ctx)
		if err != nil && license.ErrorCode(err) == license.EUNAVAILABLE {
			// Redis may have restarted with an empty script cache: load again.
			if d.Ready.LoadScripts(ctx) == nil {
				err = d.Ready.Ready(ctx)
			}
		}
		if err != nil {
			d.Log.WarnContext(ctx, "not ready", "err", err)
			http.Error(w, "not ready: "+license.ErrorMessage(err), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.Metrics.registry, promhttp.HandlerOpts{}))
	if d.Console {
		mux.Handle("/", console.Handler(console.Options{Endpoint: "/graphql"}))
	}
	if d.GraphiQL {
		g := graphiql.Handler(graphiql.Options{Path: "/graphiql", Endpoint: "/graphql"})
		mux.Handle("GET /graphiql", g)
		mux.Handle("GET /graphiql/", g)
	}
	return withRequestID(mux)
}
