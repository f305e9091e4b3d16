package api_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
)

// What a claim answer may select, in full (GLOBAL_ADMIN) and as an app may
// read it (APP: no pool counts, no policy contents, no other user's record).
const (
	answerProductFields = `id skuId skuPartNumber displayName totalLicenses assignedLicenses availableLicenses
		servicePlans { id name displayName } apps { id displayName triggers } triggers createdAt`
	appProductFields   = `id skuId skuPartNumber displayName servicePlans { id name displayName } apps { id displayName triggers } triggers createdAt`
	answerPolicyFields = `id name app { id displayName triggers } status enabled autoCreated
		products { position isPrimary product { id } enabledServicePlans { id } disabledServicePlans { id name displayName } availableLicenses }
		primaryProduct { id } availableLicenses claimedLicenses version createdAt updatedAt`
	appPolicyFields  = `id name app { id displayName triggers } status enabled autoCreated version createdAt updatedAt`
	answerUserFields = `id userPrincipalName displayName createdAt licenses { product { id } policy { id } source assignedAt }`
	answerAppFields  = `id displayName triggers`
	planExchangeID   = "113feb6c-3fe4-4440-bddc-54d774bf0318" // EXCHANGE_S_FOUNDATION, in every SKU
	eventIDPattern   = `^[0-9]+-[0-9]+$`
	timestampPattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T`
)

// answerSelection is a claim answer's every field, as a caller of either kind may select it.
func answerSelection(full bool) string {
	product, policy := appProductFields, appPolicyFields
	event := `id policyId userId app { ` + answerAppFields + ` } productId trigger outcome reason at availableAfter`
	if full {
		product, policy = answerProductFields, answerPolicyFields
		event = `id policyId policy { ` + policy + ` } userId user { ` + answerUserFields + ` } app { ` + answerAppFields + ` }
			productId product { ` + product + ` } trigger outcome reason at availableAfter`
	}
	return `outcome reason replayed product { ` + product + ` }
		license { product { ` + product + ` } policy { ` + policy + ` } source disabledServicePlans { id name displayName } assignedAt }
		event { ` + event + ` }`
}

// claimAnswerTest claims through the real handler and builds, from reads of
// the tenant as its Global admin, the answer each claim must give.
type claimAnswerTest struct {
	t      *testing.T
	ta     *testAPI
	f      *fixture
	policy string // the Power Automate policy: FLOW_PER_USER, Exchange left off
}

// answer claims as token and returns the answer, decoded from JSON.
func (c *claimAnswerTest) answer(token string, full bool, in map[string]any) map[string]any {
	c.t.Helper()
	in["tenantId"] = c.f.tenantID
	var out struct{ ClaimLicense map[string]any }
	c.ta.mustDo(token, `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { `+answerSelection(full)+` } }`,
		map[string]any{"in": in}, &out)
	return out.ClaimLicense
}

// read returns a field of the tenant (product, policy or user) by id, with
// a selection, as the Global admin reads it.
func (c *claimAnswerTest) read(field, id, selection string) any {
	c.t.Helper()
	var out struct{ Tenant map[string]any }
	c.ta.mustDo(c.f.admin, `query($t: ID!, $id: ID!) { tenant(id: $t) { `+field+`(id: $id) { `+selection+` } } }`,
		map[string]any{"t": c.f.tenantID, "id": id}, &out)
	if out.Tenant[field] == nil {
		c.t.Fatalf("the tenant has no %s %q", field, id)
	}
	return out.Tenant[field]
}

// app returns a catalog app as the answers select it.
func (c *claimAnswerTest) app(id string) any {
	c.t.Helper()
	var out struct {
		Catalog struct{ Apps []map[string]any }
	}
	c.ta.mustDo(c.f.admin, `{ catalog { apps { `+answerAppFields+` } } }`, nil, &out)
	for _, a := range out.Catalog.Apps {
		if a["id"] == id {
			return a
		}
	}
	c.t.Fatalf("no app %s in the catalog", id)
	return nil
}

// want describes an answer: what was decided, and the objects it names.
type want struct {
	outcome, reason    string // reason "" for none
	replayed           bool
	user, app, trigger string
	product, policy    string // ids, "" for none
	license            map[string]any
	availableAfter     int
	noEvent            bool // the decision appended no event (ALREADY_LICENSED)
	unrecorded         bool // the user is not in the directory (denied, never claimed)
}

// expect builds the answer got must equal: every object it names as the
// Global admin reads it now, with the fields selected. The event's id and
// time, which no read can foretell, are checked for their form and taken
// from got; so is the license's assignedAt (checked against the event's time
// on a license claimed now, by the caller). An answer that appended no event
// has none.
func (c *claimAnswerTest) expect(got map[string]any, w want, full bool) map[string]any {
	c.t.Helper()
	productFields, policyFields := appProductFields, appPolicyFields
	if full {
		productFields, policyFields = answerProductFields, answerPolicyFields
	}
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	answer := map[string]any{"outcome": w.outcome, "reason": nullable(w.reason), "replayed": w.replayed,
		"product": nil, "license": nil, "event": nil}
	if w.product != "" {
		answer["product"] = c.read("product", w.product, productFields)
		answer["license"] = w.license
	}
	if w.noEvent {
		return answer
	}
	gotEvent, _ := got["event"].(map[string]any)
	for field, pattern := range map[string]string{"id": eventIDPattern, "at": timestampPattern} {
		if v, _ := gotEvent[field].(string); !regexp.MustCompile(pattern).MatchString(v) {
			c.t.Fatalf("event %s = %q; want it to match %s", field, v, pattern)
		}
	}
	event := map[string]any{
		"id": gotEvent["id"], "policyId": nullable(w.policy), "userId": w.user, "app": c.app(w.app),
		"productId": nullable(w.product), "trigger": w.trigger, "outcome": w.outcome, "reason": nullable(w.reason),
		"at": gotEvent["at"], "availableAfter": float64(w.availableAfter),
	}
	answer["event"] = event
	if full {
		event["user"] = nil
		if !w.unrecorded {
			event["user"] = c.read("user", w.user, answerUserFields)
		}
		event["policy"], event["product"] = nil, nil
		if w.policy != "" {
			event["policy"] = c.read("policy", w.policy, policyFields)
		}
		if w.product != "" {
			event["product"] = answer["product"]
		}
	}
	return answer
}

// claimedLicense is the license a claim under the policy gives: the
// product, the policy, Exchange left off, assigned when got's event happened.
func (c *claimAnswerTest) claimedLicense(got map[string]any, full bool) map[string]any {
	c.t.Helper()
	productFields, policyFields := appProductFields, appPolicyFields
	if full {
		productFields, policyFields = answerProductFields, answerPolicyFields
	}
	var plans struct {
		Catalog struct {
			Products []struct {
				SkuPartNumber string
				ServicePlans  []map[string]any
			}
		}
	}
	c.ta.mustDo(c.f.admin, `{ catalog { products { skuPartNumber servicePlans { id name displayName } } } }`, nil, &plans)
	var off []any
	for _, p := range plans.Catalog.Products {
		for _, sp := range p.ServicePlans {
			if p.SkuPartNumber == "FLOW_PER_USER" && sp["id"] == planExchangeID {
				off = append(off, sp)
			}
		}
	}
	event, _ := got["event"].(map[string]any)
	return map[string]any{
		"product": c.read("product", c.f.products["FLOW_PER_USER"], productFields),
		"policy":  c.read("policy", c.policy, policyFields), "source": "AUTO_CLAIM",
		"disabledServicePlans": off, "assignedAt": event["at"],
	}
}

func (c *claimAnswerTest) check(name string, got, want map[string]any) {
	c.t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		c.t.Fatalf("%s answered\n%s\nwant\n%s", name, g, w)
	}
}

// TestClaimAnswerHoldsEveryField selects every field of a claim answer, its
// product, license and event, through the handler, on answers CLAIMED (and
// its replay), ALREADY_LICENSED and DENIED (with a policy and without):
// as a Global admin, every field; as an app, those an app may read. Each
// value is the one a read of the tenant gives.
func TestClaimAnswerHoldsEveryField(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newFixture("answers")
		var created struct{ CreateAutoClaimPolicy struct{ ID string } }
		ta.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"tenantId": f.tenantID, "name": "Flows", "appId": "POWER_AUTOMATE",
				"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"], "disabledServicePlanIds": []any{planExchangeID}}}}}, &created)
		ta.mustDo(f.admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": f.tenantID}, nil)
		c := &claimAnswerTest{t: t, ta: ta, f: f, policy: created.CreateAutoClaimPolicy.ID}
		app := ta.token("app", f.tenantID, "APP")
		flow := f.products["FLOW_PER_USER"]

		for _, caller := range []struct {
			name  string
			token string
			full  bool
			user  string
			left  int // licenses of FLOW_PER_USER left once the caller's user claimed one
		}{{"GlobalAdmin", f.admin, true, "megan", 4}, {"App", app, false, "alex", 3}} {
			t.Run(caller.name, func(t *testing.T) {
				c.t = t
				claim := map[string]any{"userId": caller.user, "appId": "POWER_AUTOMATE", "trigger": "TRIGGER_PREMIUM_FLOW",
					"idempotencyKey": "first-" + caller.user, "userPrincipalName": caller.user + "@answers.example", "displayName": "User " + caller.user}
				got := c.answer(caller.token, caller.full, claim)
				claimed := c.claimedLicense(got, caller.full)
				w := want{outcome: "CLAIMED", user: caller.user, app: "POWER_AUTOMATE", trigger: "TRIGGER_PREMIUM_FLOW",
					product: flow, policy: c.policy, license: claimed, availableAfter: caller.left}
				c.check("CLAIMED", got, c.expect(got, w, caller.full))
				if product, _ := got["product"].(map[string]any); caller.full && (product["totalLicenses"] != 5.0 ||
					product["assignedLicenses"] != float64(5-caller.left) || product["availableLicenses"] != float64(caller.left)) {
					t.Fatalf("claimed product counts %v; want 5 total, %d available", product, caller.left)
				}
				first := got["event"]

				replay := c.answer(caller.token, caller.full, claim)
				w.replayed = true
				c.check("the replay", replay, c.expect(replay, w, caller.full))
				if !reflect.DeepEqual(replay["event"], first) {
					t.Fatalf("the replay's event %v; want the first answer's %v", replay["event"], first)
				}

				again := c.answer(caller.token, caller.full, map[string]any{"userId": caller.user, "appId": "POWER_AUTOMATE", "trigger": "SAVE_PREMIUM_FLOW"})
				held := want{outcome: "ALREADY_LICENSED", user: caller.user, app: "POWER_AUTOMATE", trigger: "SAVE_PREMIUM_FLOW",
					product: flow, policy: c.policy, license: claimed, noEvent: true}
				c.check("ALREADY_LICENSED", again, c.expect(again, held, caller.full))

				rpa := c.answer(caller.token, caller.full, map[string]any{"userId": caller.user, "appId": "POWER_AUTOMATE", "trigger": "TRIGGER_PREMIUM_FLOW_ATTENDED_RPA"})
				c.check("DENIED under the policy", rpa, c.expect(rpa, want{outcome: "DENIED", reason: "TRIGGER_NOT_ELIGIBLE", user: caller.user,
					app: "POWER_AUTOMATE", trigger: "TRIGGER_PREMIUM_FLOW_ATTENDED_RPA", policy: c.policy, availableAfter: caller.left}, caller.full))

				apps := c.answer(caller.token, caller.full, map[string]any{"userId": caller.user + "-apps", "appId": "POWER_APPS", "trigger": "SIGN_IN"})
				c.check("DENIED without a policy", apps, c.expect(apps, want{outcome: "DENIED", reason: "NO_POLICY", user: caller.user + "-apps",
					app: "POWER_APPS", trigger: "SIGN_IN", unrecorded: true}, caller.full))
			})
		}
	})
}
