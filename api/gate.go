package api

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// publicFields are the root fields a request without a token may select:
// __typename, and the schema (__schema, __type) where introspection is on
// (a development server, or one whose operator chose to show it). Every
// other field needs a caller.
func publicFields(introspection bool) map[string]bool {
	return map[string]bool{"__typename": true, "__schema": introspection, "__type": introspection}
}

// Bounds on a document's shape that keep validation's work in proportion
// to its text. Validation compares pairwise the fields of one selection
// set that share a response name, and the fragments it spreads, so their
// numbers must stay small; the API has no use for more than a few.
const (
	sameNameFields      = 10 // fields of one response name in a selection set
	spreadsPerSelection = 20 // fragment spreads in a selection set
	maxOperations       = 20 // operations in a document
)

// gate is the first thing a request meets, before its document is parsed
// and validated for execution: a document over MaxDocumentBytes is refused;
// a request without a valid token is refused with UNAUTHENTICATED unless it
// selects only public fields; a document not seen before is parsed once and
// its shape checked, in one linear pass, so that validation, whose work
// grows with fragments times the document and with the square of fields
// sharing a name, stays bounded. Then automatic persisted queries resolve a
// hash to its document (only callers with a token can store one).
type gate struct {
	maxBytes     int
	maxTokens    int
	maxFragments int
	public       map[string]bool                   // root fields open to requests without a token
	seen         graphql.Cache[*ast.QueryDocument] // documents validated already
	apq          extension.AutomaticPersistedQuery
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*gate)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (g *gate) ExtensionName() string { return "Gate" }

// Validate implements graphql.HandlerExtension.
func (g *gate) Validate(es graphql.ExecutableSchema) error { return g.apq.Validate(es) }

// MutateOperationParameters implements graphql.OperationParameterMutator.
func (g *gate) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if len(p.Query) > g.maxBytes {
		return limitError(fmt.Sprintf("The query document is %d bytes long; at most %d are allowed.", len(p.Query), g.maxBytes))
	}
	_, anonymous := auth.CallerFrom(ctx)
	if _, validated := g.seen.Get(ctx, p.Query); !validated || anonymous != nil {
		doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, g.maxTokens)
		switch {
		case anonymous != nil && (err != nil || g.shape(doc) != "" || !selectsOnly(doc, g.public)):
			return &gqlerror.Error{Message: license.ErrorMessage(anonymous), Err: anonymous}
		case err == nil:
			if msg := g.shape(doc); msg != "" {
				return limitError(msg)
			}
		}
	}
	return g.apq.MutateOperationParameters(ctx, p)
}

// selectsOnly reports whether every operation of a document selects only
// the given root fields (a persisted query's hash alone selects nothing
// known: false).
func selectsOnly(doc *ast.QueryDocument, fields map[string]bool) bool {
	if len(doc.Operations) == 0 {
		return false
	}
	w := newRootWalk(doc)
	for _, op := range doc.Operations {
		for name := range w.of(op.SelectionSet).names {
			if !fields[name] {
				return false
			}
		}
	}
	return true
}

// shape checks, in one pass over the document as written, what bounds
// validation's work: the number of operations and of fragments; that every
// spread names a fragment the document defines; per selection set (inline
// fragments merged into it, as validation merges them), the fields sharing
// a response name and the fragment spreads, which validation compares
// pairwise. It returns why the document is refused, or "".
func (g *gate) shape(doc *ast.QueryDocument) string {
	switch {
	case len(doc.Operations) > maxOperations:
		return fmt.Sprintf("The document holds %d operations; at most %d are allowed.", len(doc.Operations), maxOperations)
	case len(doc.Fragments) > g.maxFragments:
		return fmt.Sprintf("The document defines %d fragments; at most %d are allowed.", len(doc.Fragments), g.maxFragments)
	}
	// merged counts one selection set's fields by response name and its
	// spreads, inline fragments included; nested sets are checked apart.
	type merged struct {
		names   map[string]int
		spreads int
	}
	var check func(set ast.SelectionSet, m *merged) string
	checkSet := func(set ast.SelectionSet) string {
		return check(set, &merged{names: map[string]int{}})
	}
	check = func(set ast.SelectionSet, m *merged) string {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				if m.names[key]++; m.names[key] > sameNameFields {
					return fmt.Sprintf("A selection names %q more than %d times.", key, sameNameFields)
				}
				if msg := checkSet(s.SelectionSet); msg != "" {
					return msg
				}
			case *ast.InlineFragment:
				if msg := check(s.SelectionSet, m); msg != "" {
					return msg
				}
			case *ast.FragmentSpread:
				if doc.Fragments.ForName(s.Name) == nil {
					return fmt.Sprintf("Fragment %q is not defined.", s.Name)
				}
				if m.spreads++; m.spreads > spreadsPerSelection {
					return fmt.Sprintf("A selection spreads more than %d fragments.", spreadsPerSelection)
				}
			}
		}
		return ""
	}
	for _, op := range doc.Operations {
		if msg := checkSet(op.SelectionSet); msg != "" {
			return msg
		}
	}
	for _, f := range doc.Fragments {
		if msg := checkSet(f.SelectionSet); msg != "" {
			return msg
		}
	}
	return ""
}
