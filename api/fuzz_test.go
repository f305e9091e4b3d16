package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
)

// FuzzGraphQLEndpoint posts arbitrary bodies to /graphql as a Global admin:
// the server must never panic, never answer 500, and always answer JSON.
func FuzzGraphQLEndpoint(f *testing.F) {
	for _, seed := range []string{
		`{"query": "{ me { subject } }"}`,
		`{"query": "query($id: ID!) { tenant(id: $id) { policies { id products { product { id } } } } }", "variables": {"id": "fuzz"}}`,
		`{"query": "mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }", "variables": {"in": {"tenantId": "fuzz", "name": "P", "appId": "POWER_AUTOMATE", "products": [{"productId": "fuzz:product:2"}]}}}`,
		`{"query": "mutation { claimLicense(input: {tenantId: \"fuzz\", userId: \"u\", appId: \"POWER_AUTOMATE\", trigger: SIGN_IN, idempotencyKey: \"k\"}) { outcome } }"}`,
		`{"query": "mutation($p: ID!, $ids: [ID!]!) { setPolicyProductOrder(policyId: $p, productIds: $ids) { id } }", "variables": {"p": "fuzz:policy:1", "ids": [1, null, "x"]}}`,
		`{"query": "{ tenant(id: \"fuzz\") { users(first: -1, after: \"\\u0000\") { totalCount } } }"}`,
		`{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}`,
		`{"query": 7}`, `[]`, `{`, ``, `{"query": "{ me { ...F } } fragment F on Me { ...F }"}`,
	} {
		f.Add(seed)
	}
	ta := newTestAPI(f, redistest.Mini(f))
	fx := ta.newFixture("fuzz")
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+fx.admin)
		rec := httptest.NewRecorder()
		ta.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("HTTP %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code != http.StatusRequestEntityTooLarge && !json.Valid(bytes.TrimSpace(rec.Body.Bytes())) {
			t.Fatalf("not JSON for %q: %s", body, rec.Body)
		}
		if strings.Contains(rec.Body.String(), `"INTERNAL"`) {
			t.Fatalf("internal error for %q: %s\nlogs: %s", body, rec.Body, ta.logs)
		}
	})
}
