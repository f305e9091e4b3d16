package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// TestErrorsNameTheirField checks that a refused argument's error says in
// extensions.field which argument it is about, by its path in the request
// ("input." for an input object), that every invalid argument of a request
// is reported at once, and that the refused request changed nothing.
func TestErrorsNameTheirField(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newFixture("fields")
		flows := ta.mustPolicy(f, "POWER_AUTOMATE", f.products["FLOW_PER_USER"], f.products["POWERAUTOMATE_ATTENDED_RPA"])
		ghost := "00000000-0000-4000-8000-000000000000"
		app := ta.token("apps", f.tenantID, auth.App)
		claim := `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { outcome } }`
		ta.mustDo(f.admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": f.tenantID}, nil)
		ta.mustDo(app, claim, map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userId": "alex", "appId": "POWER_AUTOMATE",
			"trigger": "TRIGGER_PREMIUM_FLOW", "idempotencyKey": "k-1"}}, nil)
		for _, c := range []struct {
			name   string
			token  string
			query  string
			vars   map[string]any
			fields map[string]string // extensions.field -> code
		}{
			{"createAutoClaimPolicy with two bad plans of one product", f.admin,
				`mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "name": "Flows", "appId": "POWER_AUTOMATE",
					"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"], "disabledServicePlanIds": []any{planUnknown, planFlowPerUser}}}}},
				map[string]string{"input.products[0].disabledServicePlanIds[0]": "BAD_USER_INPUT", "input.products[0].disabledServicePlanIds[1]": "BAD_USER_INPUT"}},
			{"createAutoClaimPolicy for an unknown app with an unknown product", f.admin,
				`mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "name": "Flows", "appId": "NO_SUCH_APP",
					"products": []any{map[string]any{"productId": ghost}}}},
				map[string]string{"input.appId": "NOT_FOUND", "input.products[0].productId": "NOT_FOUND"}},
			{"createAutoClaimPolicy for an unknown app with a plan the product lacks", f.admin,
				`mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "name": "Flows", "appId": "NO_SUCH_APP",
					"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"], "disabledServicePlanIds": []any{"zzz"}}}}},
				map[string]string{"input.appId": "NOT_FOUND", "input.products[0].disabledServicePlanIds[0]": "BAD_USER_INPUT"}},
			{"addBackupProduct of a product that can't serve the app, with a plan it lacks", f.admin,
				`mutation($p: ID!, $x: ID!) { addBackupProduct(policyId: $p, productId: $x, disabledServicePlanIds: ["nope"]) { id } }`,
				map[string]any{"p": flows, "x": f.products["POWERAPPS_PER_USER"]},
				map[string]string{"productId": "BAD_USER_INPUT", "disabledServicePlanIds[0]": "BAD_USER_INPUT"}},
			{"renameAutoClaimPolicy of no such policy", f.admin,
				`mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: "x") { id } }`,
				map[string]any{"p": f.tenantID + ":policy:99"}, map[string]string{"policyId": "NOT_FOUND"}},
			{"renameAutoClaimPolicy of another tenant's policy", f.admin,
				`mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: "x") { id } }`,
				map[string]any{"p": "elsewhere:policy:1"}, map[string]string{"policyId": "NOT_FOUND"}},
			{"updateAutoClaimPolicySettings of no such policy", f.admin, settingsMutation,
				map[string]any{"in": map[string]any{"policyId": f.tenantID + ":policy:99", "waitlistEnabled": true}}, map[string]string{"input.policyId": "NOT_FOUND"}},
			{"updateAutoClaimPolicySettings of no such policy with a period and a version out of bounds", f.admin, settingsMutation,
				map[string]any{"in": map[string]any{"policyId": f.tenantID + ":policy:99", "reclaimInactiveAfterDays": 3, "expectedVersion": 0}},
				map[string]string{"input.policyId": "NOT_FOUND", "input.reclaimInactiveAfterDays": "BAD_USER_INPUT", "input.expectedVersion": "BAD_USER_INPUT"}},
			{"updateAutoClaimPolicySettings of another tenant's policy", f.admin, settingsMutation,
				map[string]any{"in": map[string]any{"policyId": "elsewhere:policy:1", "waitlistEnabled": true}}, map[string]string{"input.policyId": "NOT_FOUND"}},
			{"setLicenseQuantity of no such product below zero", f.admin,
				`mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: -1) { id } }`,
				map[string]any{"p": f.tenantID + ":product:99"}, map[string]string{"quantity": "BAD_USER_INPUT", "productId": "NOT_FOUND"}},
			{"setLowLicenseThreshold of no such product below zero", f.admin,
				`mutation($p: ID!) { setLowLicenseThreshold(productId: $p, threshold: -3) { id } }`,
				map[string]any{"p": f.tenantID + ":product:98"}, map[string]string{"threshold": "BAD_USER_INPUT", "productId": "NOT_FOUND"}},
			{"renameAutoClaimPolicy of no such policy with a blank name", f.admin,
				`mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: "  ") { id } }`,
				map[string]any{"p": f.tenantID + ":policy:99"}, map[string]string{"name": "BAD_USER_INPUT", "policyId": "NOT_FOUND"}},
			{"removeFromWaitlist of no such policy with an empty user id", f.admin,
				`mutation($p: ID!) { removeFromWaitlist(policyId: $p, userId: "") { id } }`,
				map[string]any{"p": f.tenantID + ":policy:99"}, map[string]string{"userId": "BAD_USER_INPUT", "policyId": "NOT_FOUND"}},
			{"reclaimInactiveLicenses of no such policy for 3 days", f.admin,
				`mutation($p: ID!) { reclaimInactiveLicenses(policyId: $p, days: 3) }`,
				map[string]any{"p": f.tenantID + ":policy:99"}, map[string]string{"days": "BAD_USER_INPUT", "policyId": "NOT_FOUND"}},
			{"removeFromWaitlist of a user not waiting", f.admin,
				`mutation($p: ID!) { removeFromWaitlist(policyId: $p, userId: "nobody") { id } }`,
				map[string]any{"p": flows}, map[string]string{"userId": "NOT_FOUND"}},
			{"removeLicense of a license the user doesn't hold", f.admin,
				`mutation($p: ID!) { removeLicense(userId: "alex", productId: $p) { id } }`,
				map[string]any{"p": f.products["POWERAPPS_PER_USER"]}, map[string]string{"productId": "NOT_FOUND"}},
			{"approveLicenseRequest of no such request", f.admin,
				`mutation($r: ID!) { approveLicenseRequest(requestId: $r) { id } }`,
				map[string]any{"r": f.tenantID + ":request:999"}, map[string]string{"requestId": "NOT_FOUND"}},
			{"setLicenseQuantity of no such product", f.admin,
				`mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 3) { id } }`,
				map[string]any{"p": f.tenantID + ":product:99"}, map[string]string{"productId": "NOT_FOUND"}},
			{"setPolicyServicePlans for all products with a required plan and an unknown one", f.admin,
				`mutation($p: ID!, $off: [ID!]!) { setPolicyServicePlans(policyId: $p, productId: null, disabledServicePlanIds: $off) { id } }`,
				map[string]any{"p": flows, "off": []any{planFlowPerUser, planUnknown}},
				map[string]string{"disabledServicePlanIds[0]": "BAD_USER_INPUT", "disabledServicePlanIds[1]": "BAD_USER_INPUT"}},
			{"addBackupProduct already in the policy with a bad plan", f.admin,
				`mutation($p: ID!, $x: ID!) { addBackupProduct(policyId: $p, productId: $x, disabledServicePlanIds: ["nope"]) { id } }`,
				map[string]any{"p": flows, "x": f.products["FLOW_PER_USER"]},
				map[string]string{"productId": "BAD_USER_INPUT", "disabledServicePlanIds[0]": "BAD_USER_INPUT"}},
			{"claimedUsers with a bad page size and a bad cursor", f.admin,
				`query($t: ID!) { tenant(id: $t) { autoClaimReport { policies { claimedUsers(first: -1, after: "abc") { totalCount } } } } }`,
				map[string]any{"t": f.tenantID}, map[string]string{"first": "BAD_USER_INPUT", "after": "BAD_USER_INPUT"}},
			{"auditLog since a time that is not one", f.admin,
				`query($t: ID!) { tenant(id: $t) { auditLog(since: "yesterday") { totalCount } } }`,
				map[string]any{"t": f.tenantID}, map[string]string{"since": "BAD_USER_INPUT"}},
			{"auditLog since a variable that is not a time", f.admin,
				`query($t: ID!, $s: Time) { tenant(id: $t) { auditLog(since: $s) { totalCount } } }`,
				map[string]any{"t": f.tenantID, "s": "12345"}, map[string]string{"since": "BAD_USER_INPUT"}},
			{"setLicenseQuantity over GraphQL's 32-bit Int", f.admin,
				`mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 4294967306) { id } }`,
				map[string]any{"p": f.products["FLOW_PER_USER"]}, map[string]string{"quantity": "BAD_USER_INPUT"}},
			{"a report of 2^31 days, as a variable", f.admin,
				`query($t: ID!, $d: Int) { tenant(id: $t) { autoClaimReport(days: $d) { days } } }`,
				map[string]any{"t": f.tenantID, "d": 2147483648}, map[string]string{"days": "BAD_USER_INPUT"}},
			{"licenseRequests with a status in lower case, as a variable", f.admin,
				`query($t: ID!, $s: LicenseRequestStatus) { tenant(id: $t) { licenseRequests(status: $s) { totalCount } } }`,
				map[string]any{"t": f.tenantID, "s": "pending"}, map[string]string{"status": "BAD_USER_INPUT"}},
			{"denyLicenseRequest of no such request with a line break in its message", f.admin,
				`mutation($r: ID!) { denyLicenseRequest(requestId: $r, message: "a\nb") { id } }`,
				map[string]any{"r": f.tenantID + ":request:999"}, map[string]string{"message": "BAD_USER_INPUT", "requestId": "NOT_FOUND"}},
			{"denyLicenseRequest with a blank message", f.admin,
				`mutation($r: ID!) { denyLicenseRequest(requestId: $r, message: "   ") { id } }`,
				map[string]any{"r": f.tenantID + ":request:1"}, map[string]string{"message": "BAD_USER_INPUT", "requestId": "NOT_FOUND"}},
			{"a report of \"8\" days, a string as a variable", f.admin,
				`query($t: ID!, $d: Int) { tenant(id: $t) { autoClaimReport(days: $d) { days } } }`,
				map[string]any{"t": f.tenantID, "d": "8"}, map[string]string{"days": "BAD_USER_INPUT"}},
			{"createUser with an empty id", f.admin,
				`mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "id": "", "userPrincipalName": "eve@fields.example", "displayName": "Eve"}},
				map[string]string{"input.id": "BAD_USER_INPUT"}},
			{"claimLicense with an empty idempotency key", app, claim,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userId": "megan", "appId": "POWER_AUTOMATE",
					"trigger": "TRIGGER_PREMIUM_FLOW", "idempotencyKey": ""}},
				map[string]string{"input.idempotencyKey": "BAD_USER_INPUT"}},
			{"claimLicense with an empty idempotency key, a bad user id and a trigger the app lacks", app, claim,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userId": "bad id", "appId": "POWER_AUTOMATE",
					"trigger": "LAUNCH_PREMIUM_APP", "idempotencyKey": ""}},
				map[string]string{"input.idempotencyKey": "BAD_USER_INPUT", "input.userId": "BAD_USER_INPUT", "input.trigger": "BAD_USER_INPUT"}},
			{"claimLicense with a key used for another claim", app, claim,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userId": "megan", "appId": "POWER_AUTOMATE",
					"trigger": "TRIGGER_PREMIUM_FLOW", "idempotencyKey": "k-1"}},
				map[string]string{"input.idempotencyKey": "BAD_USER_INPUT"}},
			{"createAutoClaimPolicy with an empty name and an unknown backup", f.admin,
				`mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "name": " ", "appId": "POWER_AUTOMATE",
					"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"]}, map[string]any{"productId": ghost}}}},
				map[string]string{"input.name": "BAD_USER_INPUT", "input.products[1].productId": "NOT_FOUND"}},
			{"createAutoClaimPolicy with a plan the product lacks", f.admin,
				`mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "name": "Flows", "appId": "POWER_AUTOMATE",
					"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"], "disabledServicePlanIds": []any{"no-such-plan"}}}}},
				map[string]string{"input.products[0].disabledServicePlanIds[0]": "BAD_USER_INPUT"}},
			{"renameAutoClaimPolicy with a line break", f.admin,
				`mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: "a\nb") { id } }`,
				map[string]any{"p": flows}, map[string]string{"name": "BAD_USER_INPUT"}},
			{"addProduct of an unknown SKU and a negative quantity", f.admin,
				`mutation($in: AddProductInput!) { addProduct(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "skuPartNumber": "NO_SUCH_SKU", "quantity": -1}},
				map[string]string{"input.skuPartNumber": "BAD_USER_INPUT", "input.quantity": "BAD_USER_INPUT"}},
			{"setLicenseQuantity below zero", f.admin,
				`mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: -5) { id } }`,
				map[string]any{"p": f.products["FLOW_PER_USER"]}, map[string]string{"quantity": "BAD_USER_INPUT"}},
			{"setTenantPolicyLimit of zero", ta.operator(),
				`mutation($t: ID!) { setTenantPolicyLimit(tenantId: $t, limit: 0) { id } }`,
				map[string]any{"t": f.tenantID}, map[string]string{"limit": "BAD_USER_INPUT"}},
			{"addBackupProduct already in the policy", f.admin,
				`mutation($p: ID!, $x: ID!) { addBackupProduct(policyId: $p, productId: $x) { id } }`,
				map[string]any{"p": flows, "x": f.products["FLOW_PER_USER"]}, map[string]string{"productId": "BAD_USER_INPUT"}},
			{"movePolicyProduct of a product outside the policy", f.admin,
				`mutation($p: ID!, $x: ID!) { movePolicyProduct(policyId: $p, productId: $x, direction: DOWN) { id } }`,
				map[string]any{"p": flows, "x": f.products["POWERAPPS_PER_USER"]}, map[string]string{"productId": "NOT_FOUND"}},
			{"setPolicyProductOrder naming a product twice", f.admin,
				`mutation($p: ID!, $x: ID!) { setPolicyProductOrder(policyId: $p, productIds: [$x, $x]) { id } }`,
				map[string]any{"p": flows, "x": f.products["FLOW_PER_USER"]}, map[string]string{"productIds[1]": "BAD_USER_INPUT"}},
			{"createUser with a bad principal name", f.admin,
				`mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userPrincipalName": "no at sign", "displayName": "Nobody"}},
				map[string]string{"input.userPrincipalName": "BAD_USER_INPUT"}},
			{"claimLicense with a bad user id and a bad idempotency key", app, claim,
				map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userId": "bad user", "appId": "POWER_APPS",
					"trigger": "LAUNCH_PREMIUM_APP", "idempotencyKey": strings.Repeat("k", 129)}},
				map[string]string{"input.userId": "BAD_USER_INPUT", "input.idempotencyKey": "BAD_USER_INPUT"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				ta := ta.on(t)
				before := ta.snapshot(ta.operator(), f.tenantID)
				r := ta.do(c.token, c.query, c.vars)
				got := fieldsOf(t, r)
				for field, code := range c.fields {
					if got[field] != code {
						t.Errorf("extensions.field %q: code %q; want %q (errors %+v)", field, got[field], code, r.Errors)
					}
				}
				if len(got) != len(c.fields) {
					t.Errorf("errors name fields %v; want exactly %v", slices.Sorted(mapKeys(got)), slices.Sorted(mapKeys(c.fields)))
				}
				if after := ta.snapshot(ta.operator(), f.tenantID); after != before {
					t.Errorf("the refused request changed the tenant:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	})
}

// fieldsOf maps each error's extensions.field to its code, failing the test
// for an error without a field or a message.
func fieldsOf(t *testing.T, r gqltest.Response) map[string]string {
	t.Helper()
	if len(r.Errors) == 0 {
		t.Fatalf("got no error, data %s", r.Data)
	}
	out := map[string]string{}
	for _, e := range r.Errors {
		field, _ := e.Extensions["field"].(string)
		code, _ := e.Extensions["code"].(string)
		if field == "" || strings.TrimSpace(e.Message) == "" {
			t.Fatalf("error %+v names no field or has no message", e)
		}
		out[field] = code
	}
	return out
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestMutationsAfterAFailureDoNotRun: in a request of several mutations,
// those after one that failed are not run (NOT_RUN), so that the null an
// error makes of data never hides a change.
func TestMutationsAfterAFailureDoNotRun(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newFixture("serial")
		product := f.products["FLOW_PER_USER"]
		before := ta.snapshot(ta.operator(), f.tenantID)
		audited := len(ta.auditLog(f.admin, f.tenantID, nil).Tenant.AuditLog.Nodes)
		r := ta.do(f.admin, `mutation($p: ID!) {
			a: setLicenseQuantity(productId: $p, quantity: -1) { totalLicenses }
			b: setLicenseQuantity(productId: $p, quantity: 11) { totalLicenses }
			c: setAutoClaimEnabled(tenantId: "serial", enabled: true) { id } }`, map[string]any{"p": product})
		var codes []string
		for _, e := range r.Errors {
			codes = append(codes, fmt.Sprint(e.Path, ":", e.Extensions["code"]))
		}
		if want := []string{"[a]:BAD_USER_INPUT", "[b]:NOT_RUN", "[c]:NOT_RUN"}; !slices.Equal(codes, want) {
			t.Fatalf("errors %v (%+v); want %v", codes, r.Errors, want)
		}
		if after := ta.snapshot(ta.operator(), f.tenantID); after != before {
			t.Fatalf("a mutation after the failed one changed the tenant:\nbefore %s\nafter  %s", before, after)
		}
		if n := len(ta.auditLog(f.admin, f.tenantID, nil).Tenant.AuditLog.Nodes); n != audited {
			t.Fatalf("%d audit entries after the request; want the %d before it", n, audited)
		}
	})
}

// TestPagesAndLookups: a null first is the default page of 50, and an id
// of another kind read as a policy is a policy that was not found.
func TestPagesAndLookups(t *testing.T) {
	ta := newTestAPI(t, redistest.Mini(t))
	f := ta.newFixture("pages")
	for i := range 60 {
		ta.mustUser(f, fmt.Sprintf("user-%02d", i))
	}
	var out struct {
		Tenant struct {
			Users struct {
				Nodes    []struct{ ID string }
				PageInfo struct{ HasNextPage bool }
			}
		}
	}
	ta.mustDo(f.admin, `{ tenant(id: "pages") { users(first: null) { nodes { id } pageInfo { hasNextPage } } } }`, nil, &out)
	if n := len(out.Tenant.Users.Nodes); n != 50 || !out.Tenant.Users.PageInfo.HasNextPage {
		t.Errorf("users(first: null): %d users, hasNextPage %v; want 50 and true", n, out.Tenant.Users.PageInfo.HasNextPage)
	}
	r := ta.do(f.admin, `{ tenant(id: "pages") { policy(id: "zz") { id } } }`, nil)
	checkError(t, r, "NOT_FOUND", "Policy", `"zz"`)
	r = ta.do(f.admin, `{ tenant(id: "pages") { policy(id: "pages:product:1") { id } } }`, nil)
	checkError(t, r, "NOT_FOUND", "Policy")
}

// TestMutationsThatChangeNothingWriteNothing: a mutation that asks for what
// is already so answers as usual but bumps no version and writes no event
// and no audit entry.
func TestMutationsThatChangeNothingWriteNothing(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newFixture("noop")
		flow, rpa := f.products["FLOW_PER_USER"], f.products["POWERAUTOMATE_ATTENDED_RPA"]
		policy := ta.mustPolicy(f, "POWER_AUTOMATE", flow, rpa)
		ta.mustDo(f.admin, `mutation($p: ID!, $x: ID!) { setPolicyServicePlans(policyId: $p, productId: $x, disabledServicePlanIds: ["`+planFlowCDS+`"]) { id } }`,
			map[string]any{"p": policy, "x": flow}, nil)
		ta.mustDo(f.admin, `mutation($x: ID!) { setLowLicenseThreshold(productId: $x, threshold: 2) { id } }`, map[string]any{"x": flow}, nil)
		state := func() string {
			var out struct {
				Tenant struct {
					Policy   struct{ Version int }
					AuditLog struct{ TotalCount int }
				}
			}
			ta.mustDo(f.admin, `query($p: ID!) { tenant(id: "noop") { policy(id: $p) { version } auditLog { totalCount } } }`, map[string]any{"p": policy}, &out)
			n, err := b.Client.XLen(t.Context(), b.Prefix+"{t:noop}:events").Result()
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("version %d, %d audit entries, %d events, tenant %s", out.Tenant.Policy.Version, out.Tenant.AuditLog.TotalCount, n,
				ta.snapshot(ta.operator(), "noop"))
		}
		for _, c := range []struct {
			name, token, query string
			vars               map[string]any
		}{
			{"rename to its name", f.admin, `mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: " Policy for POWER_AUTOMATE ") { name } }`, map[string]any{"p": policy}},
			{"turn on the policy that is on", f.admin, `mutation($p: ID!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: true) { id } }`, map[string]any{"p": policy}},
			{"the same order", f.admin, `mutation($p: ID!, $o: [ID!]!) { setPolicyProductOrder(policyId: $p, productIds: $o) { id } }`, map[string]any{"p": policy, "o": []any{flow, rpa}}},
			{"the same plans", f.admin, `mutation($p: ID!, $x: ID!) { setPolicyServicePlans(policyId: $p, productId: $x, disabledServicePlanIds: ["` + strings.ToUpper(planFlowCDS) + `"]) { id } }`, map[string]any{"p": policy, "x": flow}},
			{"the same settings", f.admin, `mutation($p: ID!) { updateAutoClaimPolicySettings(input: {policyId: $p, waitlistEnabled: false, reclaimInactiveAfterDays: null}) { id } }`, map[string]any{"p": policy}},
			{"the same quantity", f.admin, `mutation($x: ID!) { setLicenseQuantity(productId: $x, quantity: 5) { id } }`, map[string]any{"x": flow}},
			{"the same threshold", f.admin, `mutation($x: ID!) { setLowLicenseThreshold(productId: $x, threshold: 2) { id } }`, map[string]any{"x": flow}},
			{"turn off the org setting that is off", f.admin, `mutation { setAutoClaimEnabled(tenantId: "noop", enabled: false) { id } }`, nil},
			{"the same policy limit", ta.operator(), `mutation { setTenantPolicyLimit(tenantId: "noop", limit: 1) { id } }`, nil},
		} {
			before := state()
			ta.mustDo(c.token, c.query, c.vars, nil)
			if after := state(); after != before {
				t.Errorf("%s changed something:\nbefore %s\nafter  %s", c.name, before, after)
			}
		}
	})
}

// TestRefusedCreationsTakeNoNumber: a refused createAutoClaimPolicy or
// addProduct leaves the next id as it was.
func TestRefusedCreationsTakeNoNumber(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newBareFixture("ids")
		add := `mutation($s: String!) { addProduct(input: {tenantId: "ids", skuPartNumber: $s, quantity: 5}) { id } }`
		var product struct{ AddProduct struct{ ID string } }
		ta.mustDo(f.admin, add, map[string]any{"s": skuFlow}, &product)
		for range 3 {
			checkError(t, ta.do(f.admin, add, map[string]any{"s": skuFlow}), license.ECONFLICT, "already has")
		}
		ta.mustDo(f.admin, add, map[string]any{"s": skuRPA}, &product)
		if product.AddProduct.ID != "ids:product:2" {
			t.Errorf("the product after three refused: %s; want ids:product:2", product.AddProduct.ID)
		}
		create := `mutation($a: ID!, $p: ID!) { createAutoClaimPolicy(input: {tenantId: "ids", name: "P", appId: $a, products: [{productId: $p}]}) { id } }`
		var policy struct{ CreateAutoClaimPolicy struct{ ID string } }
		ta.mustDo(f.admin, create, map[string]any{"a": "POWER_AUTOMATE", "p": "ids:product:1"}, &policy)
		for range 3 {
			checkError(t, ta.do(f.admin, create, map[string]any{"a": "POWER_AUTOMATE", "p": "ids:product:1"}), license.ECONFLICT)
		}
		ta.mustDo(ta.operator(), `mutation { setTenantPolicyLimit(tenantId: "ids", limit: 2) { id } }`, nil, nil)
		ta.mustDo(f.admin, `mutation { addProduct(input: {tenantId: "ids", skuPartNumber: "POWERAPPS_PER_USER", quantity: 5}) { id } }`, nil, nil)
		ta.mustDo(f.admin, create, map[string]any{"a": "POWER_APPS", "p": "ids:product:3"}, &policy)
		if policy.CreateAutoClaimPolicy.ID != "ids:policy:2" {
			t.Errorf("the policy after three refused: %s; want ids:policy:2", policy.CreateAutoClaimPolicy.ID)
		}
	})
}

// TestConcurrentCreationsTakeDistinctNumbers: products added at once each
// get their own number, with no gap and no refusal.
func TestConcurrentCreationsTakeDistinctNumbers(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newBareFixture("race")
		skus := []string{skuFlow, skuRPA, skuApps}
		ids := make([]string, len(skus))
		var wg sync.WaitGroup
		for i, sku := range skus {
			wg.Go(func() {
				r := ta.do(f.admin, `mutation($s: String!) { addProduct(input: {tenantId: "race", skuPartNumber: $s, quantity: 1}) { id } }`, map[string]any{"s": sku})
				var out struct{ AddProduct idView }
				if len(r.Errors) == 0 && json.Unmarshal(r.Data, &out) == nil {
					ids[i] = out.AddProduct.ID
				}
			})
		}
		wg.Wait()
		slices.Sort(ids)
		if want := []string{"race:product:1", "race:product:2", "race:product:3"}; !slices.Equal(ids, want) {
			t.Fatalf("ids %v; want %v", ids, want)
		}
	})
}

// TestWholeNumbersWithAFractionOrExponent: a JSON number that is a whole
// number written 7.0 or 1e1 is that Int; 7.5, a string
// of digits and a number over GraphQL's Int are refused.
func TestWholeNumbersWithAFractionOrExponent(t *testing.T) {
	ta := newTestAPI(t, redistest.Mini(t))
	f := ta.newFixture("numbers")
	send := func(vars string) gqltest.Response {
		t.Helper()
		const q = `mutation($p: ID!, $n: Int!) { setLicenseQuantity(productId: $p, quantity: $n) { totalLicenses } }`
		vars = strings.Replace(vars, "P", f.products["FLOW_PER_USER"], 1)
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query": `+strconv.Quote(q)+`, "variables": `+vars+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+f.admin)
		rec := httptest.NewRecorder()
		ta.handler.ServeHTTP(rec, req)
		return gqltest.Decode(t, rec.Code, bytes.NewReader(rec.Body.Bytes()))
	}
	for _, c := range []struct {
		vars string
		want int // 0: refused
	}{
		{`{"p": "P", "n": 7.0}`, 7},
		{`{"p": "P", "n": 1e1}`, 10},
		{`{"p": "P", "n": 120E-1}`, 12},
		{`{"p": "P", "n": 7.5}`, 0},
		{`{"p": "P", "n": "8"}`, 0},
		{`{"p": "P", "n": 3e9}`, 0},
	} {
		if r := send(c.vars); c.want != 0 {
			var out struct{ SetLicenseQuantity struct{ TotalLicenses int } }
			if len(r.Errors) > 0 || json.Unmarshal(r.Data, &out) != nil || out.SetLicenseQuantity.TotalLicenses != c.want {
				t.Errorf("%s: %s %+v; want quantity %d", c.vars, r.Data, r.Errors, c.want)
			}
		} else if len(r.Errors) == 0 {
			t.Errorf("%s: %s; want it refused", c.vars, r.Data)
		}
	}
}
