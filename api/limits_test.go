package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/api"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

func TestBodyOverOneMiBIsRefused(t *testing.T) {
	ta := newTestAPI(t, redistest.Mini(t))
	big := `{"query": "{ me { subject } }", "variables": {"pad": "` + strings.Repeat("x", 1<<20) + `"}}`
	for name, chunked := range map[string]bool{"WithLength": false, "Chunked": true} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(big))
			if chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			ta.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("HTTP %d; want 413", rec.Code)
			}
		})
	}
	small := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewBufferString(`{"query": "{ me { subject } }"}`))
	small.ContentLength = -1
	small.Header.Set("Content-Type", "application/json")
	small.Header.Set("Authorization", "Bearer "+ta.token("op", "", "OPERATOR"))
	rec := httptest.NewRecorder()
	ta.handler.ServeHTTP(rec, small)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"subject":"op"`) {
		t.Fatalf("a small chunked request: HTTP %d %s", rec.Code, rec.Body)
	}
}

// TestProductOfARetiredSKU: a product whose SKU left the catalog still lists,
// with its part number, instead of failing the tenant's product list.
func TestProductOfARetiredSKU(t *testing.T) {
	b := redistest.Mini(t)
	ext, err := license.BuiltinCatalog().ExtendWith([]byte(`{"apps": [], "products": [{"skuId": "00000000-0000-4000-8000-000000000001",
		"skuPartNumber": "RETIRED_FLOWS", "displayName": "Retired", "servicePlans": [{"id": "00000000-0000-4000-8000-000000000002", "name": "R", "displayName": "R"}],
		"covers": [{"app": "POWER_AUTOMATE", "triggers": ["SIGN_IN"], "requiredPlan": "00000000-0000-4000-8000-000000000002"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	old := store.New(b.Client, ext, b.Prefix)
	if err := old.LoadScripts(context.Background()); err != nil {
		t.Fatal(err)
	}
	ta := newTestAPI(t, b) // the built-in catalog, without RETIRED_FLOWS
	f := ta.newFixture("retired")
	if _, err := old.AddProduct(context.Background(), "retired", "RETIRED_FLOWS", 3); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Tenant struct {
			Products []struct {
				SkuPartNumber, DisplayName string
				Apps                       []struct{ ID string }
			}
		}
	}
	ta.mustDo(f.admin, `{ tenant(id: "retired") { products { skuPartNumber displayName apps { id } } } }`, nil, &out)
	last := out.Tenant.Products[len(out.Tenant.Products)-1]
	if last.SkuPartNumber != "RETIRED_FLOWS" || !strings.Contains(last.DisplayName, "no longer in the catalog") || len(last.Apps) != 0 {
		t.Fatalf("retired product %+v; want RETIRED_FLOWS marked as no longer in the catalog", last)
	}
}

// standardIntrospection is graphql-js's getIntrospectionQuery() with the
// options GraphiQL turns on: what GraphiQL, codegen tools and Postman send.
// Its TypeRef fragment nests ofType eight levels: 15 levels in all.
const standardIntrospection = `query IntrospectionQuery {
  __schema {
    description
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}`

// TestStandardIntrospectionQuery: with introspection on, the depth limit
// doesn't count introspection fields, so GraphiQL's query works; other
// selections are still bounded.
func TestStandardIntrospectionQuery(t *testing.T) {
	ta := newLimitedAPI(t, redistest.Mini(t), func(d *api.Deps) { d.Introspection = true })
	f := ta.newFixture("intro")
	var out struct {
		Schema struct {
			QueryType struct{ Name string }
			Types     []struct{ Name string }
		} `json:"__schema"`
	}
	ta.mustDo(f.admin, standardIntrospection, nil, &out)
	if out.Schema.QueryType.Name != "Query" || len(out.Schema.Types) < 20 {
		t.Fatalf("introspection answered query type %q and %d types; want Query and the schema's types", out.Schema.QueryType.Name, len(out.Schema.Types))
	}
	deep := `{ me { tenant { autoClaimReport { policies { claimedUsers { nodes { user { licenses { policy { products { product { apps { displayName } } } } } } } } } } } } }`
	if r := ta.do(f.admin, deep, nil); r.Code() != "BAD_USER_INPUT" {
		t.Fatalf("a 13-level selection beside introspection's exemption: %q (%+v); want BAD_USER_INPUT", r.Code(), r.Errors)
	}
}
