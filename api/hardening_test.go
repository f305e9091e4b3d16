package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/api"
	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// newLimitedAPI is a test API with the production defaults: no introspection,
// no suggestions, the limits and the claim rate limits.
func newLimitedAPI(t testing.TB, b *redistest.Backend, tune func(*api.Deps)) *testAPI {
	t.Helper()
	return newTestAPIOn(t, b.Client, b.Prefix, license.BuiltinCatalog(), func(d *api.Deps) {
		d.GraphiQL, d.Introspection = false, false
		d.Limits = api.DefaultLimits()
		d.Metrics = api.NewMetrics()
		d.Metrics.CountLive(d.Service.(*store.Store).LiveSubscriptions)
		d.CORSOrigins = []string{"https://admin.example.com"}
		if tune != nil {
			tune(d)
		}
	})
}

func TestRequestLimits(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newLimitedAPI(t, b, func(d *api.Deps) { d.Limits.MaxDepth = 8 })
		f := ta.newFixture("limits")
		deep := `{ tenant(id: "limits") { policies { products { product { apps { triggers } } } } } }`
		deepFrag := `query { me { tenant { ...T } } } fragment T on Tenant { policies { products { product { apps { triggers } } } } users { nodes { licenses { policy { products { product { apps { triggers } } } } } } } }`
		tests := []struct {
			name, query, code, msg string
		}{
			{"DepthOK", deep, "", ""},
			{"TooDeepThroughFragments", deepFrag, "BAD_USER_INPUT", "levels deep"},
			{"TooManyAliases", "{ catalog { " + aliasList(31) + " } }", "BAD_USER_INPUT", "aliases"},
			{"TooManyRootFields", "{ " + strings.Repeat("me { subject } ", 1) + rootList(11) + " }", "BAD_USER_INPUT", "root fields"},
			{"ClaimWithAnotherField", `mutation { claimLicense(input: {tenantId: "limits", userId: "u", appId: "POWER_AUTOMATE", trigger: SIGN_IN}) { outcome } setAutoClaimEnabled(tenantId: "limits", enabled: true) { id } }`, "BAD_USER_INPUT", "must call nothing else"},
			{"ClaimTwiceByAlias", `mutation { a: claimLicense(input: {tenantId: "limits", userId: "u", appId: "POWER_AUTOMATE", trigger: SIGN_IN}) { outcome } b: claimLicense(input: {tenantId: "limits", userId: "v", appId: "POWER_AUTOMATE", trigger: SIGN_IN}) { outcome } }`, "BAD_USER_INPUT", "must call nothing else"},
			{"Complexity", `{ tenant(id: "limits") { users(first: 500) { nodes { id displayName userPrincipalName createdAt licenses { source assignedAt
				product { skuId skuPartNumber displayName servicePlans { id name displayName } apps { id displayName triggers } } policy { id name status } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED", "complexity"},
			{"WaitlistComplexity", `{ tenant(id: "limits") { policies { waitlist(first: 500) { nodes { userId position queuedAt trigger user { id displayName userPrincipalName createdAt
				licenses { source assignedAt lastUsedAt product { id skuId displayName } policy { id name enabled } } } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED", "complexity"},
			{"InactiveLicensesComplexity", `{ tenant(id: "limits") { policies { inactiveLicenses(days: 30, first: 500) { nodes { source assignedAt lastUsedAt user { id displayName } policy { id name } disabledServicePlans { id name }
				product { skuId skuPartNumber displayName servicePlans { id name displayName } apps { id displayName triggers } } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED", "complexity"},
			{"LicenseRequestsComplexity", `{ tenant(id: "limits") { licenseRequests(first: 500) { nodes { id status requestedAt decidedAt decidedBy { subject roles } user { id displayName }
				policy { id name } app { id displayName triggers } license { source assignedAt product { skuId skuPartNumber displayName servicePlans { id name displayName } } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED", "complexity"},
			{"Introspection", `{ __schema { types { name } } }`, "FORBIDDEN", "introspection"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := ta.snapshot(f.admin, "limits")
				r := ta.do(f.admin, tt.query, nil)
				if r.Code() != tt.code {
					t.Fatalf("code %q (%+v); want %q", r.Code(), r.Errors, tt.code)
				}
				if tt.code != "" && !strings.Contains(strings.ToLower(r.Errors[0].Message), strings.ToLower(tt.msg)) {
					t.Fatalf("message %q; want it to mention %q", r.Errors[0].Message, tt.msg)
				}
				if after := ta.snapshot(f.admin, "limits"); after != before {
					t.Fatalf("a refused request changed state:\n%s\n%s", before, after)
				}
			})
		}
		t.Run("NoSuggestions", func(t *testing.T) {
			r := ta.do(f.admin, `{ tenant(id: "limits") { nme } }`, nil)
			if r.Code() != "GRAPHQL_VALIDATION_FAILED" || strings.Contains(r.Errors[0].Message, "Did you mean") {
				t.Fatalf("errors %+v; want a validation error without suggestions", r.Errors)
			}
		})
		t.Run("TokenLimit", func(t *testing.T) {
			r := ta.do(f.admin, "{ "+strings.Repeat("me { subject } ", 4000)+"}", nil)
			if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "token limit") {
				t.Fatalf("errors %+v; want the parser's token limit", r.Errors)
			}
		})
	})
}

func aliasList(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a")
		b.WriteString(strings.Repeat("x", i+1))
		b.WriteString(": apps { id }")
	}
	return b.String()
}

// rootList selects the catalog n times, under n response names.
func rootList(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " c%d: catalog { apps { id } }", i)
	}
	return b.String()
}

func TestClaimRateLimit(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		// A stopped clock: no token comes back while the test runs, however slowly.
		stopped := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		ta := newLimitedAPI(t, b, func(d *api.Deps) { d.Clock = func() time.Time { return stopped } })
		f := ta.newFixture("rl")
		ta.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"tenantId": "rl", "name": "PA", "appId": "POWER_AUTOMATE",
				"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"]}}}}, nil)
		user := ta.token("megan", "rl", auth.User)
		claim := `mutation { claimLicense(input: {tenantId: "rl", userId: "megan", appId: "POWER_AUTOMATE", trigger: SIGN_IN}) { outcome reason } }`
		for i := range 10 { // the burst
			if r := ta.do(user, claim, nil); len(r.Errors) > 0 {
				t.Fatalf("claim %d within the burst: %+v", i, r.Errors)
			}
		}
		hook := &countingHook{}
		b.Client.AddHook(hook)
		before := ta.snapshot(f.admin, "rl")
		trips := hook.trips.Load()
		rec := httptest.NewRecorder()
		ta.handler.ServeHTTP(rec, gqltest.Request(claim, nil, "/graphql", user))
		r := gqltest.Decode(t, rec.Code, rec.Body)
		if r.Code() != "RATE_LIMITED" {
			t.Fatalf("claim past the burst: code %q (%+v); want RATE_LIMITED", r.Code(), r.Errors)
		}
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("claim past the burst: HTTP %d, Retry-After %q; want 429 and 1 (whole seconds)", rec.Code, rec.Header().Get("Retry-After"))
		}
		if wait, ok := r.Errors[0].Extensions["retryAfterSeconds"].(float64); !ok || wait <= 0 || wait > 1 {
			t.Fatalf("retryAfterSeconds = %v; want a wait of up to a second (5 per second)", r.Errors[0].Extensions["retryAfterSeconds"])
		}
		if n := hook.trips.Load() - trips; n != 0 {
			t.Fatalf("a refused claim cost %d Redis round trips; want 0", n)
		}
		if after := ta.snapshot(f.admin, "rl"); after != before {
			t.Fatalf("a refused claim changed state")
		}
		// Another caller has its own allowance.
		if r := ta.do(ta.token("lee", "rl", auth.User), strings.ReplaceAll(claim, "megan", "lee"), nil); len(r.Errors) > 0 {
			t.Fatalf("another user's claim: %+v", r.Errors)
		}
	})
}

func TestGraphQLOverHTTP(t *testing.T) {
	ta := newLimitedAPI(t, redistest.Mini(t), nil)
	f := ta.newFixture("http")
	send := func(method, contentType, accept, body, query string) *httptest.ResponseRecorder {
		url := "/graphql"
		if query != "" {
			url += "?query=" + query
		}
		req := httptest.NewRequest(method, url, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		req.Header.Set("Authorization", "Bearer "+f.admin)
		rec := httptest.NewRecorder()
		ta.handler.ServeHTTP(rec, req)
		return rec
	}
	t.Run("QueryOverGET", func(t *testing.T) {
		rec := send(http.MethodGet, "", "", "", "%7B%20me%20%7B%20subject%20%7D%20%7D")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"subject"`) {
			t.Fatalf("GET query: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("MutationOverGETIs405", func(t *testing.T) {
		rec := send(http.MethodGet, "", "", "", "mutation%20%7B%20setAutoClaimEnabled(tenantId%3A%20%22http%22%2C%20enabled%3A%20true)%20%7B%20id%20%7D%20%7D")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
			t.Fatalf("GET mutation: %d, Allow %q; want 405 and Allow: POST", rec.Code, rec.Header().Get("Allow"))
		}
		var on struct {
			Tenant struct{ AutoClaimEnabled bool }
		}
		ta.mustDo(f.admin, `{ tenant(id: "http") { autoClaimEnabled } }`, nil, &on)
		if on.Tenant.AutoClaimEnabled {
			t.Fatal("the refused GET mutation turned the setting on")
		}
	})
	t.Run("InvalidJSONIs400", func(t *testing.T) {
		if rec := send(http.MethodPost, "application/json", "", `{"query": `, ""); rec.Code != http.StatusBadRequest {
			t.Fatalf("invalid JSON: %d; want 400", rec.Code)
		}
	})
	t.Run("ParseErrorCarriesItsCode", func(t *testing.T) {
		// Under application/json every GraphQL response is 200 (GraphQL over HTTP).
		rec := send(http.MethodPost, "application/json", "application/json", `{"query": "{ me { "}`, "")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "GRAPHQL_PARSE_FAILED") {
			t.Fatalf("parse error: %d %s; want 200 with GRAPHQL_PARSE_FAILED", rec.Code, rec.Body)
		}
	})
	t.Run("GraphQLResponseJSON", func(t *testing.T) {
		rec := send(http.MethodPost, "application/json", "application/graphql-response+json", `{"query": "{ nope }"}`, "")
		if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/graphql-response+json") {
			t.Fatalf("graphql-response+json: %d %q; want 400 with that media type", rec.Code, rec.Header().Get("Content-Type"))
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if _, has := body["data"]; has || body["errors"] == nil {
			t.Fatalf("a request error under graphql-response+json: %s; want errors and no data entry", rec.Body)
		}
	})
	t.Run("NotAcceptableIs406", func(t *testing.T) {
		if rec := send(http.MethodPost, "application/json", "application/xml", `{"query": "{ me { subject } }"}`, ""); rec.Code != http.StatusNotAcceptable {
			t.Fatalf("Accept: application/xml: %d; want 406", rec.Code)
		}
	})
	t.Run("OtherMethodsAre405", func(t *testing.T) {
		for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead} {
			if rec := send(m, "application/json", "", `{"query": "{ me { subject } }"}`, ""); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, POST, OPTIONS" {
				t.Errorf("%s: %d, Allow %q; want 405 and GET, POST, OPTIONS", m, rec.Code, rec.Header().Get("Allow"))
			}
		}
	})
	t.Run("AcceptQValues", func(t *testing.T) {
		for accept, want := range map[string]string{
			"application/graphql-response+json;q=0.1, application/json;q=1": "application/json",
			"application/json;q=0.5, application/graphql-response+json":     "application/graphql-response+json",
			"*/*;q=0.2, application/graphql-response+json;q=0.3":            "application/graphql-response+json",
			"application/json;q=0": "",
		} {
			rec := send(http.MethodPost, "application/json", accept, `{"query": "{ me { subject } }"}`, "")
			if want == "" {
				if rec.Code != http.StatusNotAcceptable {
					t.Errorf("Accept %q: %d; want 406", accept, rec.Code)
				}
				continue
			}
			if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, want) {
				t.Errorf("Accept %q: answered %q; want %q", accept, got, want)
			}
		}
	})
	t.Run("TooLargeIsJSON", func(t *testing.T) {
		rec := send(http.MethodPost, "application/json", "", `{"query": "{ me { subject } }", "x": "`+strings.Repeat("x", 1<<20)+`"}`, "")
		if rec.Code != http.StatusRequestEntityTooLarge || !json.Valid(rec.Body.Bytes()) {
			t.Errorf("an oversized body: %d %q; want 413 answered as JSON", rec.Code, rec.Body.String()[:min(80, rec.Body.Len())])
		}
	})
	t.Run("ManyErrorsAreCounted", func(t *testing.T) {
		args := make([]string, 200)
		for i := range args {
			args[i] = fmt.Sprintf("a%d: 1", i)
		}
		rec := send(http.MethodPost, "application/json", "", `{"query": "{ me(`+strings.Join(args, ", ")+`) { subject } }"}`, "")
		var body struct{ Errors []gqltest.Error }
		json.Unmarshal(rec.Body.Bytes(), &body)
		if n := len(body.Errors); n != 21 || !strings.Contains(body.Errors[20].Message, "180 more errors") {
			t.Errorf("200 unknown arguments: %d errors listed; want 20 and a count of the other 180", n)
		}
	})
	t.Run("UnsupportedMediaTypeIs415", func(t *testing.T) {
		rec := send(http.MethodPost, "text/plain", "", `{"query": "{ me { subject } }"}`, "")
		if rec.Code != http.StatusUnsupportedMediaType || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("Content-Type: text/plain: %d %q; want 415 answered as JSON", rec.Code, rec.Header().Get("Content-Type"))
		}
	})
	t.Run("SubscriptionOverPlainPOSTIsRefusedAtOnce", func(t *testing.T) {
		rec := send(http.MethodPost, "application/json", "", `{"query": "subscription { claimEvents(tenantId: \"http\") { id } }"}`, "")
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "websockets") {
			t.Fatalf("a subscription over a plain POST: %d %s; want 400 pointing to websockets or SSE", rec.Code, rec.Body)
		}
	})
	t.Run("RequestID", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header.Set("X-Request-Id", "trace-42")
		rec := httptest.NewRecorder()
		ta.handler.ServeHTTP(rec, req)
		if rec.Header().Get("X-Request-Id") != "trace-42" {
			t.Fatalf("X-Request-Id %q; want the caller's trace-42 echoed", rec.Header().Get("X-Request-Id"))
		}
	})
	t.Run("CORS", func(t *testing.T) {
		for origin, allowed := range map[string]bool{"https://admin.example.com": true, "https://evil.example": false} {
			req := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
			rec := httptest.NewRecorder()
			ta.handler.ServeHTTP(rec, req)
			if got := rec.Header().Get("Access-Control-Allow-Origin") == origin; got != allowed {
				t.Fatalf("preflight from %s: allowed %v; want %v", origin, got, allowed)
			}
		}
	})
}

// TestHostileDocuments: requests without a token are refused after parsing,
// with 401 under graphql-response+json; documents over the size cap, with
// too many fragments or a fragment bomb are refused, persisted ones too.
func TestHostileDocuments(t *testing.T) {
	ta := newLimitedAPI(t, redistest.Mini(t), nil)
	f := ta.newFixture("hostile")
	post := func(token, accept string, body any) (*httptest.ResponseRecorder, gqltest.Response) {
		t.Helper()
		b, _ := json.Marshal(body)
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		ta.handler.ServeHTTP(rec, req)
		return rec, gqltest.Decode(t, rec.Code, bytes.NewReader(rec.Body.Bytes()))
	}
	var bomb strings.Builder
	bomb.WriteString("query { ...F0 }\n")
	for i := range 26 {
		fmt.Fprintf(&bomb, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	bomb.WriteString("fragment F26 on Query { __typename }\n")

	t.Run("AnonymousIs401", func(t *testing.T) {
		for _, q := range []string{`{ me { subject } }`, strings.Replace(bomb.String(), "__typename", "me { subject }", 1), `{`, `mutation { claimLicense(input: {tenantId: "hostile", userId: "u", appId: "POWER_AUTOMATE", trigger: SIGN_IN}) { outcome } }`} {
			rec, r := post("", "application/graphql-response+json", map[string]any{"query": q})
			if rec.Code != http.StatusUnauthorized || r.Code() != "UNAUTHENTICATED" || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%.30q without a token: %d %s; want 401 UNAUTHENTICATED with WWW-Authenticate", q, rec.Code, rec.Body)
			}
		}
		if rec, r := post("", "", map[string]any{"query": `{ __typename }`}); rec.Code != http.StatusOK || string(r.Data) != `{"__typename":"Query"}` {
			t.Errorf("__typename without a token: %d %s; want 200 (it is public)", rec.Code, rec.Body)
		}
		if rec, _ := post("not-a-token", "", map[string]any{"query": `{ me { subject } }`}); rec.Code != http.StatusUnauthorized {
			t.Errorf("a bad token: %d; want 401", rec.Code)
		}
		apq := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": strings.Repeat("ab", 32)}}}
		if rec, _ := post("", "", apq); rec.Code != http.StatusUnauthorized {
			t.Errorf("a persisted query's hash without a token: %d; want 401", rec.Code)
		}
	})
	t.Run("FragmentBombRefused", func(t *testing.T) {
		_, r := post(f.admin, "", map[string]any{"query": bomb.String()})
		if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "root fields") {
			t.Fatalf("a fragment bomb: %+v; want BAD_USER_INPUT about root fields", r.Errors)
		}
	})
	t.Run("DocumentOver64KiB", func(t *testing.T) {
		padded := "{ me { subject } }" + strings.Repeat(" ", 64<<10)
		_, r := post(f.admin, "", map[string]any{"query": padded})
		if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "bytes long") {
			t.Fatalf("a padded document: %+v; want BAD_USER_INPUT about its length", r.Errors)
		}
		sum := sha256.Sum256([]byte(padded))
		_, r = post(f.admin, "", map[string]any{"query": padded, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}})
		if r.Code() != "BAD_USER_INPUT" {
			t.Fatalf("a padded persisted document: %+v; want BAD_USER_INPUT", r.Errors)
		}
	})
	t.Run("SpreadsOfUndefinedFragments", func(t *testing.T) {
		spreads := make([]string, 7000)
		for i := range spreads {
			spreads[i] = fmt.Sprintf("...F%d", i)
		}
		q := "{ __typename " + strings.Join(spreads, " ") + " }"
		if rec, _ := post("", "", map[string]any{"query": q}); rec.Code != http.StatusUnauthorized {
			t.Errorf("7,000 spreads of undefined fragments without a token: %d; want 401 before validation", rec.Code)
		}
		if _, r := post(f.admin, "", map[string]any{"query": q}); r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "not defined") {
			t.Errorf("with a token: %+v; want BAD_USER_INPUT: not defined", r.Errors)
		}
	})
	t.Run("InlineFragmentsRepeatingAField", func(t *testing.T) {
		q := "{" + strings.Repeat(" ... on Query {"+strings.Repeat(" __typename", 10)+" }", 450) + " }"
		if rec, _ := post("", "", map[string]any{"query": q}); rec.Code != http.StatusUnauthorized {
			t.Errorf("without a token: %d; want 401", rec.Code)
		}
		if _, r := post(f.admin, "", map[string]any{"query": q}); r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "more than 10 times") {
			t.Errorf("with a token: %+v; want BAD_USER_INPUT about repeated fields", r.Errors)
		}
	})
	t.Run("TooManyFragments", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{ ...F0 }\n")
		for i := range 60 {
			fmt.Fprintf(&b, "fragment F%d on Query { __typename ...F%d }\n", i, i+1)
		}
		b.WriteString("fragment F60 on Query { __typename }\n")
		if _, r := post(f.admin, "", map[string]any{"query": b.String()}); r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "fragments") {
			t.Fatalf("61 fragments: %+v; want BAD_USER_INPUT about fragments", r.Errors)
		}
	})
}

// BenchmarkFragmentBomb: the time to refuse a nested-spread document grows
// linearly with its depth (compare ns/op across depths).
func BenchmarkFragmentBomb(b *testing.B) {
	ta := newLimitedAPI(b, redistest.Mini(b), func(d *api.Deps) { d.Limits.MaxFragments = 1000; d.Limits.MaxDocumentBytes = 1 << 20 })
	f := ta.newFixture("bomb")
	for _, n := range []int{8, 16, 32, 64} {
		var q strings.Builder
		q.WriteString("query { ...F0 }\n")
		for i := range n {
			fmt.Fprintf(&q, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
		}
		fmt.Fprintf(&q, "fragment F%d on Query { __typename }\n", n)
		b.Run(fmt.Sprintf("depth=%d", n), func(b *testing.B) {
			for b.Loop() {
				if r := ta.do(f.admin, q.String(), nil); r.Code() != "BAD_USER_INPUT" {
					b.Fatalf("%+v", r.Errors)
				}
			}
		})
	}
}

// TestIntrospectionCantBeAliased: with introspection on, aliases inside it
// (which would read the schema many times over in one small document) are
// refused, for callers with and without a token; the standard query works.
func TestIntrospectionCantBeAliased(t *testing.T) {
	ta := newTestAPI(t, redistest.Mini(t))
	f := ta.newFixture("intro-alias")
	q := `{ __schema { types { fields { type { ofType { f1: fields { name } f2: fields { name } } } } } } }`
	for _, token := range []string{"", f.admin} {
		if r := ta.do(token, q, nil); r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "aliased") {
			t.Errorf("aliased introspection (token %v): %+v; want BAD_USER_INPUT", token != "", r.Errors)
		}
	}
	if r := ta.do("", `{ s1: __schema { queryType { name } } }`, nil); r.Code() != "BAD_USER_INPUT" {
		t.Errorf("an aliased __schema: %+v; want BAD_USER_INPUT", r.Errors)
	}
	if r := ta.do("", `{ __schema { queryType { name } } a: __type(name: "Tenant") { name } b: __type(name: "Product") { name } }`, nil); len(r.Errors) > 0 {
		t.Errorf("introspection without aliases inside it, where it is on: %+v", r.Errors)
	}
}
