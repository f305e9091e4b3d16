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

// sameNameFields bounds the fields of one selection set, as written, that
// share a response name. Validation compares such fields pairwise, so their
// number must stay small; the API has no use for more than a few.
const sameNameFields = 10

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
		case anonymous != nil && (err != nil || !selectsOnly(doc, g.public)):
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

// shape checks what bounds validation's work: the number of fragments, and
// fields sharing a response name in each selection set. It returns why the
// document is refused, or "".
func (g *gate) shape(doc *ast.QueryDocument) string {
	if len(doc.Fragments) > g.maxFragments {
		return fmt.Sprintf("The document defines %d fragments; at most %d are allowed.", len(doc.Fragments), g.maxFragments)
	}
	var check func(set ast.SelectionSet) string
	check = func(set ast.SelectionSet) string {
		names := map[string]int{}
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				if names[key]++; names[key] > sameNameFields {
					return fmt.Sprintf("A selection names %q more than %d times.", key, sameNameFields)
				}
				if msg := check(s.SelectionSet); msg != "" {
					return msg
				}
			case *ast.InlineFragment:
				if msg := check(s.SelectionSet); msg != "" {
					return msg
				}
			}
		}
		return ""
	}
	for _, op := range doc.Operations {
		if msg := check(op.SelectionSet); msg != "" {
			return msg
		}
	}
	for _, f := range doc.Fragments {
		if msg := check(f.SelectionSet); msg != "" {
			return msg
		}
	}
	return ""
}
