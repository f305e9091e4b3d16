package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// Service plans of the built-in catalog.
const (
	planExchange    = "113feb6c-3fe4-4440-bddc-54d774bf0318" // EXCHANGE_S_FOUNDATION, in all three products
	planFlowCDS     = "6ea4c1ef-c259-46df-bce2-943342cd3cb2" // DYN365_CDS_P2, in FLOW_PER_USER
	planFlowPerUser = "c5002c70-f725-4367-b409-f0eff4fee6c0" // FLOW_PER_USER: Power Automate needs it
	planRPACDS      = "3da2fd4c-1bee-4b61-a17f-94c31e5cab93" // CDS_ATTENDED_RPA, in POWERAUTOMATE_ATTENDED_RPA
	planRPA         = "375cd0ad-c407-49fd-866a-0bff4f8a9a4d" // POWER_AUTOMATE_ATTENDED_RPA: Power Automate needs it
	planPowerApps   = "ea2cf03b-ac60-46ae-9c1d-eeaeb63cec86" // POWERAPPS_PER_USER: Power Apps needs it
	planUnknown     = "00000000-0000-4000-8000-000000000000" // in no product
)

const (
	skuApps = "POWERAPPS_PER_USER"
	skuFlow = "FLOW_PER_USER"
	skuRPA  = "POWERAUTOMATE_ATTENDED_RPA"
)

// newTestAPIWithCatalog is newTestAPI with another catalog in force.
func newTestAPIWithCatalog(t testing.TB, b *redistest.Backend, cat *license.Catalog) *testAPI {
	t.Helper()
	return newTestAPIOn(t, b.Client, b.Prefix, cat, nil)
}

// extraSKU is the skuPartNumber of the i-th extra Power Automate product of
// extendedCatalog (1-based).
func extraSKU(i int) string { return fmt.Sprintf("TEST_FLOW_%d", i) }

// extendedCatalog returns the built-in catalog plus n made-up Power Automate
// products, so that a tenant can hold more than the two real ones a Power
// Automate policy can use.
func extendedCatalog(t testing.TB, n int) *license.Catalog {
	t.Helper()
	builtin := license.BuiltinCatalog()
	if n == 0 {
		return builtin
	}
	ext := license.Catalog{Apps: []license.App{*builtin.App("POWER_AUTOMATE")}}
	for i := 1; i <= n; i++ {
		required := license.ServicePlan{ID: fmt.Sprintf("0000aaaa-0000-4000-8000-%012d", i), Name: extraSKU(i), DisplayName: fmt.Sprintf("Test flow plan %d", i)}
		extra := license.ServicePlan{ID: fmt.Sprintf("0000cccc-0000-4000-8000-%012d", i), Name: fmt.Sprintf("TEST_EXTRA_%d", i), DisplayName: fmt.Sprintf("Test extra %d", i)}
		ext.Products = append(ext.Products, license.SKU{
			SkuID: fmt.Sprintf("0000bbbb-0000-4000-8000-%012d", i), SkuPartNumber: extraSKU(i), DisplayName: fmt.Sprintf("Test flow product %d", i),
			ServicePlans: []license.ServicePlan{required, extra},
			Covers:       []license.Coverage{{App: "POWER_AUTOMATE", Triggers: []license.Trigger{license.TriggerTriggerPremiumFlow}, RequiredPlan: required.ID}},
		})
	}
	raw, err := json.Marshal(ext)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := license.ParseCatalog(raw)
	if err != nil {
		t.Fatalf("parse extension: %v", err)
	}
	cat, err := builtin.Extend(parsed)
	if err != nil {
		t.Fatalf("extend catalog: %v", err)
	}
	return cat
}

// addExtraProducts adds the first n extra products of extendedCatalog to f,
// with 2 licenses each, and returns their ids.
func (a *testAPI) addExtraProducts(f *fixture, n int) []string {
	a.t.Helper()
	var ids []string
	for i := 1; i <= n; i++ {
		p, err := a.store.AddProduct(a.t.Context(), f.tenantID, extraSKU(i), 2)
		if err != nil {
			a.t.Fatalf("add %s: %v", extraSKU(i), err)
		}
		f.products[extraSKU(i)] = p.ID
		ids = append(ids, p.ID)
	}
	return ids
}

// post is do for goroutines: it reports failures as an error instead of
// failing the test.
func (a *testAPI) post(token, query string, vars map[string]any) (gqltest.Response, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return gqltest.Response{}, err
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	var r gqltest.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		return r, fmt.Errorf("response is not JSON (HTTP %d): %s", rec.Code, rec.Body)
	}
	r.Status = rec.Code
	return r, nil
}

// decode decodes the data of a successful response into out.
func decode(t testing.TB, r gqltest.Response, out any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// rootField decodes the one root field of a successful response.
func rootField[T any](t testing.TB, r gqltest.Response) T {
	t.Helper()
	var m map[string]json.RawMessage
	decode(t, r, &m)
	if len(m) != 1 {
		t.Fatalf("data %s has %d root fields; want 1", r.Data, len(m))
	}
	var out T
	for _, v := range m {
		if err := json.Unmarshal(v, &out); err != nil {
			t.Fatalf("decode %s: %v", v, err)
		}
	}
	return out
}

// refuse sends a request that must be refused with code and a message that
// mentions each of words, and checks that f's tenant did not change.
func (a *testAPI) refuse(f *fixture, token, query string, vars map[string]any, code string, words ...string) {
	a.t.Helper()
	before := a.snapshot(a.operator(), f.tenantID)
	checkError(a.t, a.do(token, query, vars), code, words...)
	if after := a.snapshot(a.operator(), f.tenantID); after != before {
		a.t.Errorf("the refused request changed the tenant:\nbefore %s\nafter  %s", before, after)
	}
}

type idView struct{ ID string }

func ids(xs []idView) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ID
	}
	return out
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

const productFields = `id skuId skuPartNumber displayName totalLicenses assignedLicenses availableLicenses
	servicePlans { id name } apps { id } triggers`

type productView struct {
	ID                string
	SkuID             string
	SkuPartNumber     string
	DisplayName       string
	TotalLicenses     int
	AssignedLicenses  int
	AvailableLicenses int
	ServicePlans      []struct{ ID, Name string }
	Apps              []idView
	Triggers          []string
}

const policyFields = `id name app { id } status enabled autoCreated version availableLicenses claimedLicenses
	primaryProduct { id }
	products { position isPrimary product { id } enabledServicePlans { id } disabledServicePlans { id } availableLicenses }`

type policyView struct {
	ID                string
	Name              string
	App               idView
	Status            string
	Enabled           bool
	AutoCreated       bool
	Version           int
	AvailableLicenses int
	ClaimedLicenses   int
	PrimaryProduct    idView
	Products          []struct {
		Position             int
		IsPrimary            bool
		Product              idView
		EnabledServicePlans  []idView
		DisabledServicePlans []idView
		AvailableLicenses    int
	}
}

func (p policyView) productIDs() []string {
	out := make([]string, len(p.Products))
	for i, pp := range p.Products {
		out[i] = pp.Product.ID
	}
	return out
}

// wantProduct is what one product of a policy should show.
type wantProduct struct {
	id        string
	disabled  []string // service plan ids
	available int
}

// checkPolicyProducts compares a policy's products, in order, with want: ids,
// positions, the primary, disabled and enabled service plans, and available
// licenses per product and in all.
func (a *testAPI) checkPolicyProducts(p policyView, want ...wantProduct) {
	a.t.Helper()
	if len(p.Products) != len(want) {
		a.t.Fatalf("policy has products %v; want %d products", p.productIDs(), len(want))
	}
	total := 0
	for i, w := range want {
		got := p.Products[i]
		if got.Product.ID != w.id || got.Position != i+1 || got.IsPrimary != (i == 0) {
			a.t.Errorf("product %d = %s (position %d, primary %v); want %s (position %d, primary %v)",
				i, got.Product.ID, got.Position, got.IsPrimary, w.id, i+1, i == 0)
		}
		prod, err := a.store.Product(a.t.Context(), w.id)
		if err != nil {
			a.t.Fatal(err)
		}
		var enabled []string
		for _, sp := range prod.SKU.ServicePlans {
			if !slices.Contains(w.disabled, sp.ID) {
				enabled = append(enabled, sp.ID)
			}
		}
		if !sameSet(ids(got.DisabledServicePlans), w.disabled) || !sameSet(ids(got.EnabledServicePlans), enabled) {
			a.t.Errorf("product %s: disabled plans %v, enabled %v; want disabled %v, enabled %v",
				w.id, ids(got.DisabledServicePlans), ids(got.EnabledServicePlans), w.disabled, enabled)
		}
		if got.AvailableLicenses != w.available {
			a.t.Errorf("product %s: availableLicenses %d; want %d", w.id, got.AvailableLicenses, w.available)
		}
		total += w.available
	}
	if p.PrimaryProduct.ID != want[0].id {
		a.t.Errorf("primaryProduct = %s; want %s", p.PrimaryProduct.ID, want[0].id)
	}
	if p.AvailableLicenses != total {
		a.t.Errorf("policy availableLicenses = %d; want %d (the sum over its products)", p.AvailableLicenses, total)
	}
}

// policy reads a policy through the API.
func (a *testAPI) policy(f *fixture, id string) policyView {
	a.t.Helper()
	var out struct {
		Tenant struct{ Policy policyView }
	}
	a.mustDo(f.admin, `query($t: ID!, $p: ID!) { tenant(id: $t) { policy(id: $p) { `+policyFields+` } } }`,
		map[string]any{"t": f.tenantID, "p": id}, &out)
	return out.Tenant.Policy
}

// product reads a product through the API.
func (a *testAPI) product(f *fixture, id string) productView {
	a.t.Helper()
	var out struct {
		Tenant struct{ Product productView }
	}
	a.mustDo(f.admin, `query($t: ID!, $p: ID!) { tenant(id: $t) { product(id: $p) { `+productFields+` } } }`,
		map[string]any{"t": f.tenantID, "p": id}, &out)
	return out.Tenant.Product
}

// ghostAdmin returns the token of a Global admin of a tenant that does not
// exist, so that requests reach the store and find no tenant.
func (a *testAPI) ghostAdmin(tenantID string) string {
	return a.token("ghost-admin", tenantID, auth.GlobalAdmin)
}

// ---- tenants ----

const createTenantMutation = `mutation($in: CreateTenantInput!) { createTenant(input: $in) {
	tenant { id name autoClaimEnabled policyLimit products { id } policies { id } users { totalCount nodes { id } } }
	admin { id userPrincipalName displayName licenses { product { id } } } } }`

type createTenantPayload struct {
	Tenant struct {
		ID               string
		Name             string
		AutoClaimEnabled bool
		PolicyLimit      int
		Products         []idView
		Policies         []idView
		Users            struct {
			TotalCount int
			Nodes      []idView
		}
	}
	Admin struct {
		ID                string
		UserPrincipalName string
		DisplayName       string
		Licenses          []struct{ Product idView }
	}
}

func TestCreateTenant(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		op := ta.operator()
		input := func(id, name, upn string) map[string]any {
			in := map[string]any{"name": name, "adminUserPrincipalName": upn, "adminDisplayName": "Ada Lovelace"}
			if id != "" {
				in["id"] = id
			}
			return map[string]any{"in": in}
		}

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			got := rootField[createTenantPayload](t, a.do(op, createTenantMutation, input("acme", "Acme Corp", "Ada@Acme.example")))
			tn := got.Tenant
			if tn.ID != "acme" || tn.Name != "Acme Corp" || tn.PolicyLimit != 1 || len(tn.Products) != 0 || len(tn.Policies) != 0 {
				t.Errorf("tenant = %+v; want acme, Acme Corp, policyLimit 1 (a new tenant's), no products, no policies", tn)
			}
			if tn.AutoClaimEnabled {
				t.Errorf("autoClaimEnabled = true; the org setting must be off by default")
			}
			ad := got.Admin
			if ad.ID == "" || ad.UserPrincipalName != "Ada@Acme.example" || ad.DisplayName != "Ada Lovelace" || len(ad.Licenses) != 0 {
				t.Errorf("admin = %+v; want Ada@Acme.example, Ada Lovelace, no licenses", ad)
			}
			if tn.Users.TotalCount != 1 || len(tn.Users.Nodes) != 1 || tn.Users.Nodes[0].ID != ad.ID {
				t.Errorf("users = %+v; want just the admin %s", tn.Users, ad.ID)
			}
			// The person who signs up is the tenant's first Global admin.
			admin := a.token(ad.ID, "acme", auth.GlobalAdmin)
			var out struct {
				SetAutoClaimEnabled struct{ AutoClaimEnabled bool }
			}
			a.mustDo(admin, `mutation { setAutoClaimEnabled(tenantId: "acme", enabled: true) { autoClaimEnabled } }`, nil, &out)
			if !out.SetAutoClaimEnabled.AutoClaimEnabled {
				t.Errorf("the new admin could not turn the org setting on")
			}
		})

		t.Run("OKRandomID", func(t *testing.T) {
			a := ta.on(t)
			one := rootField[createTenantPayload](t, a.do(op, createTenantMutation, input("", "One", "a@one.example")))
			two := rootField[createTenantPayload](t, a.do(op, createTenantMutation, input("", "Two", "a@two.example")))
			pattern := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,39}$`)
			if !pattern.MatchString(one.Tenant.ID) || !pattern.MatchString(two.Tenant.ID) || one.Tenant.ID == two.Tenant.ID {
				t.Errorf("random tenant ids %q and %q; want two distinct ids matching %s", one.Tenant.ID, two.Tenant.ID, pattern)
			}
		})

		t.Run("OKAutoClaimEnabled", func(t *testing.T) {
			a := ta.on(t)
			vars := input("preconfigured", "Pre", "a@pre.example")
			vars["in"].(map[string]any)["autoClaimEnabled"] = true
			got := rootField[createTenantPayload](t, a.do(op, createTenantMutation, vars))
			if !got.Tenant.AutoClaimEnabled {
				t.Errorf("autoClaimEnabled = false; asked for a tenant that comes with the feature on")
			}
		})

		for _, c := range []struct {
			name, id, tenantName, upn, code string
			words                           []string
		}{
			{"ErrNameRequired", "t-noname", "   ", "a@x.example", license.EINVALID, []string{"tenant name", "empty"}},
			{"ErrNameTooLong", "t-longname", strings.Repeat("n", 101), "a@x.example", license.EINVALID, []string{"tenant name", "100"}},
			{"ErrBadPrincipalName", "t-badupn", "Bad UPN", "ada", license.EINVALID, []string{"principal name", `"ada"`}},
			{"ErrBadID", "Bad_Id", "Bad id", "a@x.example", license.EINVALID, []string{"Bad_Id"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := ta.on(t)
				checkError(t, a.do(op, createTenantMutation, input(c.id, c.tenantName, c.upn)), c.code, c.words...)
				if _, err := a.store.Tenant(t.Context(), c.id); license.ErrorCode(err) != license.ENOTFOUND {
					t.Errorf("tenant %q exists after a refused createTenant (err %v)", c.id, err)
				}
			})
		}

		t.Run("ErrDuplicateID", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("dup")
			a.refuse(f, op, createTenantMutation, input("dup", "Another", "b@dup.example"), license.ECONFLICT, `"dup"`, "already exists")
		})
	})
}

func TestSetTenantPolicyLimit(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		op := ta.operator()
		const q = `mutation($t: ID!, $n: Int!) { setTenantPolicyLimit(tenantId: $t, limit: $n) { id policyLimit } }`
		type tenantView struct {
			ID          string
			PolicyLimit int
		}

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("limit-ok")
			for _, n := range []int{5, 100, 1} {
				got := rootField[tenantView](t, a.do(op, q, map[string]any{"t": f.tenantID, "n": n}))
				if got.ID != f.tenantID || got.PolicyLimit != n {
					t.Errorf("setTenantPolicyLimit(%d) = %+v; want %s with limit %d", n, got, f.tenantID, n)
				}
			}
		})
		t.Run("OKRaisedLimitAllowsMorePolicies", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("limit-raise")
			a.mustPolicy(f, "POWER_AUTOMATE", f.products[skuFlow])
			a.mustDo(op, q, map[string]any{"t": f.tenantID, "n": 2}, nil)
			a.mustPolicy(f, "POWER_APPS", f.products[skuApps])
		})
		for _, n := range []int{0, 101, -1} {
			t.Run(fmt.Sprintf("ErrLimit%d", n), func(t *testing.T) {
				a := ta.on(t)
				f := a.newFixture(fmt.Sprintf("limit-bad%d", n+1))
				a.refuse(f, op, q, map[string]any{"t": f.tenantID, "n": n}, license.EINVALID, "between 1 and 100", fmt.Sprint(n))
			})
		}
		t.Run("ErrBelowPolicyCount", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("limit-below")
			a.mustDo(op, q, map[string]any{"t": f.tenantID, "n": 2}, nil)
			a.mustPolicy(f, "POWER_AUTOMATE", f.products[skuFlow])
			a.mustPolicy(f, "POWER_APPS", f.products[skuApps])
			a.refuse(f, op, q, map[string]any{"t": f.tenantID, "n": 1}, license.ECONFLICT, "2 policies")
		})
		t.Run("ErrUnknownTenant", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("limit-unknown")
			a.refuse(f, op, q, map[string]any{"t": "no-such-tenant", "n": 2}, license.ENOTFOUND, `"no-such-tenant"`, "not found")
		})
	})
}

func TestSetAutoClaimEnabled(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		const q = `mutation($t: ID!, $on: Boolean!) { setAutoClaimEnabled(tenantId: $t, enabled: $on) { id autoClaimEnabled } }`
		type tenantView struct {
			ID               string
			AutoClaimEnabled bool
		}

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("org-ok")
			var out struct{ Tenant tenantView }
			a.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { id autoClaimEnabled } }`, map[string]any{"t": f.tenantID}, &out)
			if out.Tenant.AutoClaimEnabled {
				t.Fatalf("a new tenant has the org setting on; it must be off by default")
			}
			for _, on := range []bool{true, true, false} {
				got := rootField[tenantView](t, a.do(f.admin, q, map[string]any{"t": f.tenantID, "on": on}))
				if got.ID != f.tenantID || got.AutoClaimEnabled != on {
					t.Errorf("setAutoClaimEnabled(%v) = %+v", on, got)
				}
				a.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { id autoClaimEnabled } }`, map[string]any{"t": f.tenantID}, &out)
				if out.Tenant.AutoClaimEnabled != on {
					t.Errorf("after setAutoClaimEnabled(%v) the tenant reads %v", on, out.Tenant.AutoClaimEnabled)
				}
			}
		})
		t.Run("ErrUnknownTenant", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("org-unknown")
			a.refuse(f, a.ghostAdmin("ghost-tenant"), q, map[string]any{"t": "ghost-tenant", "on": true}, license.ENOTFOUND, `"ghost-tenant"`)
			a.refuse(f, f.admin, q, map[string]any{"t": "ghost-tenant", "on": true}, license.ENOTFOUND, `"ghost-tenant"`)
		})
	})
}

// ---- products ----

func TestAddProduct(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		const q = `mutation($t: ID!, $sku: String!, $n: Int!) { addProduct(input: {tenantId: $t, skuPartNumber: $sku, quantity: $n}) { ` + productFields + ` } }`
		vars := func(f *fixture, sku string, n int) map[string]any {
			return map[string]any{"t": f.tenantID, "sku": sku, "n": n}
		}

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			f := a.newBareFixture("prod-ok")
			got := rootField[productView](t, a.do(f.admin, q, vars(f, skuFlow, 25)))
			if got.ID == "" || got.SkuID != "4a51bf65-409c-4a91-b845-1121b571cc9d" || got.SkuPartNumber != skuFlow ||
				got.DisplayName != "Power Automate per user plan" || got.TotalLicenses != 25 || got.AssignedLicenses != 0 || got.AvailableLicenses != 25 {
				t.Errorf("addProduct = %+v", got)
			}
			var plans []string
			for _, p := range got.ServicePlans {
				plans = append(plans, p.ID+" "+p.Name)
			}
			wantPlans := []string{planFlowCDS + " DYN365_CDS_P2", planExchange + " EXCHANGE_S_FOUNDATION", planFlowPerUser + " FLOW_PER_USER"}
			if !sameSet(plans, wantPlans) {
				t.Errorf("servicePlans = %v; want %v", plans, wantPlans)
			}
			if !slices.Equal(ids(got.Apps), []string{"POWER_AUTOMATE"}) {
				t.Errorf("apps = %v; want [POWER_AUTOMATE]", ids(got.Apps))
			}
			wantTriggers := []string{"SIGN_IN", "LICENSE_REQUEST", "TRIGGER_PREMIUM_FLOW", "SAVE_PREMIUM_FLOW", "TURN_ON_PREMIUM_FLOW"}
			if !sameSet(got.Triggers, wantTriggers) {
				t.Errorf("triggers = %v; want %v", got.Triggers, wantTriggers)
			}
			if again := a.product(f, got.ID); again.TotalLicenses != 25 || again.SkuPartNumber != skuFlow {
				t.Errorf("the tenant reads the new product as %+v", again)
			}
			second := rootField[productView](t, a.do(f.admin, q, vars(f, skuApps, 0)))
			var out struct {
				Tenant struct{ Products []idView }
			}
			a.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { products { id } } }`, map[string]any{"t": f.tenantID}, &out)
			if !slices.Equal(ids(out.Tenant.Products), []string{got.ID, second.ID}) {
				t.Errorf("tenant products = %v; want %v in the order they were added", ids(out.Tenant.Products), []string{got.ID, second.ID})
			}
		})
		t.Run("ErrUnknownSKU", func(t *testing.T) {
			a := ta.on(t)
			f := a.newBareFixture("prod-sku")
			a.refuse(f, f.admin, q, vars(f, "NOT_A_SKU", 5), license.EINVALID, "NOT_A_SKU", "catalog")
		})
		t.Run("ErrNegativeQuantity", func(t *testing.T) {
			a := ta.on(t)
			f := a.newBareFixture("prod-neg")
			a.refuse(f, f.admin, q, vars(f, skuFlow, -1), license.EINVALID, "-1", "licenses")
		})
		t.Run("ErrSameSKUTwice", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("prod-twice")
			a.refuse(f, f.admin, q, vars(f, skuFlow, 5), license.ECONFLICT, skuFlow, "already")
		})
		t.Run("ErrUnknownTenant", func(t *testing.T) {
			a := ta.on(t)
			f := a.newBareFixture("prod-unknown")
			a.refuse(f, a.ghostAdmin("ghost-tenant"), q, map[string]any{"t": "ghost-tenant", "sku": skuFlow, "n": 5}, license.ENOTFOUND, `"ghost-tenant"`)
		})
	})
}

func TestSetLicenseQuantity(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		const q = `mutation($p: ID!, $n: Int!) { setLicenseQuantity(productId: $p, quantity: $n) { ` + productFields + ` } }`

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("qty-ok")
			got := rootField[productView](t, a.do(f.admin, q, map[string]any{"p": f.products[skuFlow], "n": 8}))
			if got.ID != f.products[skuFlow] || got.SkuPartNumber != skuFlow || got.TotalLicenses != 8 || got.AssignedLicenses != 0 || got.AvailableLicenses != 8 {
				t.Errorf("setLicenseQuantity(8) = %+v", got)
			}
		})
		t.Run("OKDownToAssigned", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("qty-equal")
			a.mustAssign(a.mustUser(f, "u1"), f.products[skuFlow])
			a.mustAssign(a.mustUser(f, "u2"), f.products[skuFlow])
			got := rootField[productView](t, a.do(f.admin, q, map[string]any{"p": f.products[skuFlow], "n": 2}))
			if got.TotalLicenses != 2 || got.AssignedLicenses != 2 || got.AvailableLicenses != 0 {
				t.Errorf("setLicenseQuantity(2) with 2 assigned = %+v", got)
			}
		})
		t.Run("ErrBelowAssigned", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("qty-below")
			a.mustAssign(a.mustUser(f, "u1"), f.products[skuFlow])
			a.mustAssign(a.mustUser(f, "u2"), f.products[skuFlow])
			a.refuse(f, f.admin, q, map[string]any{"p": f.products[skuFlow], "n": 1}, license.ECONFLICT, "2 licenses assigned")
		})
		t.Run("ErrNegative", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("qty-neg")
			a.refuse(f, f.admin, q, map[string]any{"p": f.products[skuFlow], "n": -3}, license.EINVALID, "-3")
		})
		t.Run("ErrUnknownProduct", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("qty-unknown")
			id := license.ProductID(f.tenantID, 99)
			a.refuse(f, f.admin, q, map[string]any{"p": id, "n": 3}, license.ENOTFOUND, id, "not found")
		})
	})
}

// ---- users and direct licenses ----

const userFields = `id userPrincipalName displayName
	licenses { product { id availableLicenses } policy { id } source disabledServicePlans { id } }`

type userView struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	Licenses          []struct {
		Product struct {
			ID                string
			AvailableLicenses int
		}
		Policy               *idView
		Source               string
		DisabledServicePlans []idView
	}
}

func TestCreateUser(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		const q = `mutation($in: CreateUserInput!) { createUser(input: $in) { ` + userFields + ` } }`
		in := func(f *fixture, id, upn, name string) map[string]any {
			m := map[string]any{"tenantId": f.tenantID, "userPrincipalName": upn, "displayName": name}
			if id != "" {
				m["id"] = id
			}
			return map[string]any{"in": m}
		}

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("user-ok")
			got := rootField[userView](t, a.do(f.admin, q, in(f, "bob-1", "Bob@User-ok.example", "Bob Builder")))
			if got.ID != "bob-1" || got.UserPrincipalName != "Bob@User-ok.example" || got.DisplayName != "Bob Builder" || len(got.Licenses) != 0 {
				t.Errorf("createUser = %+v", got)
			}
			random := rootField[userView](t, a.do(f.admin, q, in(f, "", "carol@user-ok.example", "Carol")))
			if random.ID == "" || random.ID == "bob-1" {
				t.Errorf("createUser without id gave id %q; want a fresh one", random.ID)
			}
			var out struct {
				Tenant struct {
					User  userView
					Users struct{ TotalCount int }
				}
			}
			a.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { user(id: "bob-1") { `+userFields+` } users { totalCount } } }`, map[string]any{"t": f.tenantID}, &out)
			if out.Tenant.User.UserPrincipalName != "Bob@User-ok.example" || out.Tenant.Users.TotalCount != 3 {
				t.Errorf("tenant reads user %+v and %d users; want Bob and 3 users", out.Tenant.User, out.Tenant.Users.TotalCount)
			}
		})
		t.Run("ErrBadPrincipalName", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("user-badupn")
			a.refuse(f, f.admin, q, in(f, "", "bob", "Bob"), license.EINVALID, "principal name", `"bob"`)
		})
		t.Run("ErrDisplayNameRequired", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("user-noname")
			a.refuse(f, f.admin, q, in(f, "", "bob@x.example", " "), license.EINVALID, "display name", "empty")
		})
		t.Run("ErrDuplicatePrincipalName", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("user-dupupn")
			a.mustDo(f.admin, q, in(f, "", "bob@x.example", "Bob"), nil)
			a.refuse(f, f.admin, q, in(f, "", "bob@x.example", "Bob Again"), license.ECONFLICT, "bob@x.example", "already")
			a.refuse(f, f.admin, q, in(f, "", "BOB@X.example", "Bob Again"), license.ECONFLICT, "BOB@X.example", "already")
		})
		t.Run("ErrDuplicateID", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("user-dupid")
			a.mustDo(f.admin, q, in(f, "bob-1", "bob@x.example", "Bob"), nil)
			a.refuse(f, f.admin, q, in(f, "bob-1", "other@x.example", "Other"), license.ECONFLICT, "bob-1", "already")
		})
		t.Run("ErrUnknownTenant", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("user-unknown")
			a.refuse(f, a.ghostAdmin("ghost-tenant"), q, map[string]any{"in": map[string]any{"tenantId": "ghost-tenant", "userPrincipalName": "a@b.example", "displayName": "A"}},
				license.ENOTFOUND, `"ghost-tenant"`)
		})
	})
}

func TestAssignLicense(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		const q = `mutation($u: ID!, $p: ID!, $off: [ID!]) { assignLicense(input: {userId: $u, productId: $p, disabledServicePlanIds: $off}) { ` + userFields + ` } }`
		vars := func(user, product string, off ...string) map[string]any {
			return map[string]any{"u": user, "p": product, "off": append([]string{}, off...)}
		}

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("assign-ok")
			u := a.mustUser(f, "u1")
			got := rootField[userView](t, a.do(f.admin, q, vars(u, f.products[skuFlow], planExchange)))
			if got.ID != u || len(got.Licenses) != 1 {
				t.Fatalf("assignLicense = %+v; want user %s with one license", got, u)
			}
			l := got.Licenses[0]
			if l.Product.ID != f.products[skuFlow] || l.Policy != nil || l.Source != "DIRECT" || !slices.Equal(ids(l.DisabledServicePlans), []string{planExchange}) {
				t.Errorf("license = %+v; want %s, no policy, DIRECT, %s disabled", l, f.products[skuFlow], planExchange)
			}
			if p := a.product(f, f.products[skuFlow]); p.AssignedLicenses != 1 || p.AvailableLicenses != 4 {
				t.Errorf("after assigning, product has %d assigned, %d available; want 1 and 4", p.AssignedLicenses, p.AvailableLicenses)
			}
		})
		t.Run("ErrUnknownUser", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("assign-nouser")
			a.refuse(f, f.admin, q, vars("ghost-user", f.products[skuFlow]), license.ENOTFOUND, `"ghost-user"`)
		})
		t.Run("ErrUnknownProduct", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("assign-noproduct")
			id := license.ProductID(f.tenantID, 99)
			a.refuse(f, f.admin, q, vars(a.mustUser(f, "u1"), id), license.ENOTFOUND, id)
		})
		t.Run("ErrNoLicensesLeft", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("assign-none")
			for i := 1; i <= 3; i++ { // POWERAUTOMATE_ATTENDED_RPA has 3
				a.mustAssign(a.mustUser(f, fmt.Sprintf("u%d", i)), f.products[skuRPA])
			}
			a.refuse(f, f.admin, q, vars(a.mustUser(f, "u4"), f.products[skuRPA]), license.ECONFLICT, "assigned", f.products[skuRPA])
		})
		t.Run("ErrAlreadyHolds", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("assign-twice")
			u := a.mustUser(f, "u1")
			a.mustAssign(u, f.products[skuFlow])
			a.refuse(f, f.admin, q, vars(u, f.products[skuFlow]), license.ECONFLICT, "already holds")
		})
		t.Run("ErrUnknownServicePlan", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("assign-plan")
			u := a.mustUser(f, "u1")
			a.refuse(f, f.admin, q, vars(u, f.products[skuFlow], planUnknown), license.EINVALID, planUnknown)
			a.refuse(f, f.admin, q, vars(u, f.products[skuFlow], planPowerApps), license.EINVALID, planPowerApps)
		})
	})
}

func TestRemoveLicense(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		const q = `mutation($u: ID!, $p: ID!) { removeLicense(userId: $u, productId: $p) { ` + userFields + ` } }`

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("remove-ok")
			u, flow := a.mustUser(f, "u1"), f.products[skuFlow]
			a.mustDo(f.admin, `mutation($u: ID!, $p: ID!) { assignLicense(input: {userId: $u, productId: $p}) { id } }`, map[string]any{"u": u, "p": flow}, nil)
			if p := a.product(f, flow); p.AvailableLicenses != 4 {
				t.Fatalf("after assigning, %d available; want 4", p.AvailableLicenses)
			}
			got := rootField[userView](t, a.do(f.admin, q, map[string]any{"u": u, "p": flow}))
			if got.ID != u || len(got.Licenses) != 0 {
				t.Errorf("removeLicense = %+v; want user %s without licenses", got, u)
			}
			if p := a.product(f, flow); p.AssignedLicenses != 0 || p.AvailableLicenses != 5 {
				t.Errorf("after removing, product has %d assigned, %d available; want the license back in the pool (0, 5)", p.AssignedLicenses, p.AvailableLicenses)
			}
			// The pool really has it back: the last licenses can all be assigned.
			for i := 2; i <= 6; i++ {
				a.mustAssign(a.mustUser(f, fmt.Sprintf("u%d", i)), flow)
			}
		})
		t.Run("ErrNotHeld", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("remove-notheld")
			u := a.mustUser(f, "u1")
			a.mustAssign(u, f.products[skuRPA])
			a.refuse(f, f.admin, q, map[string]any{"u": u, "p": f.products[skuFlow]}, license.ENOTFOUND, "no license", f.products[skuFlow])
		})
		t.Run("ErrUnknownUser", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("remove-nouser")
			a.refuse(f, f.admin, q, map[string]any{"u": "ghost-user", "p": f.products[skuFlow]}, license.ENOTFOUND, "ghost-user")
		})
	})
}

func TestUsersPagination(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		a := newTestAPI(t, b)
		f := a.newFixture("pages")
		want := []string{f.adminID}
		for i := 0; i < 11; i++ {
			u := rootField[idView](t, a.do(f.admin, `mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userPrincipalName": fmt.Sprintf("user%d@pages.example", i), "displayName": "User"}}))
			want = append(want, u.ID)
		}
		type page struct {
			Tenant struct {
				Users struct {
					Edges []struct {
						Cursor string
						Node   idView
					}
					Nodes    []idView
					PageInfo struct {
						HasNextPage bool
						EndCursor   *string
					}
					TotalCount int
				}
			}
		}
		const q = `query($t: ID!, $first: Int, $after: String) { tenant(id: $t) { users(first: $first, after: $after) {
			edges { cursor node { id } } nodes { id } pageInfo { hasNextPage endCursor } totalCount } } }`
		var seen []string
		var sizes []int
		var after any
		for range 10 {
			var p page
			a.mustDo(f.admin, q, map[string]any{"t": f.tenantID, "first": 5, "after": after}, &p)
			c := p.Tenant.Users
			if c.TotalCount != 12 {
				t.Errorf("totalCount = %d; want 12", c.TotalCount)
			}
			if len(c.Edges) != len(c.Nodes) {
				t.Fatalf("%d edges but %d nodes", len(c.Edges), len(c.Nodes))
			}
			for i, e := range c.Edges {
				if e.Node.ID != c.Nodes[i].ID || e.Cursor == "" {
					t.Errorf("edge %d = %+v; node %s", i, e, c.Nodes[i].ID)
				}
			}
			seen = append(seen, ids(c.Nodes)...)
			sizes = append(sizes, len(c.Nodes))
			if !c.PageInfo.HasNextPage {
				break
			}
			if c.PageInfo.EndCursor == nil || *c.PageInfo.EndCursor != c.Edges[len(c.Edges)-1].Cursor {
				t.Fatalf("endCursor = %v; want the last edge's cursor", c.PageInfo.EndCursor)
			}
			after = *c.PageInfo.EndCursor
		}
		if !slices.Equal(sizes, []int{5, 5, 2}) {
			t.Errorf("page sizes = %v; want [5 5 2]", sizes)
		}
		if !sameSet(seen, want) || len(seen) != len(want) {
			t.Errorf("pages walked %v; want each of %v exactly once", seen, want)
		}
		var again page
		a.mustDo(f.admin, q, map[string]any{"t": f.tenantID, "first": 5, "after": nil}, &again)
		var firstIDs []string
		for _, n := range again.Tenant.Users.Nodes {
			firstIDs = append(firstIDs, n.ID)
		}
		if !slices.Equal(firstIDs, seen[:5]) {
			t.Errorf("the first page again is %v; want the same order as before, %v", firstIDs, seen[:5])
		}
		var last page
		a.mustDo(f.admin, q, map[string]any{"t": f.tenantID, "first": 5, "after": seen[len(seen)-1]}, &last)
		if c := last.Tenant.Users; len(c.Nodes) != 0 || c.PageInfo.HasNextPage || c.TotalCount != 12 {
			t.Errorf("page after the last user = %+v; want no users, no next page, totalCount 12", c)
		}
		for _, first := range []int{-1, 501} {
			checkError(t, a.do(f.admin, q, map[string]any{"t": f.tenantID, "first": first}), license.EINVALID, "first", fmt.Sprint(first))
		}
	})
}

// ---- policies ----

const createPolicyMutation = `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { ` + policyFields + ` } }`

// policyInput builds the variables of createPolicyMutation; products are
// product ids, each optionally followed by "|plan,plan" to disable.
func policyInput(f *fixture, name, app string, products ...string) map[string]any {
	var pps []map[string]any
	for _, p := range products {
		id, off, _ := strings.Cut(p, "|")
		pp := map[string]any{"productId": id}
		if off != "" {
			pp["disabledServicePlanIds"] = strings.Split(off, ",")
		}
		pps = append(pps, pp)
	}
	if pps == nil {
		pps = []map[string]any{}
	}
	return map[string]any{"in": map[string]any{"tenantId": f.tenantID, "name": name, "appId": app, "products": pps}}
}

func TestCreateAutoClaimPolicy(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPIWithCatalog(t, b, extendedCatalog(t, 4))
		op := ta.operator()

		t.Run("OK", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("pol-ok")
			flow, rpa := f.products[skuFlow], f.products[skuRPA]
			got := rootField[policyView](t, a.do(f.admin, createPolicyMutation, policyInput(f, "Flow makers", "POWER_AUTOMATE", flow+"|"+planExchange, rpa)))
			if got.ID == "" || got.Name != "Flow makers" || got.App.ID != "POWER_AUTOMATE" || got.Status != "ON" || !got.Enabled || got.AutoCreated || got.ClaimedLicenses != 0 {
				t.Errorf("createAutoClaimPolicy = %+v", got)
			}
			a.checkPolicyProducts(got, wantProduct{flow, []string{planExchange}, 5}, wantProduct{rpa, nil, 3})
			var out struct {
				Tenant struct {
					PolicyLimit int
					Policies    []policyView
				}
			}
			a.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { policyLimit policies { `+policyFields+` } } }`, map[string]any{"t": f.tenantID}, &out)
			if len(out.Tenant.Policies) != 1 || out.Tenant.Policies[0].ID != got.ID || out.Tenant.Policies[0].Version != got.Version {
				t.Errorf("tenant policies = %+v; want just %s", out.Tenant.Policies, got.ID)
			}
			if out.Tenant.PolicyLimit != 1 {
				t.Errorf("a new tenant's policyLimit = %d; want 1", out.Tenant.PolicyLimit)
			}
		})
		t.Run("OKDisabled", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("pol-off")
			vars := policyInput(f, "Apps", "POWER_APPS", f.products[skuApps])
			vars["in"].(map[string]any)["enabled"] = false
			got := rootField[policyView](t, a.do(f.admin, createPolicyMutation, vars))
			if got.Status != "OFF" || got.Enabled || got.App.ID != "POWER_APPS" {
				t.Errorf("createAutoClaimPolicy(enabled: false) = %+v; want status OFF", got)
			}
			a.checkPolicyProducts(got, wantProduct{f.products[skuApps], nil, 10})
		})
		t.Run("OKFiveProductsAndLongestName", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("pol-five")
			x := a.addExtraProducts(f, 3)
			name := strings.Repeat("p", 100)
			got := rootField[policyView](t, a.do(f.admin, createPolicyMutation,
				policyInput(f, name, "POWER_AUTOMATE", f.products[skuRPA], x[0], f.products[skuFlow], x[1], x[2])))
			if got.Name != name {
				t.Errorf("name = %q; want the 100-character name", got.Name)
			}
			a.checkPolicyProducts(got, wantProduct{f.products[skuRPA], nil, 3}, wantProduct{x[0], nil, 2},
				wantProduct{f.products[skuFlow], nil, 5}, wantProduct{x[1], nil, 2}, wantProduct{x[2], nil, 2})
		})

		errs := []struct {
			name  string
			vars  func(a *testAPI, f *fixture) map[string]any
			code  string
			words func(f *fixture) []string
		}{
			{"ErrNameRequired", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "", "POWER_AUTOMATE", f.products[skuFlow])
			}, license.EINVALID, func(*fixture) []string { return []string{"policy name", "empty"} }},
			{"ErrNameTooLong", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, strings.Repeat("p", 101), "POWER_AUTOMATE", f.products[skuFlow])
			}, license.EINVALID, func(*fixture) []string { return []string{"policy name", "100"} }},
			{"ErrNoProducts", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "POWER_AUTOMATE")
			}, license.EINVALID, func(*fixture) []string { return []string{"product"} }},
			{"ErrMoreThanFourBackups", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "POWER_AUTOMATE", append([]string{f.products[skuFlow], f.products[skuRPA]}, a.addExtraProducts(f, 4)...)...)
			}, license.EINVALID, func(*fixture) []string { return []string{"4 backup"} }},
			{"ErrProductTwice", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "POWER_AUTOMATE", f.products[skuFlow], f.products[skuRPA], f.products[skuFlow])
			}, license.EINVALID, func(f *fixture) []string { return []string{f.products[skuFlow], "twice"} }},
			{"ErrProductDoesNotServeApp", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "POWER_AUTOMATE", f.products[skuFlow], f.products[skuApps])
			}, license.EINVALID, func(f *fixture) []string { return []string{f.products[skuApps], "Power Automate"} }},
			{"ErrUnknownServicePlan", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "POWER_AUTOMATE", f.products[skuFlow]+"|"+planUnknown)
			}, license.EINVALID, func(*fixture) []string { return []string{planUnknown} }},
			{"ErrPlanOfAnotherProduct", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "POWER_AUTOMATE", f.products[skuFlow]+"|"+planRPACDS)
			}, license.EINVALID, func(*fixture) []string { return []string{planRPACDS} }},
			{"ErrDisablingTheAppsOwnPlan", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "POWER_AUTOMATE", f.products[skuFlow], f.products[skuRPA]+"|"+planExchange+","+planRPA)
			}, license.EINVALID, func(*fixture) []string { return []string{"POWER_AUTOMATE_ATTENDED_RPA", "can't be turned off"} }},
			{"ErrUnknownApp", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "NO_SUCH_APP", f.products[skuFlow])
			}, license.ENOTFOUND, func(*fixture) []string { return []string{"NO_SUCH_APP"} }},
			{"ErrUnknownProduct", func(a *testAPI, f *fixture) map[string]any {
				return policyInput(f, "Flow", "POWER_AUTOMATE", f.products[skuFlow], license.ProductID(f.tenantID, 99))
			}, license.ENOTFOUND, func(f *fixture) []string { return []string{license.ProductID(f.tenantID, 99)} }},
			{"ErrProductOfAnotherTenant", func(a *testAPI, f *fixture) map[string]any {
				other := a.newFixture(f.tenantID + "-other")
				return policyInput(f, "Flow", "POWER_AUTOMATE", other.products[skuFlow])
			}, license.ENOTFOUND, func(f *fixture) []string { return []string{"not found"} }},
		}
		for i, c := range errs {
			t.Run(c.name, func(t *testing.T) {
				a := ta.on(t)
				f := a.newFixture(fmt.Sprintf("pol-err%d", i))
				vars := c.vars(a, f)
				a.refuse(f, f.admin, createPolicyMutation, vars, c.code, c.words(f)...)
			})
		}

		t.Run("ErrPolicyLimitReached", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("pol-limit")
			a.mustDo(f.admin, createPolicyMutation, policyInput(f, "Flow", "POWER_AUTOMATE", f.products[skuFlow]), nil)
			a.refuse(f, f.admin, createPolicyMutation, policyInput(f, "Apps", "POWER_APPS", f.products[skuApps]), license.ECONFLICT, "limit", "1")
		})
		t.Run("ErrAppHasPolicy", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture("pol-app")
			a.mustDo(op, `mutation($t: ID!) { setTenantPolicyLimit(tenantId: $t, limit: 5) { id } }`, map[string]any{"t": f.tenantID}, nil)
			a.mustDo(f.admin, createPolicyMutation, policyInput(f, "Flow", "POWER_AUTOMATE", f.products[skuFlow]), nil)
			a.refuse(f, f.admin, createPolicyMutation, policyInput(f, "Flow again", "POWER_AUTOMATE", f.products[skuRPA]), license.ECONFLICT, "Power Automate", "already")
			// Another app is fine under the raised limit.
			a.mustDo(f.admin, createPolicyMutation, policyInput(f, "Apps", "POWER_APPS", f.products[skuApps]), nil)
		})
	})
}

// policyTest runs subtests of a policy mutation: each gets a fresh tenant
// (with n extra Power Automate products) and a Power Automate policy of the
// given products (keys of fixture.products).
type policyTest struct {
	ta    *testAPI
	n     int
	count int
}

func (pt *policyTest) setup(t *testing.T, skus ...string) (*testAPI, *fixture, string) {
	a := pt.ta.on(t)
	pt.count++
	f := a.newFixture(fmt.Sprintf("edit-%d", pt.count))
	a.addExtraProducts(f, pt.n)
	var products []string
	for _, s := range skus {
		products = append(products, f.products[s])
	}
	return a, f, a.mustPolicy(f, "POWER_AUTOMATE", products...)
}

func newPolicyTest(t *testing.T, b *redistest.Backend, extra int) *policyTest {
	return &policyTest{ta: newTestAPIWithCatalog(t, b, extendedCatalog(t, extra)), n: extra}
}

func TestRenameAutoClaimPolicy(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		pt := newPolicyTest(t, b, 0)
		const q = `mutation($p: ID!, $name: String!) { renameAutoClaimPolicy(policyId: $p, name: $name) { ` + policyFields + ` } }`

		t.Run("OK", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			before := a.policy(f, id)
			got := rootField[policyView](t, a.do(f.admin, q, map[string]any{"p": id, "name": "Renamed policy"}))
			if got.ID != id || got.Name != "Renamed policy" || got.Version <= before.Version || got.Status != before.Status || got.App != before.App {
				t.Errorf("rename = %+v; want %s renamed, version above %d, nothing else changed", got, id, before.Version)
			}
			a.checkPolicyProducts(got, wantProduct{f.products[skuFlow], nil, 5}, wantProduct{f.products[skuRPA], nil, 3})
			if again := a.policy(f, id); again.Name != "Renamed policy" {
				t.Errorf("the policy reads name %q after the rename", again.Name)
			}
		})
		t.Run("ErrNameRequired", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			a.refuse(f, f.admin, q, map[string]any{"p": id, "name": ""}, license.EINVALID, "policy name", "empty")
		})
		t.Run("ErrNameTooLong", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			a.refuse(f, f.admin, q, map[string]any{"p": id, "name": strings.Repeat("r", 101)}, license.EINVALID, "policy name", "100")
		})
		t.Run("ErrUnknownPolicy", func(t *testing.T) {
			a, f, _ := pt.setup(t, skuFlow)
			id := license.PolicyID(f.tenantID, 99)
			a.refuse(f, f.admin, q, map[string]any{"p": id, "name": "X"}, license.ENOTFOUND, id)
		})
	})
}

func TestSetAutoClaimPolicyEnabled(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		pt := newPolicyTest(t, b, 0)
		const q = `mutation($p: ID!, $on: Boolean!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: $on) { ` + policyFields + ` } }`

		t.Run("OK", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			version := a.policy(f, id).Version
			for _, c := range []struct {
				on     bool
				status string
			}{{false, "OFF"}, {true, "ON"}, {false, "OFF"}} {
				got := rootField[policyView](t, a.do(f.admin, q, map[string]any{"p": id, "on": c.on}))
				if got.ID != id || got.Enabled != c.on || got.Status != c.status || got.Version <= version {
					t.Errorf("setAutoClaimPolicyEnabled(%v) = enabled %v, status %s, version %d; want %v, %s, above %d",
						c.on, got.Enabled, got.Status, got.Version, c.on, c.status, version)
				}
				version = got.Version
				if again := a.policy(f, id); again.Status != c.status {
					t.Errorf("the policy reads status %s; want %s", again.Status, c.status)
				}
			}
		})
		t.Run("ErrUnknownPolicy", func(t *testing.T) {
			a, f, _ := pt.setup(t, skuFlow)
			id := license.PolicyID(f.tenantID, 99)
			a.refuse(f, f.admin, q, map[string]any{"p": id, "on": false}, license.ENOTFOUND, id)
		})
	})
}

func TestAddBackupProduct(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		pt := newPolicyTest(t, b, 4)
		const q = `mutation($p: ID!, $b: ID!, $off: [ID!]) { addBackupProduct(policyId: $p, productId: $b, disabledServicePlanIds: $off) { ` + policyFields + ` } }`
		vars := func(policy, product string, off ...string) map[string]any {
			return map[string]any{"p": policy, "b": product, "off": append([]string{}, off...)}
		}

		t.Run("OKUpToFiveProducts", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			p := f.products
			got := rootField[policyView](t, a.do(f.admin, q, vars(id, p[skuRPA], planRPACDS)))
			a.checkPolicyProducts(got, wantProduct{p[skuFlow], nil, 5}, wantProduct{p[skuRPA], []string{planRPACDS}, 3})
			want := []wantProduct{{p[skuFlow], nil, 5}, {p[skuRPA], []string{planRPACDS}, 3}}
			for i := 1; i <= 3; i++ { // the 3rd, 4th and 5th products
				got = rootField[policyView](t, a.do(f.admin, q, vars(id, p[extraSKU(i)])))
				want = append(want, wantProduct{p[extraSKU(i)], nil, 2})
				a.checkPolicyProducts(got, want...)
			}
			a.checkPolicyProducts(a.policy(f, id), want...)
		})
		t.Run("ErrSixthProduct", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA, extraSKU(1), extraSKU(2), extraSKU(3))
			a.refuse(f, f.admin, q, vars(id, f.products[extraSKU(4)]), license.EINVALID, "4 backup")
		})
		t.Run("ErrDuplicate", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			a.refuse(f, f.admin, q, vars(id, f.products[skuRPA]), license.EINVALID, f.products[skuRPA], "already")
			a.refuse(f, f.admin, q, vars(id, f.products[skuFlow]), license.EINVALID, f.products[skuFlow], "already")
		})
		t.Run("ErrProductDoesNotServeApp", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			a.refuse(f, f.admin, q, vars(id, f.products[skuApps]), license.EINVALID, f.products[skuApps], "Power Automate")
		})
		t.Run("ErrDisablingTheAppsOwnPlan", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			a.refuse(f, f.admin, q, vars(id, f.products[skuRPA], planRPA), license.EINVALID, "POWER_AUTOMATE_ATTENDED_RPA", "can't be turned off")
		})
		t.Run("ErrUnknownServicePlan", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			a.refuse(f, f.admin, q, vars(id, f.products[skuRPA], planUnknown), license.EINVALID, planUnknown)
		})
		t.Run("ErrUnknownProduct", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			other := license.ProductID(f.tenantID, 99)
			a.refuse(f, f.admin, q, vars(id, other), license.ENOTFOUND, other)
		})
		t.Run("ErrProductOfAnotherTenant", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			_, other, _ := pt.setup(t, skuRPA)
			a.refuse(f, f.admin, q, vars(id, other.products[skuRPA]), license.ENOTFOUND, other.products[skuRPA])
		})
		t.Run("ErrUnknownPolicy", func(t *testing.T) {
			a, f, _ := pt.setup(t, skuFlow)
			id := license.PolicyID(f.tenantID, 99)
			a.refuse(f, f.admin, q, vars(id, f.products[skuRPA]), license.ENOTFOUND, id)
		})
	})
}

func TestRemovePolicyProduct(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		pt := newPolicyTest(t, b, 1)
		const q = `mutation($p: ID!, $b: ID!) { removePolicyProduct(policyId: $p, productId: $b) { ` + policyFields + ` } }`

		t.Run("OK", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA, extraSKU(1))
			p := f.products
			got := rootField[policyView](t, a.do(f.admin, q, map[string]any{"p": id, "b": p[skuRPA]}))
			a.checkPolicyProducts(got, wantProduct{p[skuFlow], nil, 5}, wantProduct{p[extraSKU(1)], nil, 2})
			got = rootField[policyView](t, a.do(f.admin, q, map[string]any{"p": id, "b": p[skuFlow]}))
			a.checkPolicyProducts(got, wantProduct{p[extraSKU(1)], nil, 2})
			a.checkPolicyProducts(a.policy(f, id), wantProduct{p[extraSKU(1)], nil, 2})
		})
		t.Run("ErrLastProduct", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			a.refuse(f, f.admin, q, map[string]any{"p": id, "b": f.products[skuFlow]}, license.ECONFLICT, f.products[skuFlow], "only product")
		})
		t.Run("ErrNotInPolicy", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			a.refuse(f, f.admin, q, map[string]any{"p": id, "b": f.products[skuApps]}, license.ENOTFOUND, f.products[skuApps])
		})
	})
}

func TestMovePolicyProduct(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		pt := newPolicyTest(t, b, 1)
		const q = `mutation($p: ID!, $b: ID!, $d: Direction!) { movePolicyProduct(policyId: $p, productId: $b, direction: $d) { ` + policyFields + ` } }`
		move := func(policy, product, d string) map[string]any {
			return map[string]any{"p": policy, "b": product, "d": d}
		}

		t.Run("OK", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA, extraSKU(1))
			p := f.products
			// The plans chosen for a product move with it.
			a.mustDo(f.admin, `mutation($p: ID!, $b: ID!) { setPolicyServicePlans(policyId: $p, productId: $b, disabledServicePlanIds: ["`+planRPACDS+`"]) { id } }`,
				map[string]any{"p": id, "b": p[skuRPA]}, nil)
			flow, rpa, x1 := wantProduct{p[skuFlow], nil, 5}, wantProduct{p[skuRPA], []string{planRPACDS}, 3}, wantProduct{p[extraSKU(1)], nil, 2}
			for _, step := range []struct {
				product, dir string
				want         []wantProduct
			}{
				{p[skuRPA], "UP", []wantProduct{rpa, flow, x1}},
				{p[skuFlow], "DOWN", []wantProduct{rpa, x1, flow}},
				{p[extraSKU(1)], "UP", []wantProduct{x1, rpa, flow}},
				{p[extraSKU(1)], "DOWN", []wantProduct{rpa, x1, flow}},
			} {
				got := rootField[policyView](t, a.do(f.admin, q, move(id, step.product, step.dir)))
				a.checkPolicyProducts(got, step.want...)
			}
			a.checkPolicyProducts(a.policy(f, id), rpa, x1, flow)
		})
		t.Run("ErrFirstUp", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			a.refuse(f, f.admin, q, move(id, f.products[skuFlow], "UP"), license.EINVALID, f.products[skuFlow], "first")
		})
		t.Run("ErrLastDown", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			a.refuse(f, f.admin, q, move(id, f.products[skuRPA], "DOWN"), license.EINVALID, f.products[skuRPA], "last")
		})
		t.Run("ErrOnlyProduct", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			a.refuse(f, f.admin, q, move(id, f.products[skuFlow], "UP"), license.EINVALID, "first")
			a.refuse(f, f.admin, q, move(id, f.products[skuFlow], "DOWN"), license.EINVALID, "last")
		})
		t.Run("ErrNotInPolicy", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			a.refuse(f, f.admin, q, move(id, f.products[skuApps], "UP"), license.ENOTFOUND, f.products[skuApps])
		})
	})
}

func TestSetPolicyProductOrder(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		pt := newPolicyTest(t, b, 2)
		const q = `mutation($p: ID!, $order: [ID!]!) { setPolicyProductOrder(policyId: $p, productIds: $order) { ` + policyFields + ` } }`

		t.Run("OK", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA, extraSKU(1))
			p := f.products
			got := rootField[policyView](t, a.do(f.admin, q, map[string]any{"p": id, "order": []string{p[extraSKU(1)], p[skuFlow], p[skuRPA]}}))
			want := []wantProduct{{p[extraSKU(1)], nil, 2}, {p[skuFlow], nil, 5}, {p[skuRPA], nil, 3}}
			a.checkPolicyProducts(got, want...)
			a.checkPolicyProducts(a.policy(f, id), want...)
		})
		for _, c := range []struct {
			name  string
			order func(p map[string]string) []string
			words []string
		}{
			{"ErrMissingProduct", func(p map[string]string) []string { return []string{p[skuRPA], p[skuFlow]} }, []string{"each", "3"}},
			{"ErrProductTwice", func(p map[string]string) []string { return []string{p[skuFlow], p[skuRPA], p[skuFlow]} }, []string{"twice"}},
			{"ErrProductNotInPolicy", func(p map[string]string) []string { return []string{p[skuFlow], p[skuRPA], p[extraSKU(2)]} }, []string{"not in policy"}},
			{"ErrExtraProduct", func(p map[string]string) []string {
				return []string{p[skuFlow], p[skuRPA], p[extraSKU(1)], p[extraSKU(2)]}
			}, []string{"each", "3"}},
			{"ErrEmpty", func(p map[string]string) []string { return []string{} }, []string{"each"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				a, f, id := pt.setup(t, skuFlow, skuRPA, extraSKU(1))
				a.refuse(f, f.admin, q, map[string]any{"p": id, "order": c.order(f.products)}, license.EINVALID, c.words...)
			})
		}
	})
}

func TestSetPolicyServicePlans(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		pt := newPolicyTest(t, b, 0)
		const q = `mutation($p: ID!, $b: ID, $off: [ID!]!) { setPolicyServicePlans(policyId: $p, productId: $b, disabledServicePlanIds: $off) { ` + policyFields + ` } }`
		set := func(policy string, product any, off ...string) map[string]any {
			return map[string]any{"p": policy, "b": product, "off": append([]string{}, off...)}
		}

		t.Run("OKOneProduct", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			p := f.products
			got := rootField[policyView](t, a.do(f.admin, q, set(id, p[skuFlow], planExchange, planFlowCDS)))
			a.checkPolicyProducts(got, wantProduct{p[skuFlow], []string{planExchange, planFlowCDS}, 5}, wantProduct{p[skuRPA], nil, 3})
			// Setting again replaces the list.
			got = rootField[policyView](t, a.do(f.admin, q, set(id, p[skuFlow], planFlowCDS)))
			a.checkPolicyProducts(got, wantProduct{p[skuFlow], []string{planFlowCDS}, 5}, wantProduct{p[skuRPA], nil, 3})
		})
		t.Run("OKAllProducts", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			p := f.products
			// Each product turns off those of the plans it has.
			got := rootField[policyView](t, a.do(f.admin, q, set(id, nil, planExchange, planRPACDS)))
			a.checkPolicyProducts(got, wantProduct{p[skuFlow], []string{planExchange}, 5}, wantProduct{p[skuRPA], []string{planExchange, planRPACDS}, 3})
			got = rootField[policyView](t, a.do(f.admin, q, set(id, nil)))
			a.checkPolicyProducts(got, wantProduct{p[skuFlow], nil, 5}, wantProduct{p[skuRPA], nil, 3})
			a.checkPolicyProducts(a.policy(f, id), wantProduct{p[skuFlow], nil, 5}, wantProduct{p[skuRPA], nil, 3})
		})
		t.Run("ErrRequiredPlan", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			a.refuse(f, f.admin, q, set(id, f.products[skuFlow], planFlowPerUser), license.EINVALID, "FLOW_PER_USER", "can't be turned off")
			a.refuse(f, f.admin, q, set(id, nil, planExchange, planRPA), license.EINVALID, "POWER_AUTOMATE_ATTENDED_RPA", "can't be turned off")
		})
		t.Run("ErrUnknownServicePlan", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			a.refuse(f, f.admin, q, set(id, f.products[skuFlow], planUnknown), license.EINVALID, planUnknown)
			a.refuse(f, f.admin, q, set(id, f.products[skuFlow], planRPACDS), license.EINVALID, planRPACDS)
			a.refuse(f, f.admin, q, set(id, nil, planUnknown), license.EINVALID, planUnknown)
			a.refuse(f, f.admin, q, set(id, nil, planPowerApps), license.EINVALID, planPowerApps)
		})
		t.Run("ErrProductNotInPolicy", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow)
			a.refuse(f, f.admin, q, set(id, f.products[skuRPA], planExchange), license.ENOTFOUND, f.products[skuRPA])
		})
	})
}

func TestDeleteAutoClaimPolicy(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		pt := newPolicyTest(t, b, 0)
		const q = `mutation($p: ID!) { deleteAutoClaimPolicy(policyId: $p) { deletedPolicyId tenant { id policies { id } } } }`
		type payload struct {
			DeletedPolicyID string
			Tenant          struct {
				ID       string
				Policies []idView
			}
		}

		t.Run("OK", func(t *testing.T) {
			a, f, id := pt.setup(t, skuFlow, skuRPA)
			got := rootField[payload](t, a.do(f.admin, q, map[string]any{"p": id}))
			if got.DeletedPolicyID != id || got.Tenant.ID != f.tenantID || len(got.Tenant.Policies) != 0 {
				t.Errorf("deleteAutoClaimPolicy = %+v; want %s deleted and no policies left", got, id)
			}
			a.refuse(f, f.admin, q, map[string]any{"p": id}, license.ENOTFOUND, id)
			// The app is free again, within the limit of 1.
			again := rootField[policyView](t, a.do(f.admin, createPolicyMutation, policyInput(f, "Flow again", "POWER_AUTOMATE", f.products[skuRPA])))
			if again.ID == "" || again.ID == id || again.App.ID != "POWER_AUTOMATE" {
				t.Errorf("new policy after delete = %+v", again)
			}
			a.checkPolicyProducts(again, wantProduct{f.products[skuRPA], nil, 3})
		})
		t.Run("ErrUnknownPolicy", func(t *testing.T) {
			a, f, _ := pt.setup(t, skuFlow)
			id := license.PolicyID(f.tenantID, 99)
			a.refuse(f, f.admin, q, map[string]any{"p": id}, license.ENOTFOUND, id)
		})
	})
}

func TestPolicyAvailableLicenses(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		a := newTestAPI(t, b)
		f := a.newFixture("avail")
		flow, rpa := f.products[skuFlow], f.products[skuRPA]
		id := a.mustPolicy(f, "POWER_AUTOMATE", flow, rpa)
		a.checkPolicyProducts(a.policy(f, id), wantProduct{flow, nil, 5}, wantProduct{rpa, nil, 3})

		a.mustAssign(a.mustUser(f, "u1"), flow)
		a.checkPolicyProducts(a.policy(f, id), wantProduct{flow, nil, 4}, wantProduct{rpa, nil, 3})

		a.mustDo(f.admin, `mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 10) { id } }`, map[string]any{"p": rpa}, nil)
		a.checkPolicyProducts(a.policy(f, id), wantProduct{flow, nil, 4}, wantProduct{rpa, nil, 10})

		// A product outside the policy does not count.
		a.mustAssign("u1", f.products[skuApps])
		var out struct {
			Tenant struct{ Policies []policyView }
		}
		a.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { policies { `+policyFields+` } } }`, map[string]any{"t": f.tenantID}, &out)
		if len(out.Tenant.Policies) != 1 {
			t.Fatalf("tenant has %d policies; want 1", len(out.Tenant.Policies))
		}
		a.checkPolicyProducts(out.Tenant.Policies[0], wantProduct{flow, nil, 4}, wantProduct{rpa, nil, 10})
	})
}

// ---- concurrency through the handler ----

func TestConcurrentCreatePolicyRespectsLimit(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		a := newTestAPI(t, b)
		f := a.newFixture("race-create")
		const n = 50
		results := make([]gqltest.Response, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				vars := policyInput(f, fmt.Sprintf("Policy %d", i), "POWER_AUTOMATE", f.products[skuFlow])
				if i%2 == 1 {
					vars = policyInput(f, fmt.Sprintf("Policy %d", i), "POWER_APPS", f.products[skuApps])
				}
				results[i], errs[i] = a.post(f.admin, createPolicyMutation, vars)
			})
		}
		wg.Wait()
		var winners []string
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			switch r.Code() {
			case "":
				winners = append(winners, rootField[policyView](t, r).ID)
			case license.ECONFLICT:
				if msg := r.Errors[0].Message; !strings.Contains(msg, "limit") && !strings.Contains(msg, "already") {
					t.Errorf("request %d: CONFLICT message %q says neither the limit nor the app's policy", i, msg)
				}
			default:
				t.Errorf("request %d: %+v; want success or CONFLICT", i, r.Errors)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d of %d concurrent creations succeeded (%v); with policyLimit 1 exactly one must", len(winners), n, winners)
		}
		var out struct {
			Tenant struct{ Policies []idView }
		}
		a.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { policies { id } } }`, map[string]any{"t": f.tenantID}, &out)
		if !slices.Equal(ids(out.Tenant.Policies), winners) {
			t.Errorf("tenant policies = %v; want just the winner %v", ids(out.Tenant.Policies), winners)
		}
	})
}

func TestConcurrentAddBackupProduct(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		a := newTestAPIWithCatalog(t, b, extendedCatalog(t, 8))
		f := a.newFixture("race-backup")
		candidates := append([]string{f.products[skuRPA]}, a.addExtraProducts(f, 8)...) // 9 products that serve Power Automate
		id := a.mustPolicy(f, "POWER_AUTOMATE", f.products[skuFlow])
		const n = 20
		const q = `mutation($p: ID!, $b: ID!) { addBackupProduct(policyId: $p, productId: $b) { ` + policyFields + ` } }`
		results := make([]gqltest.Response, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = a.post(f.admin, q, map[string]any{"p": id, "b": candidates[i%len(candidates)]})
			})
		}
		wg.Wait()

		final := a.policy(f, id)
		finalIDs := final.productIDs()
		if len(finalIDs) != 5 || final.Products[0].Product.ID != f.products[skuFlow] {
			t.Errorf("final policy products = %v; want the primary and exactly 4 backups", finalIDs)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(finalIDs)))) != len(finalIDs) {
			t.Errorf("final policy has a product twice: %v", finalIDs)
		}
		var added []string
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			product := candidates[i%len(candidates)]
			if r.Code() != "" {
				if r.Code() != license.EINVALID {
					t.Errorf("request %d (%s): %+v; want success or BAD_USER_INPUT (full, or already in the policy)", i, product, r.Errors)
				}
				continue
			}
			got := rootField[policyView](t, r)
			gotIDs := got.productIDs()
			if !slices.Contains(gotIDs, product) || len(gotIDs) > 5 || !slices.Equal(gotIDs, finalIDs[:min(len(gotIDs), len(finalIDs))]) {
				t.Errorf("request %d added %s and answered products %v; want a list holding it that the final %v starts with", i, product, gotIDs, finalIDs)
			}
			added = append(added, product)
		}
		if len(added) != len(finalIDs)-1 || !sameSet(added, finalIDs[1:]) {
			t.Errorf("successful calls added %v; the final backups are %v: each backup must come from exactly one success", added, finalIDs[1:])
		}
	})
}

func TestConcurrentAssignLicenseNeverOversells(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		a := newTestAPI(t, b)
		f := a.newFixture("race-assign")
		const n = 20
		users := make([]string, n)
		for i := range users {
			users[i] = a.mustUser(f, fmt.Sprintf("u%02d", i))
		}
		rpa := f.products[skuRPA] // 3 licenses
		const q = `mutation($u: ID!, $p: ID!) { assignLicense(input: {userId: $u, productId: $p}) { id } }`
		results := make([]gqltest.Response, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i], errs[i] = a.post(f.admin, q, map[string]any{"u": users[i], "p": rpa}) })
		}
		wg.Wait()
		ok := 0
		for i, r := range results {
			switch {
			case errs[i] != nil:
				t.Fatalf("request %d: %v", i, errs[i])
			case r.Code() == "":
				ok++
			case r.Code() != license.ECONFLICT:
				t.Errorf("request %d: %+v; want success or CONFLICT", i, r.Errors)
			}
		}
		p := a.product(f, rpa)
		if ok != 3 || p.AssignedLicenses != 3 || p.AvailableLicenses != 0 {
			t.Errorf("%d assignments succeeded; product has %d assigned, %d available; want 3, 3, 0", ok, p.AssignedLicenses, p.AvailableLicenses)
		}
	})
}
