// Package resolvers implements the GraphQL schema: each resolver takes the
// caller from the context, calls the domain service and returns the result.
package resolvers

import (
	"context"
	"log/slog"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// Resolver holds the services the resolvers call. It is the dependency-injection point.
type Resolver struct {
	Service license.Service
	Log     *slog.Logger // where internal errors are reported
	// Shutdown, when done, completes every live subscription (nil: never).
	Shutdown context.Context
	// Claims limits how fast each caller claims (nil: unlimited).
	Claims ClaimLimiter
	// Subscriptions caps live subscriptions (nil: no cap).
	Subscriptions SubscriptionLimiter
}

// SubscriptionLimiter caps how many subscriptions a caller, and a
// connection, may hold.
type SubscriptionLimiter interface {
	// AcquireSubscription takes a place for a subscription made on ctx,
	// given back when ctx ends. Returns ERATELIMITED when there is none.
	AcquireSubscription(ctx context.Context, c *auth.Caller) error
}

// ClaimLimiter limits how fast a caller may claim licenses.
type ClaimLimiter interface {
	// AllowClaim returns nil if c may claim now. Returns ERATELIMITED otherwise.
	AllowClaim(c *auth.Caller) error
}
