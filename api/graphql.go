package api

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/graph"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/resolvers"
)

// Cache budgets. A parsed document holds about 22 bytes per byte of its
// text (measured on the API's own queries); the budget counts 24.
const (
	queryCacheBytes     = 32 << 20
	parsedBytesPerByte  = 24
	persistedQueryBytes = 8 << 20
)

// closeForbidden is the websocket close code of a refused connection_init
// (a bad or missing token).
const closeForbidden = 4403

// newGraphQLHandler builds the gqlgen handler: transports, caches, limits,
// the directives and the error presenter, behind the token check.
func newGraphQLHandler(d Deps) http.Handler {
	cfg := graph.Config{Resolvers: &resolvers.Resolver{
		Service: d.Service, Log: d.Log, Shutdown: d.Shutdown,
		Claims:        newClaimLimiter(d.Limits, d.Clock),
		Subscriptions: newSubscriptionLimiter(d.Limits.MaxSubscriptionsPerConnection, d.Limits.MaxSubscriptionsPerCaller),
	}}
	cfg.Directives.HasRole = auth.HasRole
	cfg.Directives.TenantScoped = auth.TenantScoped
	// A page of n items costs n times its items.
	page := func(child int, first *int) int {
		n := 50
		if first != nil {
			n = max(1, *first)
		}
		return satMul(child, n)
	}
	cfg.Complexity.Tenant.Users = func(child int, first *int, _ *string) int { return page(child, first) }
	cfg.Complexity.PolicyReport.ClaimedUsers = func(child int, first *int, _ *string) int { return page(child, first) }
	cfg.Complexity.Tenant.AuditLog = func(child int, first *int, _ *string, _ *time.Time, _ *string) int { return page(child, first) }
	cfg.Complexity.AutoClaimPolicy.Waitlist = func(child int, first *int, _ *string) int { return page(child, first) }
	cfg.Complexity.AutoClaimPolicy.InactiveLicenses = func(child int, _ int, first *int, _ *string) int { return page(child, first) }
	cfg.Complexity.Tenant.LicenseRequests = func(child int, _ *license.RequestStatus, first *int, _ *string) int { return page(child, first) }
	cfg.Complexity.Me.LicenseRequests = func(child int, _ *license.RequestStatus, first *int, _ *string) int { return page(child, first) }
	srv := handler.New(graph.NewExecutableSchema(cfg))
	srv.AddTransport(transport.Websocket{
		Implementation: sessionWebsocket{transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: d.AllowedOrigins},
		}},
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			c, err := d.Verifier.VerifyHeader(p.Authorization())
			if err != nil {
				ctx = transport.WithWebsocketCloseCode(ctx, closeForbidden)
				ctx = transport.AppendCloseReason(ctx, "forbidden: "+license.ErrorMessage(err))
				return ctx, nil, err
			}
			return resolvers.WithWebsocket(auth.WithCaller(endAtExpiry(ctx, c), c, nil)), nil, nil
		},
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: d.StreamKeepAlive,
		PingPongInterval:      d.StreamKeepAlive,
	})
	srv.AddTransport(sseTransport{keepAlive: d.StreamKeepAlive, writeTimeout: d.StreamWriteTimeout})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpTransport{})
	docs := newByteCache(queryCacheBytes, parsedBytesPerByte, func(*ast.QueryDocument) int { return 0 })
	srv.SetQueryCache(docs)
	srv.SetParserTokenLimit(d.Limits.MaxTokens)
	srv.Use(&gate{maxBytes: d.Limits.MaxDocumentBytes, maxTokens: d.Limits.MaxTokens, maxFragments: d.Limits.MaxFragments, seen: docs,
		public: publicFields(d.Introspection),
		apq:    extension.AutomaticPersistedQuery{Cache: newByteCache(persistedQueryBytes, 1, func(q string) int { return len(q) })}})
	srv.Use(&requestLimits{Limits: d.Limits, introspection: d.Introspection})
	if d.TracerProvider != nil {
		srv.Use(operationSpans{tracer: d.TracerProvider.Tracer(tracerName)})
	}
	srv.Use(d.Metrics)
	if d.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.SetDisableSuggestion(true)
	}
	srv.AroundRootFields(stopAfterFailure)
	srv.AroundRootFields(recordChange)
	srv.AroundFields(argumentErrors)
	srv.SetErrorPresenter(resolvers.ErrorPresenter(d.Log))
	srv.SetRecoverFunc(resolvers.Recover(d.Log))
	return withWSSession(auth.Middleware(d.Verifier)(srv))
}
