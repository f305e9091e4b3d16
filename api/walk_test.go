package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/autoclaim/autoclaim/graph"
)

// fragmentBomb is a document whose n nested fragments each spread the next
// twice: 2^n root fields in about 40n bytes.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("query { ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { __typename }\n", n)
	return b.String()
}

// TestWalksAreLinearInTheDocument: the walkers visit each selection of a
// document once, however often fragments spread one another, and their
// counts saturate rather than overflow.
func TestWalksAreLinearInTheDocument(t *testing.T) {
	es := graph.NewExecutableSchema(graph.Config{})
	for _, n := range []int{4, 26, 64, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src := fragmentBomb(n)
			doc, errs := gqlparser.LoadQueryWithRules(es.Schema(), src, nil)
			if errs != nil {
				t.Fatalf("the bomb does not validate: %v", errs)
			}
			op := doc.Operations[0]
			rw := newRootWalk(doc)
			r := rw.of(op.SelectionSet)
			wantCount := saturated
			if n < 31 {
				wantCount = 1 << n
			}
			if r.count != wantCount || !r.names["__typename"] || len(r.names) != 1 {
				t.Errorf("roots = %d %v; want %d __typename", r.count, r.names, wantCount)
			}
			mw := newMeasureWalk(context.Background(), es, &graphql.OperationContext{Doc: doc})
			m := mw.of(op.SelectionSet)
			if m.complexity != wantCount {
				t.Errorf("complexity = %d; want %d", m.complexity, wantCount)
			}
			// One visit per selection written in the document: 1 + 2n + 1.
			if limit := 2*n + 2; rw.visit > limit || mw.visit > limit {
				t.Errorf("visits: roots %d, measure %d; want at most %d (one per selection written)", rw.visit, mw.visit, limit)
			}
		})
	}
}

// TestGateSeesPublicFieldsOnly: a request without a token may select
// __typename and nothing else, found through fragments each walked once.
func TestGateSeesPublicFieldsOnly(t *testing.T) {
	for src, want := range map[string]bool{
		fragmentBomb(40):                true,
		"{ __typename me { subject } }": false,
		"query A { __typename } mutation B { claimLicense(input: {}) { outcome } }": false,
		"fragment F on Query { __typename }":                                        false, // no operation
	} {
		doc, err := parser.ParseQuery(&ast.Source{Input: src})
		if err != nil {
			t.Fatal(err)
		}
		if got := selectsOnly(doc, publicFields(false)); got != want {
			t.Errorf("selectsOnly(%.60q, public) = %v; want %v", src, got, want)
		}
	}
}

// TestIntrospectionIsPublicWhereItIsOn: with introspection on, a request
// without a token may read the schema (GraphiQL loads its docs before a
// token is set), and nothing else.
func TestIntrospectionIsPublicWhereItIsOn(t *testing.T) {
	doc, _ := parser.ParseQuery(&ast.Source{Input: "{ __schema { types { name } } __type(name: \"Tenant\") { name } }"})
	if !selectsOnly(doc, publicFields(true)) {
		t.Error("introspection is not public where it is on")
	}
	doc, _ = parser.ParseQuery(&ast.Source{Input: "{ __schema { types { name } } me { subject } }"})
	if selectsOnly(doc, publicFields(true)) {
		t.Error("a field beside introspection is public")
	}
}

// TestGateBoundsValidation: documents whose validation would cost more
// than linear work are refused by a linear check first.
func TestGateBoundsValidation(t *testing.T) {
	g := &gate{maxFragments: 50}
	for src, want := range map[string]string{
		fragmentBomb(49): "",
		fragmentBomb(50): "defines 51 fragments",
		"{ " + strings.Repeat("__typename ", 10) + "}":                                               "",
		"{ " + strings.Repeat("__typename ", 11) + "}":                                               `names "__typename" more than 10 times`,
		"{ me { " + strings.Repeat("a: subject ", 11) + "} }":                                        `names "a" more than 10 times`,
		"fragment F on Me { " + strings.Repeat("subject ", 11) + "} { me { ...F } }":                 `names "subject"`,
		"{ __typename ...Nowhere }":                                                                  `Fragment "Nowhere" is not defined`,
		"{ " + strings.Repeat("... on Query { __typename __typename } ", 6) + "}":                    `names "__typename" more than 10 times`,
		"fragment F on Query { __typename } { " + strings.Repeat("...F ", 21) + "}":                  "spreads more than 20 fragments",
		"fragment F on Query { __typename } { " + strings.Repeat("... on Query { ...F } ", 21) + "}": "spreads more than 20 fragments",
		strings.Repeat("query { __typename } ", 21):                                                  "holds 21 operations",
	} {
		doc, err := parser.ParseQuery(&ast.Source{Input: src})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.shape(doc); (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("shape(%.50q) = %q; want %q", src, got, want)
		}
	}
}

// TestCachesAreBoundedInBytes: the query and persisted-query caches keep
// at most their budget in bytes, evicting the least recently used.
func TestCachesAreBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	c := newByteCache(1000, 2, func(v string) int { return len(v) })
	for i := range 100 {
		c.Add(ctx, fmt.Sprintf("key-%03d", i), strings.Repeat("v", 50))
		if c.bytes() > 1000 {
			t.Fatalf("after %d adds the cache holds %d bytes; budget 1000", i+1, c.bytes())
		}
	}
	if _, ok := c.Get(ctx, "key-099"); !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := c.Get(ctx, "key-000"); ok {
		t.Error("the oldest entry is still there")
	}
	c.Add(ctx, "huge", strings.Repeat("x", 2000))
	if _, ok := c.Get(ctx, "huge"); ok || c.bytes() > 1000 {
		t.Errorf("an entry over the whole budget was kept (%d bytes held)", c.bytes())
	}
	// A padded document costs its length times the weight.
	docs := newByteCache(queryCacheBytes, parsedBytesPerByte, func(*ast.QueryDocument) int { return 0 })
	padded := "{ __typename }" + strings.Repeat(" ", 1<<20)
	doc, _ := parser.ParseQuery(&ast.Source{Input: padded})
	for i := range 50 {
		docs.Add(ctx, padded+fmt.Sprint(i), doc)
	}
	if docs.bytes() > queryCacheBytes {
		t.Fatalf("the query cache holds %d bytes; budget %d", docs.bytes(), queryCacheBytes)
	}
}

func TestSatMul(t *testing.T) {
	for _, c := range []struct{ a, b, want int }{
		{0, 5, 0}, {3, 4, 12}, {saturated, 2, saturated}, {1 << 40, 1 << 40, saturated}, {-1, 5, 0}, {saturated, 1, saturated},
	} {
		if got := satMul(c.a, c.b); got != c.want {
			t.Errorf("satMul(%d, %d) = %d; want %d", c.a, c.b, got, c.want)
		}
	}
}
