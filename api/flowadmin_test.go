package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/api"
	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// TestUpdateAutoClaimPolicySettings: each setting changes alone (those left
// out keep their value, a null reclaim period turns reclaiming off), the
// version grows with every change, and a change refused (a stale version, a
// period out of bounds) changes nothing; the audit log has each field
// before and after.
func TestUpdateAutoClaimPolicySettings(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newFixture("settings")
		p := ta.mustPolicy(f, "POWER_AUTOMATE", f.products[skuFlow])
		type policy struct {
			ID                        string
			Version                   int
			WaitlistEnabled           bool
			ReclaimInactiveAfterDays  *int
			ReleaseSupersededLicenses bool
		}
		days := func(n int) *int { return &n }
		steps := []struct {
			name string
			in   map[string]any
			code string // "" when the change is made
			want policy
		}{
			{"WaitlistOn", map[string]any{"waitlistEnabled": true}, "", policy{Version: 2, WaitlistEnabled: true}},
			{"ReclaimPeriod", map[string]any{"reclaimInactiveAfterDays": 30}, "", policy{Version: 3, WaitlistEnabled: true, ReclaimInactiveAfterDays: days(30)}},
			{"ExpectedVersion", map[string]any{"reclaimInactiveAfterDays": 7, "expectedVersion": 3}, "", policy{Version: 4, WaitlistEnabled: true, ReclaimInactiveAfterDays: days(7)}},
			{"StaleVersion", map[string]any{"waitlistEnabled": false, "expectedVersion": 3}, license.ECONFLICT, policy{}},
			{"PeriodTooShort", map[string]any{"reclaimInactiveAfterDays": 6}, license.EINVALID, policy{}},
			{"PeriodTooLong", map[string]any{"reclaimInactiveAfterDays": 366}, license.EINVALID, policy{}},
			{"LongestPeriod", map[string]any{"reclaimInactiveAfterDays": 365, "waitlistEnabled": false}, "", policy{Version: 5, ReclaimInactiveAfterDays: days(365)}},
			{"NullPeriodTurnsReclaimOff", map[string]any{"reclaimInactiveAfterDays": nil}, "", policy{Version: 6}},
			{"NothingToChange", map[string]any{}, "", policy{Version: 6}}, // no version for no change
			{"ReleaseSupersededOn", map[string]any{"releaseSupersededLicenses": true}, "", policy{Version: 7, ReleaseSupersededLicenses: true}},
			{"ReleaseSupersededStaysOn", map[string]any{"releaseSupersededLicenses": true, "waitlistEnabled": nil}, "", policy{Version: 7, ReleaseSupersededLicenses: true}},
			{"ReleaseSupersededStale", map[string]any{"releaseSupersededLicenses": false, "expectedVersion": 6}, license.ECONFLICT, policy{}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				a := ta.on(t)
				st.in["policyId"] = p
				before := a.snapshot(f.admin, f.tenantID)
				r := a.do(f.admin, settingsMutation, map[string]any{"in": st.in})
				if st.code != "" {
					checkError(t, r, st.code)
					if after := a.snapshot(f.admin, f.tenantID); after != before {
						t.Fatalf("a refused change changed the tenant:\n%s\n%s", before, after)
					}
					return
				}
				if len(r.Errors) > 0 {
					t.Fatalf("errors: %+v", r.Errors)
				}
				var out struct{ UpdateAutoClaimPolicySettings policy }
				if err := json.Unmarshal(r.Data, &out); err != nil {
					t.Fatal(err)
				}
				st.want.ID = p
				if got := out.UpdateAutoClaimPolicySettings; got.ID != st.want.ID || got.Version != st.want.Version ||
					got.WaitlistEnabled != st.want.WaitlistEnabled || got.ReleaseSupersededLicenses != st.want.ReleaseSupersededLicenses || fmtDays(got.ReclaimInactiveAfterDays) != fmtDays(st.want.ReclaimInactiveAfterDays) {
					t.Fatalf("policy %+v (period %s); want %+v (period %s)", got, fmtDays(got.ReclaimInactiveAfterDays), st.want, fmtDays(st.want.ReclaimInactiveAfterDays))
				}
			})
		}
		var log struct {
			Tenant struct {
				AuditLog struct {
					Nodes []struct {
						Actor   struct{ Subject string }
						Changes []struct {
							Field         string
							Before, After *string
						}
					}
				}
			}
		}
		ta.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { auditLog(first: 10, action: "updateAutoClaimPolicySettings") {
			nodes { actor { subject } changes { field before after } } } } }`, map[string]any{"t": f.tenantID}, &log)
		var got []string
		for _, n := range log.Tenant.AuditLog.Nodes {
			if n.Actor.Subject != f.adminID {
				t.Errorf("audit entry by %q; want the admin %q", n.Actor.Subject, f.adminID)
			}
			for _, c := range n.Changes {
				got = append(got, c.Field+":"+text(c.Before)+">"+text(c.After))
			}
		}
		want := []string{"releaseSupersededLicenses:false>true", "reclaimInactiveAfterDays:365>-", "waitlistEnabled:true>false", "reclaimInactiveAfterDays:7>365",
			"reclaimInactiveAfterDays:30>7", "reclaimInactiveAfterDays:->30", "waitlistEnabled:false>true"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("audit log, newest first:\n%v\nwant\n%v", got, want)
		}
	})
}

func fmtDays(d *int) string {
	if d == nil {
		return "null"
	}
	b, _ := json.Marshal(*d)
	return string(b)
}

func text(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// TestReclaimThroughTheHandler: the dry run lists the licenses claimed
// under the policy and unused that long, with their holders and last use;
// the reclaim releases exactly those (never a license assigned directly),
// each with a LICENSE_RECLAIMED policy event, and the report and the
// metrics count them, as they count waitlist fills.
func TestReclaimThroughTheHandler(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		metrics := api.NewMetrics()
		sf := newSubscriptionFixtureOn(t, newTestAPIOn(t, b.Client, b.Prefix, license.BuiltinCatalog(), func(d *api.Deps) { d.Metrics = metrics }), "reclaim")
		ta, f := sf.ta, sf.f
		ta.store.OnFlow = metrics.Flowed
		clock := ta.useTestClock(b)
		for sku, n := range map[string]int{skuFlow: 3, skuRPA: 0} {
			ta.mustDo(f.admin, `mutation($p: ID!, $n: Int!) { setLicenseQuantity(productId: $p, quantity: $n) { id } }`,
				map[string]any{"p": f.products[sku], "n": n}, nil)
		}
		c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		c.Init(sf.reader)
		c.Subscribe("1", `subscription($t: ID!) { policyEvents(tenantId: $t, after: "0-0") { kind userId policyId productId actor { subject } } }`,
			map[string]any{"t": f.tenantID})
		for _, u := range []string{"u1", "u2"} {
			sf.claim(t, u, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW")
		}
		ta.mustUser(f, "direct")
		ta.mustAssign("direct", f.products[skuFlow])
		ta.setSettings(f.admin, map[string]any{"policyId": sf.policy, "waitlistEnabled": true})
		if got := ta.claimAs(sf.app, f.tenantID, "waiter", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW"); got.Outcome != "QUEUED" {
			t.Fatalf("waiter: %+v; want QUEUED", got)
		}
		clock.advance(31 * 24 * time.Hour)
		// The waiter waited too long by now; another comes.
		if got := ta.claimAs(sf.app, f.tenantID, "waiter2", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW"); got.Outcome != "QUEUED" || *got.WaitlistPosition != 1 {
			t.Fatalf("waiter2: %+v; want QUEUED first", got)
		}

		var dry struct {
			Tenant struct {
				Policy struct {
					InactiveLicenses struct {
						TotalCount int
						Nodes      []struct {
							UserID     string
							User       struct{ ID string }
							Source     string
							LastUsedAt time.Time
							Product    struct{ ID string }
						}
						Edges    []struct{ Cursor string }
						PageInfo struct{ HasNextPage bool }
					}
				}
			}
		}
		ta.mustDo(f.admin, `query($t: ID!, $p: ID!) { tenant(id: $t) { policy(id: $p) { inactiveLicenses(days: 30, first: 1) {
			totalCount nodes { userId user { id } source lastUsedAt product { id } } edges { cursor } pageInfo { hasNextPage } } } } }`,
			map[string]any{"t": f.tenantID, "p": sf.policy}, &dry)
		il := dry.Tenant.Policy.InactiveLicenses
		if il.TotalCount != 2 || len(il.Nodes) != 1 || !il.PageInfo.HasNextPage || il.Nodes[0].Source != "AUTO_CLAIM" ||
			il.Nodes[0].User.ID != il.Nodes[0].UserID || il.Nodes[0].Product.ID != f.products[skuFlow] || len(il.Edges) != 1 {
			t.Fatalf("dry run = %+v; want 2 licenses, the first on a page of one", il)
		}
		checkError(t, ta.do(f.admin, `mutation($p: ID!) { reclaimInactiveLicenses(policyId: $p, days: 400) }`, map[string]any{"p": sf.policy}), license.EINVALID, "days")
		var out struct{ ReclaimInactiveLicenses int }
		ta.mustDo(f.admin, `mutation($p: ID!) { reclaimInactiveLicenses(policyId: $p, days: 30) }`, map[string]any{"p": sf.policy}, &out)
		if out.ReclaimInactiveLicenses != 2 {
			t.Fatalf("reclaimed %d; want 2", out.ReclaimInactiveLicenses)
		}
		var held struct {
			Tenant struct {
				Direct, Waiter2 struct{ Licenses []struct{ Source string } }
				Product         struct{ AssignedLicenses int }
			}
		}
		ta.mustDo(f.admin, `query($t: ID!, $p: ID!) { tenant(id: $t) { direct: user(id: "direct") { licenses { source } }
			waiter2: user(id: "waiter2") { licenses { source } } product(id: $p) { assignedLicenses } } }`,
			map[string]any{"t": f.tenantID, "p": f.products[skuFlow]}, &held)
		if len(held.Tenant.Direct.Licenses) != 1 || len(held.Tenant.Waiter2.Licenses) != 1 || held.Tenant.Product.AssignedLicenses != 2 {
			t.Fatalf("after the reclaim: %+v; want the direct license kept, the waiter given one, 2 assigned", held.Tenant)
		}

		reclaimed := 0
		for reclaimed < 2 {
			ev := c.NextEvent("policyEvents")
			if ev["kind"] != "LICENSE_RECLAIMED" {
				continue
			}
			reclaimed++
			if ev["policyId"] != sf.policy || ev["productId"] != f.products[skuFlow] || ev["actor"].(map[string]any)["subject"] != f.adminID {
				t.Fatalf("LICENSE_RECLAIMED event %v; want the policy, the product and the admin", ev)
			}
		}
		var rep struct {
			Tenant struct {
				AutoClaimReport struct {
					Policies []struct {
						Claims, WaitlistFills, Reclaimed int
						Daily                            []struct {
							Date                     string
							WaitlistFills, Reclaimed int
						}
					}
				}
			}
		}
		ta.mustDo(sf.reader, `query($t: ID!) { tenant(id: $t) { autoClaimReport(days: 1) { policies { claims waitlistFills reclaimed daily { date waitlistFills reclaimed } } } } }`,
			map[string]any{"t": f.tenantID}, &rep)
		pr := rep.Tenant.AutoClaimReport.Policies[0]
		if pr.WaitlistFills != 1 || pr.Reclaimed != 2 || pr.Daily[0].WaitlistFills != 1 || pr.Daily[0].Reclaimed != 2 {
			t.Fatalf("report = %+v; want 1 waitlist fill and 2 reclaims today", pr)
		}
		body := scrape(t, metrics)
		for _, want := range []string{"autoclaim_waitlist_fills_total 1", "autoclaim_licenses_reclaimed_total 2", `autoclaim_claims_total{outcome="QUEUED",reason=""} 2`} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

// TestLowLicenseAlertsThroughTheHandler: a product runs low at its threshold;
// the change that takes it there sends one LOW_LICENSES policy event, with
// no actor; productsRunningLow lists it.
func TestLowLicenseAlertsThroughTheHandler(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "low")
		ta, f := sf.ta, sf.f
		flow := f.products[skuFlow] // 5 licenses
		c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		c.Init(sf.reader)
		c.Subscribe("1", `subscription($t: ID!) { policyEvents(tenantId: $t, after: "0-0") { kind productId lowLicenseThreshold totalLicenses assignedLicenses actor { subject } } }`,
			map[string]any{"t": f.tenantID})
		checkError(t, ta.do(f.admin, `mutation($p: ID!) { setLowLicenseThreshold(productId: $p, threshold: -1) { id } }`, map[string]any{"p": flow}), license.EINVALID, "threshold")
		var set struct {
			SetLowLicenseThreshold struct{ LowLicenseThreshold int }
		}
		ta.mustDo(f.admin, `mutation($p: ID!) { setLowLicenseThreshold(productId: $p, threshold: 2) { lowLicenseThreshold } }`, map[string]any{"p": flow}, &set)
		if set.SetLowLicenseThreshold.LowLicenseThreshold != 2 {
			t.Fatalf("threshold %d; want 2", set.SetLowLicenseThreshold.LowLicenseThreshold)
		}
		running := func() []string {
			var out struct {
				Tenant struct{ ProductsRunningLow []struct{ ID string } }
			}
			ta.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { productsRunningLow { id } } }`, map[string]any{"t": f.tenantID}, &out)
			var ids []string
			for _, p := range out.Tenant.ProductsRunningLow {
				ids = append(ids, p.ID)
			}
			return ids
		}
		for i, u := range []string{"u1", "u2", "u3", "u4"} {
			sf.claim(t, u, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW")
			if low := running(); (i >= 2) != (len(low) == 1) {
				t.Fatalf("after %d claims, running low: %v", i+1, low)
			}
		}
		var kinds []string
		for len(kinds) == 0 || kinds[len(kinds)-1] != "LOW_LICENSES" {
			ev := c.NextEvent("policyEvents")
			kinds = append(kinds, ev["kind"].(string))
			if ev["kind"] == "LOW_LICENSES" {
				if ev["productId"] != flow || ev["lowLicenseThreshold"] != float64(2) || ev["assignedLicenses"] != float64(3) || ev["actor"] != nil {
					t.Fatalf("LOW_LICENSES event %v; want %s at 2 available, threshold 2, no actor", ev, flow)
				}
			}
		}
		if kinds[len(kinds)-2] != "LOW_LICENSE_THRESHOLD_CHANGED" {
			t.Fatalf("policy events %v; want the threshold set before the alert", kinds)
		}
		// The fourth claim went below, but crossed nothing: a marker event
		// shows nothing else came first.
		ta.mustDo(f.admin, `mutation($p: ID!) { setLowLicenseThreshold(productId: $p, threshold: 1) { id } }`, map[string]any{"p": f.products[skuRPA]}, nil)
		if ev := c.NextEvent("policyEvents"); ev["kind"] != "LOW_LICENSE_THRESHOLD_CHANGED" || ev["productId"] != f.products[skuRPA] {
			t.Fatalf("after the alert: %v; want no second alert", ev)
		}
		// Pool counts are for those who read the tenant's pools.
		r := ta.do(ta.token("app", f.tenantID, auth.App), `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { product { lowLicenseThreshold } } }`,
			map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userId": "u1", "appId": "POWER_AUTOMATE", "trigger": "TRIGGER_PREMIUM_FLOW"}})
		checkError(t, r, license.EFORBIDDEN, "role")
	})
}

// TestReleaseSupersededThroughTheHandler: with the setting on, a claim of
// Premium by a holder of the per-user license answers the license it gave
// back in released (and its replay the same), the per-user pool gets it
// back, and policyEvents reports LICENSE_SUPERSEDED with no actor.
func TestReleaseSupersededThroughTheHandler(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixtureOn(t, newTestAPI(t, b), "released")
		ta, f := sf.ta, sf.f
		c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		c.Init(sf.reader)
		c.Subscribe("1", `subscription($t: ID!) { policyEvents(tenantId: $t, after: "0-0") { kind userId policyId productId assignedLicenses actor { subject } } }`,
			map[string]any{"t": f.tenantID})
		sf.claim(t, "holder", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW")
		ta.setSettings(f.admin, map[string]any{"policyId": sf.policy, "releaseSupersededLicenses": true})
		const claimReleasing = `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { outcome replayed product { id }
			released { userId source policy { id } product { id } } } }`
		type answer struct {
			ClaimLicense struct {
				Outcome  string
				Replayed bool
				Product  struct{ ID string }
				Released []struct {
					UserID, Source string
					Policy         struct{ ID string }
					Product        struct{ ID string }
				}
			}
		}
		in := map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userId": "holder", "appId": "POWER_AUTOMATE",
			"trigger": "TRIGGER_PREMIUM_FLOW_ATTENDED_RPA", "idempotencyKey": "rpa-1"}}
		for i, replay := range []bool{false, true} {
			var out answer
			ta.mustDo(sf.app, claimReleasing, in, &out)
			got := out.ClaimLicense
			if got.Outcome != "CLAIMED" || got.Replayed != replay || got.Product.ID != f.products[skuRPA] || len(got.Released) != 1 ||
				got.Released[0].UserID != "holder" || got.Released[0].Source != "AUTO_CLAIM" ||
				got.Released[0].Policy.ID != sf.policy || got.Released[0].Product.ID != f.products[skuFlow] {
				t.Fatalf("answer %d: %+v; want CLAIMED Premium (replayed %v) releasing the per-user license", i, got, replay)
			}
		}
		var other answer // a claim that supersedes nothing releases nothing
		ta.mustDo(sf.app, claimReleasing, map[string]any{"in": map[string]any{"tenantId": f.tenantID, "userId": "newcomer",
			"appId": "POWER_AUTOMATE", "trigger": "TRIGGER_PREMIUM_FLOW"}}, &other)
		if other.ClaimLicense.Outcome != "CLAIMED" || other.ClaimLicense.Released == nil || len(other.ClaimLicense.Released) != 0 {
			t.Fatalf("newcomer: %+v; want CLAIMED with released []", other.ClaimLicense)
		}
		var held struct {
			Tenant struct {
				User struct {
					Licenses []struct{ Product struct{ ID string } }
				}
				Product struct{ AssignedLicenses int }
			}
		}
		ta.mustDo(f.admin, `query($t: ID!, $p: ID!) { tenant(id: $t) { user(id: "holder") { licenses { product { id } } } product(id: $p) { assignedLicenses } } }`,
			map[string]any{"t": f.tenantID, "p": f.products[skuFlow]}, &held)
		if l := held.Tenant.User.Licenses; len(l) != 1 || l[0].Product.ID != f.products[skuRPA] || held.Tenant.Product.AssignedLicenses != 1 {
			t.Fatalf("after: %+v; want holder with Premium alone, the per-user pool at 1 (the newcomer's)", held.Tenant)
		}
		for {
			ev := c.NextEvent("policyEvents")
			if ev["kind"] != "LICENSE_SUPERSEDED" {
				continue
			}
			if ev["userId"] != "holder" || ev["policyId"] != sf.policy || ev["productId"] != f.products[skuFlow] ||
				ev["assignedLicenses"] != float64(0) || ev["actor"] != nil {
				t.Fatalf("LICENSE_SUPERSEDED event %v; want holder's per-user license, 0 assigned after, no actor", ev)
			}
			break
		}
	})
}
