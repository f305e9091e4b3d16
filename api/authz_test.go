package api_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/graph"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// loadSchema returns the schema the server serves.
func loadSchema(t *testing.T) *ast.Schema {
	t.Helper()
	return graph.NewExecutableSchema(graph.Config{}).Schema()
}

// rootFields returns the fields of a root type a client can call (not the
// introspection fields gqlparser adds).
func rootFields(def *ast.Definition) []*ast.FieldDefinition {
	if def == nil {
		return nil
	}
	var out []*ast.FieldDefinition
	for _, f := range def.Fields {
		if !strings.HasPrefix(f.Name, "__") {
			out = append(out, f)
		}
	}
	return out
}

func TestEveryRootFieldHasRole(t *testing.T) {
	s := loadSchema(t)
	if len(rootFields(s.Query)) == 0 || len(rootFields(s.Mutation)) == 0 {
		t.Fatalf("schema.graphqls has no Query or Mutation fields")
	}
	for _, root := range []*ast.Definition{s.Query, s.Mutation, s.Subscription} {
		for _, f := range rootFields(root) {
			d := f.Directives.ForName("hasRole")
			if d == nil {
				t.Errorf("%s.%s has no @hasRole: every root field must say who may call it", root.Name, f.Name)
				continue
			}
			roles := d.Arguments.ForName("roles")
			if roles == nil || roles.Value == nil || len(roles.Value.Children) == 0 {
				t.Errorf("%s.%s: @hasRole names no role", root.Name, f.Name)
				continue
			}
			for _, r := range roles.Value.Children {
				if !slices.Contains(auth.AllRoles, auth.Role(r.Value.Raw)) {
					t.Errorf("%s.%s: @hasRole names unknown role %q", root.Name, f.Name, r.Value.Raw)
				}
			}
		}
	}
}

// on returns a copy of a that reports to t, so that helpers called inside a
// subtest fail that subtest.
func (a *testAPI) on(t testing.TB) *testAPI {
	c := *a
	c.t = t
	return &c
}

// operator returns an operator's token.
func (a *testAPI) operator() string { return a.token("operator-1", "", auth.Operator) }

// newBareFixture creates a tenant and its Global admin, without products.
func (a *testAPI) newBareFixture(tenantID string) *fixture {
	a.t.Helper()
	tn, admin, err := a.store.CreateTenant(a.t.Context(), license.NewTenant{ID: tenantID, Name: "Tenant " + tenantID,
		AdminUserPrincipalName: "admin@" + tenantID + ".example", AdminDisplayName: "Admin"})
	if err != nil {
		a.t.Fatalf("create tenant %s: %v", tenantID, err)
	}
	return &fixture{tenantID: tn.ID, adminID: admin.ID, admin: a.token(admin.ID, tn.ID, auth.GlobalAdmin), products: map[string]string{}}
}

// mustPolicy creates a policy for app with the given products, straight
// through the store, and returns its id.
func (a *testAPI) mustPolicy(f *fixture, app string, productIDs ...string) string {
	a.t.Helper()
	pps := make([]license.PolicyProduct, len(productIDs))
	for i, id := range productIDs {
		pps[i] = license.PolicyProduct{ProductID: id}
	}
	p, err := a.store.CreatePolicy(a.t.Context(), license.NewPolicy{TenantID: f.tenantID, Name: "Policy for " + app,
		AppID: app, Products: pps, Enabled: true})
	if err != nil {
		a.t.Fatalf("create policy: %v", err)
	}
	return p.ID
}

// mustUser adds a user to f's tenant straight through the store.
func (a *testAPI) mustUser(f *fixture, id string) string {
	a.t.Helper()
	u, err := a.store.CreateUser(a.t.Context(), license.NewUser{TenantID: f.tenantID, ID: id,
		UserPrincipalName: id + "@" + f.tenantID + ".example", DisplayName: "User " + id})
	if err != nil {
		a.t.Fatalf("create user: %v", err)
	}
	return u.ID
}

// mustAssign assigns a license directly, straight through the store.
func (a *testAPI) mustAssign(userID, productID string) {
	a.t.Helper()
	if _, err := a.store.AssignLicense(a.t.Context(), userID, productID, nil); err != nil {
		a.t.Fatalf("assign %s to %s: %v", productID, userID, err)
	}
}

// mustWaitlist turns a policy's waitlist on, with the org setting and no
// license left, and queues a user on it, straight through the store.
func (a *testAPI) mustWaitlist(f *fixture, policyID, userID string) {
	a.t.Helper()
	ctx := a.t.Context()
	_, err := a.store.UpdatePolicy(ctx, policyID, func(p *license.Policy, _ license.SKULookup) error {
		return p.ApplySettings(license.PolicySettings{WaitlistEnabled: license.Update[bool]{Set: true, Value: true}})
	})
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.store.SetAutoClaimEnabled(ctx, f.tenantID, true); err != nil {
		a.t.Fatal(err)
	}
	p, err := a.store.Policy(ctx, policyID)
	if err != nil {
		a.t.Fatal(err)
	}
	for _, pp := range p.Products {
		prod, err := a.store.Product(ctx, pp.ProductID)
		if err != nil {
			a.t.Fatal(err)
		}
		if _, err := a.store.SetLicenseQuantity(ctx, pp.ProductID, prod.AssignedLicenses); err != nil {
			a.t.Fatal(err)
		}
	}
	res, err := a.store.Claim(ctx, license.ClaimRequest{TenantID: f.tenantID, UserID: userID, AppID: p.AppID, Trigger: license.TriggerSignIn})
	if err != nil || res.Outcome != license.Queued {
		a.t.Fatalf("queue %s: %+v, %v", userID, res, err)
	}
}

// checkError fails unless r failed with code and a message that is not empty,
// not "internal error", and mentions each of words (case-insensitively).
func checkError(t testing.TB, r gqltest.Response, code string, words ...string) {
	t.Helper()
	if len(r.Errors) == 0 {
		t.Fatalf("got no error, data %s; want %s", r.Data, code)
	}
	if got := r.Code(); got != code {
		t.Fatalf("code = %q (message %q); want %q", got, r.Errors[0].Message, code)
	}
	msg := r.Errors[0].Message
	if field, _ := r.Errors[0].Extensions["field"].(string); code == "BAD_USER_INPUT" && field == "" {
		t.Errorf("BAD_USER_INPUT error %q names no argument in extensions.field", msg)
	}
	if strings.TrimSpace(msg) == "" || msg == "internal error" {
		t.Fatalf("%s error has message %q; want one that says what was wrong", code, msg)
	}
	for _, w := range words {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			t.Errorf("%s message %q does not mention %q", code, msg, w)
		}
	}
}

// The mutations of schema.graphqls, and who may call them. claimLicense
// has its own tests.
var mutationCases = []struct {
	name    string
	allowed []auth.Role
	bare    bool // the fixture starts without products
	// prepare readies the fixture and returns a request valid for it.
	prepare func(a *testAPI, f *fixture) (string, map[string]any)
}{
	{"createTenant", roles(auth.Operator), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($id: ID!) { createTenant(input: {id: $id, name: "New", adminUserPrincipalName: "ada@new.example", adminDisplayName: "Ada"}) { tenant { id } admin { id } } }`,
			map[string]any{"id": f.tenantID + "-new"}
	}},
	{"setTenantPolicyLimit", roles(auth.Operator), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($t: ID!) { setTenantPolicyLimit(tenantId: $t, limit: 3) { id policyLimit } }`, map[string]any{"t": f.tenantID}
	}},
	{"setAutoClaimEnabled", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id autoClaimEnabled } }`, map[string]any{"t": f.tenantID}
	}},
	{"addProduct", roles(auth.GlobalAdmin), true, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($t: ID!) { addProduct(input: {tenantId: $t, skuPartNumber: "FLOW_PER_USER", quantity: 4}) { id } }`, map[string]any{"t": f.tenantID}
	}},
	{"setLicenseQuantity", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 7) { id totalLicenses } }`, map[string]any{"p": f.products["FLOW_PER_USER"]}
	}},
	{"createUser", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($t: ID!) { createUser(input: {tenantId: $t, userPrincipalName: "new@x.example", displayName: "New"}) { id } }`, map[string]any{"t": f.tenantID}
	}},
	{"assignLicense", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($u: ID!, $p: ID!) { assignLicense(input: {userId: $u, productId: $p}) { id } }`,
			map[string]any{"u": f.adminID, "p": f.products["FLOW_PER_USER"]}
	}},
	{"removeLicense", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		a.mustAssign(f.adminID, f.products["FLOW_PER_USER"])
		return `mutation($u: ID!, $p: ID!) { removeLicense(userId: $u, productId: $p) { id } }`,
			map[string]any{"u": f.adminID, "p": f.products["FLOW_PER_USER"]}
	}},
	{"createAutoClaimPolicy", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($t: ID!, $p: ID!) { createAutoClaimPolicy(input: {tenantId: $t, name: "Flow", appId: "POWER_AUTOMATE", products: [{productId: $p}]}) { id } }`,
			map[string]any{"t": f.tenantID, "p": f.products["FLOW_PER_USER"]}
	}},
	{"renameAutoClaimPolicy", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: "Renamed") { id } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"])}
	}},
	{"setAutoClaimPolicyEnabled", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: false) { id } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"])}
	}},
	{"addBackupProduct", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!, $b: ID!) { addBackupProduct(policyId: $p, productId: $b) { id } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"]), "b": f.products["POWERAUTOMATE_ATTENDED_RPA"]}
	}},
	{"removePolicyProduct", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!, $b: ID!) { removePolicyProduct(policyId: $p, productId: $b) { id } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"], f.products["POWERAUTOMATE_ATTENDED_RPA"]), "b": f.products["POWERAUTOMATE_ATTENDED_RPA"]}
	}},
	{"movePolicyProduct", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!, $b: ID!) { movePolicyProduct(policyId: $p, productId: $b, direction: UP) { id } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"], f.products["POWERAUTOMATE_ATTENDED_RPA"]), "b": f.products["POWERAUTOMATE_ATTENDED_RPA"]}
	}},
	{"setPolicyProductOrder", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		flow, rpa := f.products["FLOW_PER_USER"], f.products["POWERAUTOMATE_ATTENDED_RPA"]
		return `mutation($p: ID!, $order: [ID!]!) { setPolicyProductOrder(policyId: $p, productIds: $order) { id } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", flow, rpa), "order": []string{rpa, flow}}
	}},
	{"setPolicyServicePlans", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!, $plans: [ID!]!) { setPolicyServicePlans(policyId: $p, productId: null, disabledServicePlanIds: $plans) { id } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"]), "plans": []string{planExchange}}
	}},
	{"deleteAutoClaimPolicy", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!) { deleteAutoClaimPolicy(policyId: $p) { deletedPolicyId } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"])}
	}},
	{"updateAutoClaimPolicySettings", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!) { updateAutoClaimPolicySettings(input: {policyId: $p, waitlistEnabled: true, reclaimInactiveAfterDays: 30}) { id } }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"])}
	}},
	{"removeFromWaitlist", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		p := a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"])
		a.mustWaitlist(f, p, "waiting")
		return `mutation($p: ID!) { removeFromWaitlist(policyId: $p, userId: "waiting") { id } }`, map[string]any{"p": p}
	}},
	{"reclaimInactiveLicenses", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!) { reclaimInactiveLicenses(policyId: $p, days: 30) }`,
			map[string]any{"p": a.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"])}
	}},
	{"setLowLicenseThreshold", roles(auth.GlobalAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($p: ID!) { setLowLicenseThreshold(productId: $p, threshold: 2) { id lowLicenseThreshold } }`,
			map[string]any{"p": f.products["FLOW_PER_USER"]}
	}},
	{"approveLicenseRequest", roles(auth.GlobalAdmin, auth.LicenseAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($r: ID!) { approveLicenseRequest(requestId: $r) { id status outcome } }`,
			map[string]any{"r": a.mustRequest(f, "asking")}
	}},
	{"denyLicenseRequest", roles(auth.GlobalAdmin, auth.LicenseAdmin), false, func(a *testAPI, f *fixture) (string, map[string]any) {
		return `mutation($r: ID!) { denyLicenseRequest(requestId: $r, message: "Not this quarter") { id status message } }`,
			map[string]any{"r": a.mustRequest(f, "asking")}
	}},
}

// roles lists the roles a mutation allows.
func roles(r ...auth.Role) []auth.Role { return r }

func TestAuthMatrixCoversEveryMutation(t *testing.T) {
	var inSchema, inTable []string
	for _, f := range rootFields(loadSchema(t).Mutation) {
		if f.Name != "claimLicense" {
			inSchema = append(inSchema, f.Name)
		}
	}
	for _, c := range mutationCases {
		inTable = append(inTable, c.name)
	}
	sort.Strings(inSchema)
	sort.Strings(inTable)
	if !slices.Equal(inSchema, inTable) {
		t.Errorf("mutations in schema.graphqls = %v\nmutations in TestAuthMatrix = %v", inSchema, inTable)
	}
}

func TestAuthMatrix(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		n := 0
		nextID := func() string { n++; return fmt.Sprintf("m%03d", n) }
		other := ta.newFixture("other-tenant")
		otherAdmin := ta.token(other.adminID, other.tenantID, auth.GlobalAdmin)
		expired, err := auth.Issue(ta.secret, auth.Caller{Subject: "x", TenantID: "x", Roles: []auth.Role{auth.GlobalAdmin}}, time.Hour, time.Now().Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}

		for _, mc := range mutationCases {
			// run prepares a fresh fixture, sends the request as the caller
			// tokenFor returns, and checks the answer.
			run := func(t *testing.T, tokenFor func(f *fixture) string, wantCode string, words ...string) {
				a := ta.on(t)
				var f *fixture
				if mc.bare {
					f = a.newBareFixture(nextID())
				} else {
					f = a.newFixture(nextID())
				}
				q, vars := mc.prepare(a, f)
				before := a.snapshot(a.operator(), f.tenantID)
				r := a.do(tokenFor(f), q, vars)
				if wantCode == "" {
					if len(r.Errors) > 0 || string(r.Data) == "null" {
						t.Fatalf("%s was refused: %+v; want it allowed", mc.name, r.Errors)
					}
					return
				}
				checkError(t, r, wantCode, words...)
				if after := a.snapshot(a.operator(), f.tenantID); after != before {
					t.Errorf("refused %s changed the tenant:\nbefore %s\nafter  %s", mc.name, before, after)
				}
				if _, err := a.store.Tenant(t.Context(), f.tenantID+"-new"); license.ErrorCode(err) != license.ENOTFOUND {
					t.Errorf("refused %s created a tenant (err %v)", mc.name, err)
				}
			}
			for _, role := range auth.AllRoles {
				t.Run(mc.name+"/"+string(role), func(t *testing.T) {
					want, words := "", []string(nil)
					if !slices.Contains(mc.allowed, role) {
						want, words = license.EFORBIDDEN, []string{"role"}
					}
					run(t, func(f *fixture) string {
						switch role {
						case auth.Operator:
							return ta.token("operator-1", "", role)
						case auth.GlobalAdmin:
							return f.admin
						}
						return ta.token("caller-"+strings.ToLower(string(role)), f.tenantID, role)
					}, want, words...)
				})
			}
			t.Run(mc.name+"/NoToken", func(t *testing.T) {
				run(t, func(*fixture) string { return "" }, license.EUNAUTHENTICATED, "token")
			})
			t.Run(mc.name+"/GarbageToken", func(t *testing.T) {
				run(t, func(*fixture) string { return "not-a-jwt" }, license.EUNAUTHENTICATED, "token")
			})
			t.Run(mc.name+"/WrongSecret", func(t *testing.T) {
				run(t, func(f *fixture) string {
					tok, err := auth.Issue([]byte("another-secret"), auth.Caller{Subject: f.adminID, TenantID: f.tenantID, Roles: mc.allowed}, time.Hour, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					return tok
				}, license.EUNAUTHENTICATED, "token")
			})
			t.Run(mc.name+"/ExpiredToken", func(t *testing.T) {
				run(t, func(*fixture) string { return expired }, license.EUNAUTHENTICATED, "expired")
			})
			if mc.name != "createTenant" { // it names no tenant
				t.Run(mc.name+"/GlobalAdminOfAnotherTenant", func(t *testing.T) {
					run(t, func(*fixture) string { return otherAdmin }, license.ENOTFOUND, "not found")
				})
			}
		}

		t.Run("tenant", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture(nextID())
			const q = `query($id: ID!) { tenant(id: $id) { id name products { id } policies { id } users { totalCount } } }`
			for _, role := range auth.AllRoles {
				tok := a.token("caller-1", f.tenantID, role)
				switch role {
				case auth.Operator:
					tok = a.operator()
				case auth.GlobalAdmin:
					tok = f.admin
				}
				for _, target := range []*fixture{f, other} {
					own := target == f
					var want string
					switch {
					case role == auth.Operator:
					case !own:
						want = license.ENOTFOUND
					case role == auth.App || role == auth.User:
						want = license.EFORBIDDEN
					}
					r := a.do(tok, q, map[string]any{"id": target.tenantID})
					name := fmt.Sprintf("%s reading tenant %s (own %v)", role, target.tenantID, own)
					if want != "" {
						if r.Code() != want {
							t.Errorf("%s: code %q (%+v); want %s", name, r.Code(), r.Errors, want)
						}
						continue
					}
					var out struct {
						Tenant struct {
							ID       string
							Products []struct{ ID string }
							Users    struct{ TotalCount int }
						}
					}
					if len(r.Errors) > 0 {
						t.Errorf("%s: %+v; want the tenant", name, r.Errors)
						continue
					}
					decode(t, r, &out)
					if out.Tenant.ID != target.tenantID || len(out.Tenant.Products) != 3 || out.Tenant.Users.TotalCount != 1 {
						t.Errorf("%s: got %+v; want tenant %s with 3 products and 1 user", name, out.Tenant, target.tenantID)
					}
				}
			}
			r := a.do(a.operator(), q, map[string]any{"id": "no-such-tenant"})
			checkError(t, r, license.ENOTFOUND, "no-such-tenant")
			r = a.do("", q, map[string]any{"id": f.tenantID})
			checkError(t, r, license.EUNAUTHENTICATED, "token")
		})

		t.Run("catalog", func(t *testing.T) {
			a := ta.on(t)
			const q = `{ catalog { apps { id } products { skuPartNumber } } }`
			for _, role := range auth.AllRoles {
				tenantID := "t1"
				if role == auth.Operator {
					tenantID = ""
				}
				var out struct {
					Catalog struct {
						Apps     []struct{ ID string }
						Products []struct{ SkuPartNumber string }
					}
				}
				a.mustDo(a.token("caller-1", tenantID, role), q, nil, &out)
				var apps, skus []string
				for _, x := range out.Catalog.Apps {
					apps = append(apps, x.ID)
				}
				for _, x := range out.Catalog.Products {
					skus = append(skus, x.SkuPartNumber)
				}
				sort.Strings(apps)
				sort.Strings(skus)
				if !slices.Equal(apps, []string{"POWER_APPS", "POWER_AUTOMATE"}) ||
					!slices.Equal(skus, []string{"FLOW_PER_USER", "POWERAPPS_PER_USER", "POWERAUTOMATE_ATTENDED_RPA"}) {
					t.Errorf("catalog for %s: apps %v, products %v", role, apps, skus)
				}
			}
			checkError(t, a.do("", q, nil), license.EUNAUTHENTICATED, "token")
		})

		t.Run("me", func(t *testing.T) {
			a := ta.on(t)
			f := a.newFixture(nextID())
			for _, role := range auth.AllRoles {
				subject, tenantID := "caller-"+strings.ToLower(string(role)), f.tenantID
				switch role {
				case auth.Operator:
					tenantID = ""
				case auth.GlobalAdmin:
					subject = f.adminID
				}
				var out struct {
					Me struct {
						Subject  string
						TenantID *string
						Roles    []string
						User     *struct{ ID string }
					}
				}
				a.mustDo(a.token(subject, tenantID, role), `{ me { subject tenantId roles user { id } } }`, nil, &out)
				me := out.Me
				if me.Subject != subject || !slices.Equal(me.Roles, []string{string(role)}) {
					t.Errorf("me for %s = %+v; want subject %s and roles [%s]", role, me, subject, role)
				}
				switch {
				case role == auth.Operator && me.TenantID != nil:
					t.Errorf("me.tenantId for an operator = %q; want null", *me.TenantID)
				case role != auth.Operator && (me.TenantID == nil || *me.TenantID != f.tenantID):
					t.Errorf("me.tenantId for %s = %v; want %s", role, me.TenantID, f.tenantID)
				}
				if role == auth.GlobalAdmin {
					if me.User == nil || me.User.ID != f.adminID {
						t.Errorf("me.user for the Global admin = %+v; want %s", me.User, f.adminID)
					}
				} else if me.User != nil {
					t.Errorf("me.user for %s = %+v; want null (not in the directory)", role, me.User)
				}
			}
			var out struct {
				Me struct{ Tenant struct{ ID string } }
			}
			a.mustDo(f.admin, `{ me { tenant { id } } }`, nil, &out)
			if out.Me.Tenant.ID != f.tenantID {
				t.Errorf("me.tenant for the Global admin = %q; want %s", out.Me.Tenant.ID, f.tenantID)
			}
			checkError(t, a.do("", `{ me { subject } }`, nil), license.EUNAUTHENTICATED, "token")
		})
	})
}

// TestAUserCantNameItself: a USER claiming for itself may not give the
// directory a principal or display name (it could take another's); an app may.
func TestAUserCantNameItself(t *testing.T) {
	ta := newTestAPI(t, redistest.Mini(t))
	f := ta.newFixture("names")
	ta.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"tenantId": "names", "name": "PA", "appId": "POWER_AUTOMATE",
			"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"]}}}}, nil)
	ta.mustDo(f.admin, `mutation { setAutoClaimEnabled(tenantId: "names", enabled: true) { id } }`, nil, nil)
	claim := `mutation($u: ID!) { claimLicense(input: {tenantId: "names", userId: $u, appId: "POWER_AUTOMATE", trigger: SIGN_IN, displayName: "Adele Vance"}) { outcome } }`
	before := ta.snapshot(f.admin, "names")
	if r := ta.do(ta.token("mallory", "names", auth.User), claim, map[string]any{"u": "mallory"}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a user naming itself: %q %+v; want FORBIDDEN", r.Code(), r.Errors)
	}
	if after := ta.snapshot(f.admin, "names"); after != before {
		t.Fatal("a refused claim changed the tenant")
	}
	if r := ta.do(ta.token("flow", "names", auth.App), claim, map[string]any{"u": "adele-2"}); len(r.Errors) > 0 {
		t.Fatalf("an app naming a new user: %+v", r.Errors)
	}
}
