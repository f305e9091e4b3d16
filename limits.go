package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/time/rate"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// limitSettings bound what one GraphQL request may ask.
type limitSettings struct {
	MaxDepth     int // deepest selection
	MaxAliases   int // aliased fields in a request
	MaxRootField int // root fields in a request (claimLicense: exactly one)
	// claimLicense calls per second, and bursts, per caller: apps and admins
	// claim for many users; a USER claims for itself only. 0 = unlimited.
	ClaimRate, UserClaimRate   float64
	ClaimBurst, UserClaimBurst int
	// Introspection allows __schema and __type queries.
	Introspection bool
}

// limits enforce limitSettings on each request, before it runs.
type limits struct {
	limitSettings

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*limits)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (l *limits) ExtensionName() string { return "RequestLimits" }

// Validate implements graphql.HandlerExtension.
func (l *limits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext checks depth, aliases and root fields, and rate
// limits claimLicense per caller, in process: it adds no Redis round trip.
func (l *limits) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	roots := selectedRootFields(op.Doc, op.Operation.SelectionSet)
	claim := false
	for _, f := range roots {
		claim = claim || f.Name == "claimLicense"
		if !l.Introspection && (f.Name == "__schema" || f.Name == "__type") {
			le := license.Errorf(license.EFORBIDDEN, "Introspection is turned off on this server (AUTOCLAIM_INTROSPECTION).")
			return &gqlerror.Error{Message: le.Message, Err: le}
		}
	}
	switch {
	case claim && len(roots) != 1:
		return limitError(fmt.Sprintf("A request that calls claimLicense must call nothing else; this one has %d root fields.", len(roots)))
	case len(roots) > l.MaxRootField:
		return limitError(fmt.Sprintf("A request may have at most %d root fields; this one has %d.", l.MaxRootField, len(roots)))
	}
	if d := depth(op.Doc, op.Operation.SelectionSet, 0); d > l.MaxDepth {
		return limitError(fmt.Sprintf("The selection is %d levels deep; at most %d are allowed.", d, l.MaxDepth))
	}
	if n := aliases(op.Doc, op.Operation.SelectionSet, 0); n > l.MaxAliases {
		return limitError(fmt.Sprintf("The request uses %d aliases; at most %d are allowed.", n, l.MaxAliases))
	}
	if c, err := auth.CallerFrom(ctx); claim && err == nil {
		r, burst := l.ClaimRate, l.ClaimBurst
		if !c.Has(auth.App, auth.GlobalAdmin) {
			r, burst = l.UserClaimRate, l.UserClaimBurst
		}
		if r > 0 {
			if wait := l.reserve(c.TenantID+"\x00"+c.Subject, r, burst); wait > 0 {
				le := license.Errorf(license.ERATELIMITED, "Too many claims from this caller; retry in %.1f s.", wait.Seconds())
				le.RetryAfter = wait
				return &gqlerror.Error{Message: le.Message, Err: le}
			}
		}
	}
	return nil
}

// reserve takes a token for key, or says how long until one is free.
func (l *limits) reserve(key string, r float64, burst int) time.Duration {
	l.mu.Lock()
	lim := l.limiters[key]
	if lim == nil {
		if l.limiters == nil || len(l.limiters) > 100_000 {
			l.limiters = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(rate.Limit(r), max(1, burst))
		l.limiters[key] = lim
	}
	l.mu.Unlock()
	now := time.Now()
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
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
			if strings.HasPrefix(s.Name, "__") {
				// Introspection (refused before this when it is off) is as
				// deep as the schema's type wrappers: its depth isn't counted.
				deepest = max(deepest, level+1)
			} else if len(s.SelectionSet) > 0 {
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

// getQueriesOnly answers a mutation over GET with 405 and Allow: POST, as
// GraphQL over HTTP asks (gqlgen's GET transport answers 406).
func getQueriesOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w = &notAcceptableTo405{ResponseWriter: w}
		}
		next.ServeHTTP(w, r)
	})
}

type notAcceptableTo405 struct{ http.ResponseWriter }

func (w *notAcceptableTo405) WriteHeader(code int) {
	if code == http.StatusNotAcceptable {
		w.Header().Set("Allow", "POST")
		code = http.StatusMethodNotAllowed
	}
	w.ResponseWriter.WriteHeader(code)
}
