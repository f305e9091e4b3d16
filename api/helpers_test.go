package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/api"
	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// testAPI drives the real HTTP handler in-process against one Redis backend.
type testAPI struct {
	t       testing.TB
	store   *store.Store
	secret  []byte
	handler http.Handler
	logs    *bytes.Buffer
}

func newTestAPI(t testing.TB, b *redistest.Backend) *testAPI {
	t.Helper()
	return newTestAPIOn(t, b.Client, b.Prefix, license.BuiltinCatalog(), nil)
}

// newTestAPIOn serves the real handler on a Redis client under a key prefix
// with a catalog; tune, when set, changes the server's settings.
func newTestAPIOn(t testing.TB, rdb *redis.Client, prefix string, cat *license.Catalog, tune func(*api.Deps)) *testAPI {
	t.Helper()
	st := store.New(rdb, cat, prefix)
	if err := st.LoadScripts(t.Context()); err != nil {
		t.Fatalf("load scripts: %v", err)
	}
	secret := []byte("test-secret-" + prefix)
	logs := &bytes.Buffer{}
	d := api.Deps{
		Service: st, Ready: st, Verifier: auth.NewVerifier(secret, nil),
		Log: slog.New(slog.NewTextHandler(logs, nil)), GraphiQL: true, Introspection: true,
	}
	if tune != nil {
		tune(&d)
	}
	return &testAPI{t: t, store: st, secret: secret, handler: api.New(d), logs: logs}
}

// token returns a bearer token for a caller.
func (a *testAPI) token(subject, tenantID string, roles ...auth.Role) string {
	a.t.Helper()
	tok, err := auth.Issue(a.secret, auth.Caller{Subject: subject, TenantID: tenantID, Roles: roles}, time.Hour, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// do posts a query with variables as token's caller ("" for none).
func (a *testAPI) do(token, query string, vars map[string]any) gqltest.Response {
	a.t.Helper()
	return gqltest.Serve(a.t, a.handler, token, query, vars)
}

// mustDo is do that fails the test on any GraphQL error, and decodes data into out.
func (a *testAPI) mustDo(token, query string, vars map[string]any, out any) {
	a.t.Helper()
	r := a.do(token, query, vars)
	if len(r.Errors) > 0 {
		a.t.Fatalf("unexpected errors: %+v\nquery: %s", r.Errors, query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			a.t.Fatalf("decode %s: %v", r.Data, err)
		}
	}
}

// fixture is a tenant with the three catalog products and a Global admin.
type fixture struct {
	tenantID string
	admin    string // Global admin token
	adminID  string
	products map[string]string // skuPartNumber -> product id
}

// newFixture creates a tenant with products POWERAPPS_PER_USER (10),
// FLOW_PER_USER (5) and POWERAUTOMATE_ATTENDED_RPA (3), straight through the store.
func (a *testAPI) newFixture(tenantID string) *fixture {
	a.t.Helper()
	ctx := a.t.Context()
	tn, admin, err := a.store.CreateTenant(ctx, license.NewTenant{ID: tenantID, Name: "Tenant " + tenantID,
		AdminUserPrincipalName: "admin@" + tenantID + ".example", AdminDisplayName: "Admin"})
	if err != nil {
		a.t.Fatalf("create tenant: %v", err)
	}
	f := &fixture{tenantID: tn.ID, adminID: admin.ID, products: map[string]string{}}
	f.admin = a.token(admin.ID, tn.ID, auth.GlobalAdmin)
	for _, q := range []struct {
		sku string
		n   int
	}{{"POWERAPPS_PER_USER", 10}, {"FLOW_PER_USER", 5}, {"POWERAUTOMATE_ATTENDED_RPA", 3}} {
		p, err := a.store.AddProduct(ctx, tn.ID, q.sku, q.n)
		if err != nil {
			a.t.Fatalf("add product: %v", err)
		}
		f.products[q.sku] = p.ID
	}
	return f
}

// snapshot reads everything a tenant holds as one string, to show that a
// refused request changed nothing.
func (a *testAPI) snapshot(token, tenantID string) string {
	a.t.Helper()
	r := a.do(token, `query($id: ID!) { tenant(id: $id) { name autoClaimEnabled policyLimit
		products { id totalLicenses assignedLicenses }
		policies { id name enabled version products { product { id } disabledServicePlans { id } } }
		users(first: 500) { totalCount nodes { id userPrincipalName displayName licenses { product { id } source disabledServicePlans { id } } } } } }`,
		map[string]any{"id": tenantID})
	if len(r.Errors) > 0 {
		a.t.Fatalf("snapshot: %+v", r.Errors)
	}
	return strings.TrimSpace(string(r.Data))
}

func redisZ(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }
