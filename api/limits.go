package api

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
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
	// claimLicense calls per second, and bursts, per caller: apps and admins
	// claim for many users; a USER claims for itself only. 0 = unlimited.
	ClaimRate, UserClaimRate   float64
	ClaimBurst, UserClaimBurst int
}

// DefaultLimits are the limits of a server that sets none: the one place
// where their defaults are written.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth: 12, MaxAliases: 30, MaxRootFields: 10, MaxComplexity: 10000, MaxTokens: 15000,
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
		{&l.MaxComplexity, def.MaxComplexity}, {&l.MaxTokens, def.MaxTokens},
	} {
		if *f.v == 0 {
			*f.v = f.d
		}
	}
	return l
}

// requestLimits enforce Limits' shape bounds on each request, before it runs.
type requestLimits struct {
	Limits
	introspection bool // allow __schema and __type
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*requestLimits)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (l *requestLimits) ExtensionName() string { return "RequestLimits" }

// Validate implements graphql.HandlerExtension.
func (l *requestLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext checks introspection, root fields, depth and aliases.
func (l *requestLimits) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	roots := selectedRootFields(op.Doc, op.Operation.SelectionSet)
	claim := false
	for _, f := range roots {
		claim = claim || f.Name == "claimLicense"
		if !l.introspection && (f.Name == "__schema" || f.Name == "__type") {
			le := license.Errorf(license.EFORBIDDEN, "Introspection is turned off on this server (AUTOCLAIM_INTROSPECTION).")
			return &gqlerror.Error{Message: le.Message, Err: le}
		}
	}
	switch {
	case claim && len(roots) != 1:
		return limitError(fmt.Sprintf("A request that calls claimLicense must call nothing else; this one has %d root fields.", len(roots)))
	case len(roots) > l.MaxRootFields:
		return limitError(fmt.Sprintf("A request may have at most %d root fields; this one has %d.", l.MaxRootFields, len(roots)))
	}
	if d := depth(op.Doc, op.Operation.SelectionSet, 0); d > l.MaxDepth {
		return limitError(fmt.Sprintf("The selection is %d levels deep; at most %d are allowed.", d, l.MaxDepth))
	}
	if n := aliases(op.Doc, op.Operation.SelectionSet, 0); n > l.MaxAliases {
		return limitError(fmt.Sprintf("The request uses %d aliases; at most %d are allowed.", n, l.MaxAliases))
	}
	return nil
}

func limitError(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Err: license.Errorf(license.EINVALID, "%s", msg)}
}

// selectedRootFields lists the fields of a selection set, through fragments.
func selectedRootFields(doc *ast.QueryDocument, set ast.SelectionSet) []*ast.Field {
	var out []*ast.Field
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			out = append(out, s)
		case *ast.InlineFragment:
			out = append(out, selectedRootFields(doc, s.SelectionSet)...)
		case *ast.FragmentSpread:
			if f := doc.Fragments.ForName(s.Name); f != nil {
				out = append(out, selectedRootFields(doc, f.SelectionSet)...)
			}
		}
	}
	return out
}

// depth returns how deep a selection set goes, through fragments. Validation
// has already refused fragment cycles; level bounds the walk all the same.
func depth(doc *ast.QueryDocument, set ast.SelectionSet, level int) int {
	if level > 64 {
		return level
	}
	deepest := level
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) > 0 {
				deepest = max(deepest, depth(doc, s.SelectionSet, level+1))
			} else {
				deepest = max(deepest, level+1)
			}
		case *ast.InlineFragment:
			deepest = max(deepest, depth(doc, s.SelectionSet, level))
		case *ast.FragmentSpread:
			if f := doc.Fragments.ForName(s.Name); f != nil {
				deepest = max(deepest, depth(doc, f.SelectionSet, level))
			}
		}
	}
	return deepest
}

// aliases counts aliased fields, through fragments.
func aliases(doc *ast.QueryDocument, set ast.SelectionSet, level int) int {
	if level > 64 {
		return 0
	}
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				n++
			}
			n += aliases(doc, s.SelectionSet, level+1)
		case *ast.InlineFragment:
			n += aliases(doc, s.SelectionSet, level+1)
		case *ast.FragmentSpread:
			if f := doc.Fragments.ForName(s.Name); f != nil {
				n += aliases(doc, f.SelectionSet, level+1)
			}
		}
	}
	return n
}
