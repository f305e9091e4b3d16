package api

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/autoclaim/autoclaim/license"
)

// Limits bound what one GraphQL request may ask, and how fast a caller may
// claim.
type Limits struct {
	MaxDepth      int // deepest selection
	MaxAliases    int // aliased fields in a request
	MaxRootFields int // root fields in a request (claimLicense: exactly one)
	MaxComplexity int // query complexity (a page of n items costs n times its items)
	MaxTokens     int // parser tokens of a query document
	// MaxDocumentBytes bounds a query document's length, persisted ones too.
	MaxDocumentBytes int
	MaxFragments     int // fragment definitions in a document
	// Live subscriptions of one websocket connection, and of one caller
	// across this instance.
	MaxSubscriptionsPerConnection, MaxSubscriptionsPerCaller int
	// claimLicense calls per second, and bursts, per caller: apps and admins
	// claim for many users; a USER claims for itself only. 0 = unlimited.
	ClaimRate, UserClaimRate   float64
	ClaimBurst, UserClaimBurst int
}

// DefaultLimits are the limits of a server that sets none: the one place
// where their defaults are written.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth: 12, MaxAliases: 30, MaxRootFields: 10, MaxComplexity: 10000, MaxTokens: 15000, MaxDocumentBytes: 64 << 10,
		MaxFragments: 50, MaxSubscriptionsPerConnection: 100, MaxSubscriptionsPerCaller: 200,
		ClaimRate: 1000, ClaimBurst: 2000, UserClaimRate: 5, UserClaimBurst: 10,
	}
}

// withDefaults fills each bound left at zero from DefaultLimits; a zero
// claim rate stays zero (unlimited).
func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	for _, f := range []struct {
		v *int
		d int
	}{
		{&l.MaxDepth, def.MaxDepth}, {&l.MaxAliases, def.MaxAliases}, {&l.MaxRootFields, def.MaxRootFields},
		{&l.MaxComplexity, def.MaxComplexity}, {&l.MaxTokens, def.MaxTokens}, {&l.MaxDocumentBytes, def.MaxDocumentBytes},
		{&l.MaxFragments, def.MaxFragments}, {&l.MaxSubscriptionsPerConnection, def.MaxSubscriptionsPerConnection},
		{&l.MaxSubscriptionsPerCaller, def.MaxSubscriptionsPerCaller},
	} {
		if *f.v == 0 {
			*f.v = f.d
		}
	}
	return l
}

// requestLimits enforce Limits' shape bounds on each request, before it
// runs: what it may select at its root, how deep, with how many aliases, and
// how complex. Every walk is linear in the document (walk.go).
type requestLimits struct {
	Limits
	introspection bool // allow __schema and __type
	es            graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*requestLimits)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (l *requestLimits) ExtensionName() string { return "RequestLimits" }

// Validate implements graphql.HandlerExtension.
func (l *requestLimits) Validate(es graphql.ExecutableSchema) error {
	l.es = es
	return nil
}

// MutateOperationContext checks introspection, root fields, depth, aliases
// and complexity.
func (l *requestLimits) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	r := newRootWalk(op.Doc).of(op.Operation.SelectionSet)
	if !l.introspection && (r.names["__schema"] || r.names["__type"]) {
		le := license.Errorf(license.EFORBIDDEN, "Introspection is turned off on this server (AUTOCLAIM_INTROSPECTION).")
		return &gqlerror.Error{Message: le.Message, Err: le}
	}
	switch {
	case r.names["claimLicense"] && r.count != 1:
		return limitError(fmt.Sprintf("A request that calls claimLicense must call nothing else; this one has %s root fields.", count(r.count)))
	case r.count > l.MaxRootFields:
		return limitError(fmt.Sprintf("A request may have at most %d root fields; this one has %s.", l.MaxRootFields, count(r.count)))
	}
	m := newMeasureWalk(ctx, l.es, op).of(op.Operation.SelectionSet)
	switch {
	case m.depth > l.MaxDepth:
		return limitError(fmt.Sprintf("The selection is %d levels deep; at most %d are allowed.", m.depth, l.MaxDepth))
	case m.introspectionAliases > 0:
		return limitError("Introspection fields can't be aliased; select each once.")
	case m.aliases > l.MaxAliases:
		return limitError(fmt.Sprintf("The request uses %s aliases; at most %d are allowed.", count(m.aliases), l.MaxAliases))
	case m.complexity > l.MaxComplexity:
		err := gqlerror.Errorf("operation has complexity %s, which exceeds the limit of %d", count(m.complexity), l.MaxComplexity)
		errcode.Set(err, "COMPLEXITY_LIMIT_EXCEEDED")
		return err
	}
	return nil
}

// count writes a walker's count, saying when it stopped counting.
func count(n int) string {
	if n >= saturated {
		return fmt.Sprintf("over %d", saturated)
	}
	return fmt.Sprint(n)
}

func limitError(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Err: license.Errorf(license.EINVALID, "%s", msg)}
}
