package api

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// The walkers below measure a query document for the request limits. Each
// visits every fragment once, remembering what it found, so their work grows
// with the size of the document, not with the number of times fragments are
// spread into one another (a document of nested spreads can name 2^n fields
// in n lines). Counts saturate at saturated instead of overflowing.

// saturated is where the walkers stop counting.
const saturated = 1 << 31

func satAdd(a, b int) int { return min(a+b, saturated) }

// satMul multiplies counts of at most saturated without overflow.
func satMul(a, b int) int {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > saturated/b {
		return saturated
	}
	return min(a*b, saturated)
}

// roots is what an operation selects at its root: each field name once, and
// how many root fields it selects in all (fragments counted each time they
// are spread).
type roots struct {
	names map[string]bool
	count int
}

// rootWalk collects root fields through fragments, each fragment once. It
// needs no schema: it runs on documents that are parsed but not validated.
type rootWalk struct {
	doc   *ast.QueryDocument
	memo  map[string]*roots
	visit int // selections visited, for tests
}

func newRootWalk(doc *ast.QueryDocument) *rootWalk {
	return &rootWalk{doc: doc, memo: map[string]*roots{}}
}

// of returns the root fields of a selection set.
func (w *rootWalk) of(set ast.SelectionSet) *roots {
	out := &roots{names: map[string]bool{}}
	for _, sel := range set {
		w.visit++
		var r *roots
		switch s := sel.(type) {
		case *ast.Field:
			out.names[s.Name] = true
			out.count = satAdd(out.count, 1)
			continue
		case *ast.InlineFragment:
			r = w.of(s.SelectionSet)
		case *ast.FragmentSpread:
			r = w.fragment(s.Name)
		}
		for n := range r.names {
			out.names[n] = true
		}
		out.count = satAdd(out.count, r.count)
	}
	return out
}

func (w *rootWalk) fragment(name string) *roots {
	if r, ok := w.memo[name]; ok {
		return r
	}
	w.memo[name] = &roots{names: map[string]bool{}} // a cycle (refused by validation) counts nothing
	f := w.doc.Fragments.ForName(name)
	if f == nil {
		return w.memo[name]
	}
	r := w.of(f.SelectionSet)
	w.memo[name] = r
	return r
}

// measure is how deep, aliased and complex a selection set is.
type measure struct {
	depth      int // levels of fields below the set, not counting introspection
	aliases    int
	complexity int
	// introspectionAliases counts aliases of __schema and of the fields of
	// introspection's types, which could make one small document read the
	// schema many times over.
	introspectionAliases int
}

// measureWalk measures a validated operation through its fragments, each
// fragment once. Complexity is the schema's (its Complexity functions, so a
// page of n items costs n times its items); a field selected twice counts
// twice.
type measureWalk struct {
	ctx   context.Context
	es    graphql.ExecutableSchema
	vars  map[string]any
	doc   *ast.QueryDocument
	memo  map[string]*measure
	visit int // selections visited, for tests
}

func newMeasureWalk(ctx context.Context, es graphql.ExecutableSchema, op *graphql.OperationContext) *measureWalk {
	return &measureWalk{ctx: ctx, es: es, vars: op.Variables, doc: op.Doc, memo: map[string]*measure{}}
}

// of measures a selection set.
func (w *measureWalk) of(set ast.SelectionSet) measure {
	var out measure
	for _, sel := range set {
		w.visit++
		var m measure
		switch s := sel.(type) {
		case *ast.Field:
			m = w.field(s)
		case *ast.InlineFragment:
			m = w.of(s.SelectionSet)
		case *ast.FragmentSpread:
			m = *w.fragment(s.Name)
		}
		out.depth = max(out.depth, m.depth)
		out.aliases = satAdd(out.aliases, m.aliases)
		out.complexity = satAdd(out.complexity, m.complexity)
		out.introspectionAliases = satAdd(out.introspectionAliases, m.introspectionAliases)
	}
	return out
}

func (w *measureWalk) field(f *ast.Field) measure {
	child := w.of(f.SelectionSet)
	m := measure{depth: child.depth + 1, aliases: child.aliases, introspectionAliases: child.introspectionAliases}
	if strings.HasPrefix(f.Name, "__") {
		m.depth = 0 // introspection: deep by nature, bounded by the schema
	}
	if f.Alias != "" && f.Alias != f.Name {
		m.aliases = satAdd(m.aliases, 1)
		// __type(name:) under several aliases reads several types (bounded by
		// the schema); aliases of __schema or inside introspection's types
		// would read the schema over and over.
		if f.Name == "__schema" || (f.ObjectDefinition != nil && strings.HasPrefix(f.ObjectDefinition.Name, "__")) {
			m.introspectionAliases = satAdd(m.introspectionAliases, 1)
		}
	}
	m.complexity = satAdd(child.complexity, 1)
	if f.ObjectDefinition != nil {
		if c, ok := w.es.Complexity(w.ctx, f.ObjectDefinition.Name, f.Name, child.complexity, f.ArgumentMap(w.vars)); ok {
			m.complexity = min(max(c, 0), saturated)
		}
	}
	return m
}

func (w *measureWalk) fragment(name string) *measure {
	if m, ok := w.memo[name]; ok {
		return m
	}
	w.memo[name] = &measure{}
	f := w.doc.Fragments.ForName(name)
	if f == nil {
		return w.memo[name]
	}
	m := w.of(f.SelectionSet)
	w.memo[name] = &m
	return &m
}
