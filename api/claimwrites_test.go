package api_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/redistest"
)

// claimsFixture is a tenant with a Power Automate policy (FLOW_PER_USER,
// 5 licenses) and the org setting on, and an APP token.
type claimsFixture struct {
	*fixture
	ta     *testAPI
	policy string
	app    string // APP token
}

func newClaimsFixture(t *testing.T, ta *testAPI, tenantID string) *claimsFixture {
	t.Helper()
	f := ta.newFixture(tenantID)
	var created struct{ CreateAutoClaimPolicy struct{ ID string } }
	ta.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"tenantId": tenantID, "name": "Flows", "appId": "POWER_AUTOMATE",
			"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"]}}}}, &created)
	ta.mustDo(f.admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": tenantID}, nil)
	return &claimsFixture{fixture: f, ta: ta, policy: created.CreateAutoClaimPolicy.ID, app: ta.token("flow-app", tenantID, auth.App)}
}

// claimAnswer is what the tests read of a claim's answer.
type claimAnswer struct {
	Outcome  string
	Reason   *string
	Replayed bool
	Product  *struct {
		ID               string
		AssignedLicenses int
	}
	License *struct{ Source, AssignedAt string }
	Event   *struct{ ID string }
}

// claimMutation selects what an app may read of a claim's answer; the
// Global admin's claims read the product's counts too.
const (
	claimMutation = `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) {
	outcome reason replayed product { id } license { source assignedAt } event { id } } }`
	adminClaimMutation = `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) {
	outcome reason replayed product { id assignedLicenses } license { source assignedAt } event { id } } }`
)

// claim claims as token for user, with trigger and an idempotency key ("" for none).
func (c *claimsFixture) claim(token, user, app, trigger, key string) claimAnswer {
	c.ta.t.Helper()
	in := map[string]any{"tenantId": c.tenantID, "userId": user, "appId": app, "trigger": trigger}
	if key != "" {
		in["idempotencyKey"] = key
	}
	mutation := claimMutation
	if token == c.admin {
		mutation = adminClaimMutation
	}
	var out struct{ ClaimLicense claimAnswer }
	c.ta.mustDo(token, mutation, map[string]any{"in": in}, &out)
	return out.ClaimLicense
}

func (c *claimsFixture) events(t *testing.T, b *redistest.Backend) int64 {
	t.Helper()
	n, err := b.Client.XLen(t.Context(), b.Prefix+"{t:"+c.tenantID+"}:events").Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLicensedUserWithTheSwitchesOff: with the policy off, and then the org
// setting off as well, a user who holds a license is ALREADY_LICENSED;
// one who holds none is denied.
func TestLicensedUserWithTheSwitchesOff(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		c := newClaimsFixture(t, ta, "switches")
		if got := c.claim(c.app, "alex", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", ""); got.Outcome != "CLAIMED" {
			t.Fatalf("first claim %+v; want CLAIMED", got)
		}
		ta.mustDo(c.admin, `mutation($p: ID!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: false) { id } }`, map[string]any{"p": c.policy}, nil)
		steps := []struct{ name, off, reason string }{
			{"PolicyOff", "", "POLICY_DISABLED"},
			{"OrgSettingOff", `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: false) { id } }`, "AUTO_CLAIM_DISABLED"},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				if st.off != "" {
					ta.mustDo(c.admin, st.off, map[string]any{"t": c.tenantID}, nil)
				}
				got := c.claim(c.app, "alex", "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW", "")
				if got.Outcome != "ALREADY_LICENSED" || got.Reason != nil || got.Product == nil || got.Product.ID != c.products["FLOW_PER_USER"] ||
					got.License == nil || got.License.Source != "AUTO_CLAIM" || got.Event != nil {
					t.Fatalf("licensed user: %+v; want ALREADY_LICENSED with the license and no event", got)
				}
				denied := c.claim(c.app, "megan", "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW", "")
				if denied.Outcome != "DENIED" || denied.Reason == nil || *denied.Reason != st.reason {
					t.Fatalf("user without a license: %+v; want DENIED %s", denied, st.reason)
				}
			})
		}
	})
}

// TestReclaimsGrowNothing: 10,000 re-claims by licensed users leave the
// event stream as long as it was and Redis's memory within 1 byte per call.
func TestReclaimsGrowNothing(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		c := newClaimsFixture(t, ta, "reclaims")
		users := []string{"u1", "u2", "u3", "u4", "u5"}
		for _, u := range users {
			if got := c.claim(c.app, u, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", ""); got.Outcome != "CLAIMED" {
				t.Fatalf("claim for %s: %+v; want CLAIMED", u, got)
			}
		}
		events, before := c.events(t, b), b.Measure(t)
		const calls, workers = 10_000, 8
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < calls; i += workers {
					key := ""
					if i%2 == 0 {
						key = fmt.Sprintf("launch-%d", i)
					}
					if got := c.claim(c.app, users[i%len(users)], "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW", key); got.Outcome != "ALREADY_LICENSED" {
						t.Errorf("re-claim %d: %+v; want ALREADY_LICENSED", i, got)
						return
					}
				}
			}()
		}
		wg.Wait()
		after := b.Measure(t)
		if got := c.events(t, b); got != events {
			t.Fatalf("events: %d before %d re-claims, %d after; want no change", events, calls, got)
		}
		if grew := after.Bytes - before.Bytes; grew > calls/1000 || after.Keys != before.Keys {
			t.Fatalf("%d re-claims: keys %d -> %d, bytes held %d -> %d; want at most 1 byte per call", calls, before.Keys, after.Keys, before.Bytes, after.Bytes)
		}
		if grew := after.Memory - before.Memory; grew > calls {
			t.Fatalf("%d re-claims: Redis memory of the keys %d -> %d; want at most 1 byte per call", calls, before.Memory, after.Memory)
		}
	})
}

// TestDenialsOfAnUnknownUser: 50 denials of a user the tenant has not seen
// append at most one event and record no one; the report counts all 50,
// per reason and per day.
func TestDenialsOfAnUnknownUser(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		c := newClaimsFixture(t, ta, "turnedaway")
		ta.mustDo(c.admin, `mutation($p: ID!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: false) { id } }`, map[string]any{"p": c.policy}, nil)
		events := c.events(t, b)
		const stranger = "5f1c9e2a-7b44-4d1e-9a0c-3e8f2b6d1a77"
		for i := range 50 {
			got := c.claim(c.app, stranger, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", fmt.Sprintf("try-%d", i))
			if got.Outcome != "DENIED" || got.Reason == nil || *got.Reason != "POLICY_DISABLED" || (i > 0 && got.Event != nil) {
				t.Fatalf("denial %d: %+v; want DENIED POLICY_DISABLED, an event the first time only", i, got)
			}
		}
		ta.mustDo(c.admin, `mutation($p: ID!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: true) { id } }`, map[string]any{"p": c.policy}, nil)
		for range 3 {
			c.claim(c.app, stranger, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW_ATTENDED_RPA", "") // FLOW_PER_USER doesn't cover RPA
		}
		if got := c.events(t, b) - events; got != 3 { // turning the policy on, and one denial of each reason
			t.Fatalf("53 denials and turning the policy on appended %d events; want 3", got)
		}
		if r := ta.do(c.admin, `query($t: ID!, $u: ID!) { tenant(id: $t) { user(id: $u) { id } } }`,
			map[string]any{"t": c.tenantID, "u": stranger}); r.Code() != "NOT_FOUND" || string(r.Data) != `{"tenant":{"user":null}}` {
			t.Fatalf("user(%s) = %s (%q); want null, NOT_FOUND", stranger, r.Data, r.Code())
		}
		var out struct {
			Tenant struct {
				Users  struct{ TotalCount int }
				Report struct {
					Denials []struct {
						Reason string
						Count  int
					}
					Policies []struct {
						Denials []struct {
							Reason string
							Count  int
						}
						Daily []struct {
							Date           string
							Claims, Denied int
						}
					}
				}
			}
		}
		ta.mustDo(c.admin, `query($t: ID!) { tenant(id: $t) { users { totalCount }
			report: autoClaimReport(days: 7) { denials { reason count } policies { denials { reason count } daily { date claims denied } } } } }`,
			map[string]any{"t": c.tenantID}, &out)
		if out.Tenant.Users.TotalCount != 1 {
			t.Fatalf("%d users; want only the admin", out.Tenant.Users.TotalCount)
		}
		want := `[{POLICY_DISABLED 50} {TRIGGER_NOT_ELIGIBLE 3}]`
		pr := out.Tenant.Report.Policies[0]
		if got := fmt.Sprint(pr.Denials); got != want {
			t.Fatalf("PolicyReport.denials = %s; want %s", got, want)
		}
		if got := fmt.Sprint(out.Tenant.Report.Denials); got != want {
			t.Fatalf("AutoClaimReport.denials = %s; want %s", got, want)
		}
		today := time.Now().UTC().Format(time.DateOnly)
		for _, d := range pr.Daily {
			if wantDenied := map[bool]int{true: 53}[d.Date == today]; d.Denied != wantDenied || d.Claims != 0 {
				t.Fatalf("DailyClaims %+v; want %d denied and no claims", d, wantDenied)
			}
		}
	})
}

// TestOneKeyTwoCallers: two callers who send the same idempotency key make
// two claims, each replaying its own (the admin's with the counts it gave).
func TestOneKeyTwoCallers(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		c := newClaimsFixture(t, ta, "twocallers")
		megan := ta.token("megan", c.tenantID, auth.User)
		mine := c.claim(megan, "megan", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", "launch-1")
		apps := c.claim(c.admin, "alex", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", "launch-1")
		if mine.Outcome != "CLAIMED" || apps.Outcome != "CLAIMED" || mine.Replayed || apps.Replayed || mine.Event.ID == apps.Event.ID {
			t.Fatalf("megan's %+v and the app's %+v; want two claims", mine, apps)
		}
		for _, tc := range []struct {
			token, user string
			first       claimAnswer
		}{{megan, "megan", mine}, {c.admin, "alex", apps}} {
			c.claim(c.app, "diego-"+tc.user, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", "") // the pool moves on
			again := c.claim(tc.token, tc.user, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", "launch-1")
			if !again.Replayed || again.Event.ID != tc.first.Event.ID || again.Product.AssignedLicenses != tc.first.Product.AssignedLicenses ||
				again.License.AssignedAt != tc.first.License.AssignedAt {
				t.Fatalf("retry by %s: %+v; want %+v replayed, with the counts it gave", tc.user, again, tc.first)
			}
		}
	})
}

// TestAppBoundTokenForAnotherApp: an APP token bound to Power Automate
// can't claim for Power Apps (FORBIDDEN), and its refusal changes nothing.
func TestAppBoundTokenForAnotherApp(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		c := newClaimsFixture(t, ta, "bound")
		tok, err := auth.Issue(ta.secret, auth.Caller{Subject: "flow-app", TenantID: c.tenantID, Roles: []auth.Role{auth.App}, App: "POWER_AUTOMATE"}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		before, events := ta.snapshot(c.admin, c.tenantID), c.events(t, b)
		r := ta.do(tok, claimMutation, map[string]any{"in": map[string]any{"tenantId": c.tenantID, "userId": "alex",
			"appId": "POWER_APPS", "trigger": "LAUNCH_PREMIUM_APP"}})
		if r.Code() != "FORBIDDEN" {
			t.Fatalf("code %q (%s); want FORBIDDEN", r.Code(), r.Data)
		}
		if after := ta.snapshot(c.admin, c.tenantID); after != before || c.events(t, b) != events {
			t.Fatalf("a refused claim changed the tenant:\n%s\n%s", before, after)
		}
		if got := c.claim(tok, "alex", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", ""); got.Outcome != "CLAIMED" {
			t.Fatalf("its own app: %+v; want CLAIMED", got)
		}
	})
}
