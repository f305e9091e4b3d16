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

// defaultPage is the page size a list returns when first is null (the
// schema's default when it is absent).
const defaultPage = 50

// pageSize is first, or defaultPage when first is null.
func pageSize(first *int) int {
	if first == nil {
		return defaultPage
	}
	return *first
}

// optional reads an optional string argument: null is "", and an empty
// string is refused on field, as it is not a way to leave a value out.
func optional(field string, p *string) (string, error) {
	if p != nil && *p == "" {
		return "", license.OnField(field, license.Errorf(license.EINVALID, "%s is empty; leave it out (null) instead.", field))
	}
	return deref(p), nil
}
