package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

const (
	requestFields = `id userId policyId trigger requestedAt status decidedAt decidedBy { subject roles } message outcome reason
		license { product { id } source } app { id }`
	claimForRequest = `mutation($t: ID!, $u: ID!, $tr: ClaimTrigger!) { claimLicense(input: {tenantId: $t, userId: $u, appId: "POWER_AUTOMATE", trigger: $tr}) {
		outcome reason product { id } license { source } event { id outcome requestId } request { ` + requestFields + ` } } }`
	approveMutation = `mutation($r: ID!) { approveLicenseRequest(requestId: $r) { ` + requestFields + ` } }`
	denyMutation    = `mutation($r: ID!, $m: String) { denyLicenseRequest(requestId: $r, message: $m) { ` + requestFields + ` } }`
	tenantRequests  = `query($t: ID!, $s: LicenseRequestStatus, $first: Int, $after: String) { tenant(id: $t) { licenseRequests(status: $s, first: $first, after: $after) {
		totalCount nodes { ` + requestFields + ` user { id } policy { id } } edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }`
	tenantRequest = `query($t: ID!, $r: ID!) { tenant(id: $t) { licenseRequest(id: $r) { ` + requestFields + ` user { id } } } }`
	myRequests    = `query($s: LicenseRequestStatus) { me { licenseRequests(status: $s) { totalCount nodes { id userId status message } } } }`
)

// licenseRequest is what the tests read of a LicenseRequest.
type licenseRequest struct {
	ID, UserID, PolicyID, Trigger, Status string
	RequestedAt                           time.Time
	DecidedAt                             *time.Time
	DecidedBy                             *struct {
		Subject string
		Roles   []string
	}
	Message, Outcome, Reason *string
	License                  *struct {
		Product struct{ ID string }
		Source  string
	}
	App    struct{ ID string }
	User   *struct{ ID string }
	Policy *struct{ ID string }
}

// requestClaimAnswer is what the tests read of a claim's answer.
type requestClaimAnswer struct {
	Outcome string
	Reason  *string
	Product *struct{ ID string }
	License *struct{ Source string }
	Event   *struct {
		ID, Outcome string
		RequestID   *string
	}
	Request *licenseRequest
}

// requestClaim claims for user with the trigger, as token.
func (a *testAPI) requestClaim(token, tenantID, user, trigger string) requestClaimAnswer {
	a.t.Helper()
	var out struct{ ClaimLicense requestClaimAnswer }
	a.mustDo(token, claimForRequest, map[string]any{"t": tenantID, "u": user, "tr": trigger}, &out)
	return out.ClaimLicense
}

// mustPending claims for user and checks the answer is a pending request,
// which it returns.
func (a *testAPI) mustPending(token, tenantID, user, trigger string) *licenseRequest {
	a.t.Helper()
	c := a.requestClaim(token, tenantID, user, trigger)
	if c.Outcome != "PENDING_APPROVAL" || c.Request == nil || c.Request.Status != "PENDING" || c.Request.UserID != user ||
		c.Product != nil || c.License != nil {
		a.t.Fatalf("claim for %s = %+v; want PENDING_APPROVAL with a pending request", user, c)
	}
	return c.Request
}

// decide approves (message nil) or denies a request as token, and returns it.
func (a *testAPI) decide(token, requestID string, deny bool, message any) licenseRequest {
	a.t.Helper()
	var out struct{ ApproveLicenseRequest, DenyLicenseRequest licenseRequest }
	if deny {
		a.mustDo(token, denyMutation, map[string]any{"r": requestID, "m": message}, &out)
		return out.DenyLicenseRequest
	}
	a.mustDo(token, approveMutation, map[string]any{"r": requestID}, &out)
	return out.ApproveLicenseRequest
}

// requestPage is a page of Tenant.licenseRequests.
type requestPage struct {
	TotalCount int
	Nodes      []licenseRequest
	Edges      []struct {
		Cursor string
		Node   struct{ ID string }
	}
	PageInfo struct {
		HasNextPage bool
		EndCursor   *string
	}
}

// listRequests reads a page of a tenant's requests as token (status nil:
// all, after nil: from the oldest).
func (a *testAPI) listRequests(token, tenantID string, status any, first int, after any) requestPage {
	a.t.Helper()
	var out struct {
		Tenant struct{ LicenseRequests requestPage }
	}
	a.mustDo(token, tenantRequests, map[string]any{"t": tenantID, "s": status, "first": first, "after": after}, &out)
	return out.Tenant.LicenseRequests
}

// requestUsers lists the users of a page's requests, in order.
func (p requestPage) requestUsers() []string {
	var out []string
	for _, n := range p.Nodes {
		out = append(out, n.UserID)
	}
	return out
}

// mustRequest turns approval on for a new Power Automate policy of f's
// tenant (with the org setting on) and has user claim under it, straight
// through the store; it returns the pending request's id.
func (a *testAPI) mustRequest(f *fixture, user string) string {
	a.t.Helper()
	ctx := a.t.Context()
	p := a.mustPolicy(f, "POWER_AUTOMATE", f.products[skuFlow])
	if _, err := a.store.UpdatePolicy(ctx, p, func(p *license.Policy, _ license.SKULookup) error {
		return p.ApplySettings(license.PolicySettings{ApprovalRequired: license.Update[bool]{Set: true, Value: true}})
	}); err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.store.SetAutoClaimEnabled(ctx, f.tenantID, true); err != nil {
		a.t.Fatal(err)
	}
	res, err := a.store.Claim(ctx, license.ClaimRequest{TenantID: f.tenantID, UserID: user, AppID: "POWER_AUTOMATE", Trigger: license.TriggerSignIn})
	if err != nil || res.Outcome != license.PendingApproval {
		a.t.Fatalf("request for %s: %+v, %v", user, res, err)
	}
	return res.Request.ID
}

// TestApprovalThroughTheHandler: the whole approval flow as clients see
// it. The setting on (once: the same again changes nothing), claims make
// requests (asking again answers the same one, with no event), the queue
// reads oldest first a page at a time, an approval claims a license as a
// claim would, a denial keeps its message, a decided request is a
// conflict; the pools add up, the events and the audit log tell each step.
func TestApprovalThroughTheHandler(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "approvals")
		ta, f := sf.ta, sf.f
		licenseAdmin := ta.token("lena", f.tenantID, auth.LicenseAdmin)
		claims := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		claims.Init(sf.reader)
		claims.Subscribe("1", `subscription($t: ID!) { claimEvents(tenantId: $t, after: "0-0") { userId trigger outcome reason productId requestId request { id status } } }`,
			map[string]any{"t": f.tenantID})
		changes := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		changes.Init(sf.reader)
		changes.Subscribe("1", `subscription($t: ID!) { policyEvents(tenantId: $t, after: "0-0") { kind policyId userId requestId request { status outcome } actor { subject roles } } }`,
			map[string]any{"t": f.tenantID})

		// The setting, once; the same again writes nothing.
		var set struct {
			UpdateAutoClaimPolicySettings struct {
				Version          int
				ApprovalRequired bool
			}
		}
		for _, read := range []int{1, 2} {
			ta.mustDo(f.admin, `mutation($in: UpdateAutoClaimPolicySettingsInput!) { updateAutoClaimPolicySettings(input: $in) { version approvalRequired } }`,
				map[string]any{"in": map[string]any{"policyId": sf.policy, "approvalRequired": true, "expectedVersion": read}}, &set)
			if s := set.UpdateAutoClaimPolicySettings; s.Version != 2 || !s.ApprovalRequired {
				t.Fatalf("settings %+v; want approval required at version 2", s)
			}
		}

		// Claims make requests; asking again answers the same one and writes nothing.
		first := ta.mustPending(sf.app, f.tenantID, "u1", "TRIGGER_PREMIUM_FLOW")
		if first.ID != f.tenantID+":request:1" || first.PolicyID != sf.policy || first.Trigger != "TRIGGER_PREMIUM_FLOW" ||
			first.App.ID != "POWER_AUTOMATE" || first.DecidedAt != nil || first.DecidedBy != nil || first.Outcome != nil {
			t.Fatalf("first request %+v", first)
		}
		before := b.Snapshot(t)
		again := ta.requestClaim(sf.app, f.tenantID, "u1", "SAVE_PREMIUM_FLOW")
		if again.Outcome != "PENDING_APPROVAL" || again.Request.ID != first.ID || again.Request.Trigger != "TRIGGER_PREMIUM_FLOW" || again.Event != nil {
			t.Fatalf("asking again: %+v; want %s as it was made, no event", again, first.ID)
		}
		if after := b.Snapshot(t); !mapsEqual(before, after) {
			t.Fatal("asking again changed Redis")
		}
		second := ta.mustPending(sf.app, f.tenantID, "u2", "TRIGGER_PREMIUM_FLOW")
		third := ta.mustPending(sf.app, f.tenantID, "u3", "TRIGGER_PREMIUM_FLOW_ATTENDED_RPA")

		// The queue, oldest first, two to a page.
		page := ta.listRequests(sf.reader, f.tenantID, "PENDING", 2, nil)
		if got := page.requestUsers(); page.TotalCount != 3 || fmt.Sprint(got) != "[u1 u2]" || !page.PageInfo.HasNextPage ||
			page.Edges[1].Cursor != *page.PageInfo.EndCursor || page.Nodes[0].User.ID != "u1" || page.Nodes[0].Policy.ID != sf.policy {
			t.Fatalf("first page %+v; want u1, u2 of 3", page)
		}
		page = ta.listRequests(sf.reader, f.tenantID, "PENDING", 2, *page.PageInfo.EndCursor)
		if got := page.requestUsers(); fmt.Sprint(got) != "[u3]" || page.PageInfo.HasNextPage {
			t.Fatalf("second page %+v; want u3, last", page)
		}

		// An approval claims the first product in order.
		approved := ta.decide(licenseAdmin, first.ID, false, nil)
		if approved.Status != "APPROVED" || deref(approved.Outcome) != "CLAIMED" || approved.Reason != nil || approved.License == nil ||
			approved.License.Product.ID != f.products[skuFlow] || approved.License.Source != "AUTO_CLAIM" || approved.DecidedAt == nil ||
			approved.DecidedBy.Subject != "lena" || fmt.Sprint(approved.DecidedBy.Roles) != "[LICENSE_ADMIN]" {
			t.Fatalf("approved %+v", approved)
		}
		if c := ta.requestClaim(sf.app, f.tenantID, "u1", "TRIGGER_PREMIUM_FLOW"); c.Outcome != "ALREADY_LICENSED" || c.Request != nil {
			t.Fatalf("u1 after the approval: %+v; want ALREADY_LICENSED", c)
		}
		// A denial, with a message; bad messages change nothing.
		tooLong := strings.Repeat("é", license.MaxRequestMessageLength+1)
		for _, msg := range []string{"line\nbreak", tooLong, ""} {
			r := ta.do(f.admin, denyMutation, map[string]any{"r": second.ID, "m": msg})
			checkError(t, r, license.EINVALID, "message")
			if field := r.Errors[0].Extensions["field"]; field != "message" {
				t.Fatalf("a bad message: error on field %v; want message", field)
			}
		}
		if p := ta.listRequests(f.admin, f.tenantID, "PENDING", 10, nil); p.TotalCount != 2 {
			t.Fatalf("refused denials changed the queue: %+v", p)
		}
		denied := ta.decide(f.admin, second.ID, true, "Budget freeze until April")
		if denied.Status != "DENIED" || deref(denied.Message) != "Budget freeze until April" || denied.Outcome != nil || denied.License != nil ||
			denied.DecidedBy.Subject != f.adminID {
			t.Fatalf("denied %+v", denied)
		}
		// Decided: a conflict, on requestId, that changes nothing.
		before = b.Snapshot(t)
		for _, r := range []gqltest.Response{
			ta.do(f.admin, approveMutation, map[string]any{"r": first.ID}),
			ta.do(f.admin, denyMutation, map[string]any{"r": first.ID, "m": nil}),
			ta.do(f.admin, approveMutation, map[string]any{"r": second.ID}),
		} {
			checkError(t, r, license.ECONFLICT, "already", "pending")
			if field, _ := r.Errors[0].Extensions["field"].(string); field != "requestId" {
				t.Fatalf("conflict on field %q; want requestId", field)
			}
		}
		if after := b.Snapshot(t); !mapsEqual(before, after) {
			t.Fatal("a refused decision changed Redis")
		}
		// The RPA request: Premium is the one product that covers it.
		if got := ta.decide(f.admin, third.ID, false, nil); deref(got.Outcome) != "CLAIMED" || got.License.Product.ID != f.products[skuRPA] {
			t.Fatalf("third approved %+v; want a Premium license", got)
		}

		var pools struct {
			Tenant struct {
				Products []struct {
					ID                                  string
					AssignedLicenses, AvailableLicenses int
				}
				AutoClaimReport struct{ TotalClaims int }
			}
		}
		ta.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { products { id assignedLicenses availableLicenses } autoClaimReport(days: 1) { totalClaims } } }`,
			map[string]any{"t": f.tenantID}, &pools)
		for _, p := range pools.Tenant.Products {
			want := map[string]int{f.products[skuFlow]: 1, f.products[skuRPA]: 1}[p.ID]
			if p.AssignedLicenses != want {
				t.Errorf("product %s: %d assigned; want %d", p.ID, p.AssignedLicenses, want)
			}
		}
		if pools.Tenant.AutoClaimReport.TotalClaims != 2 {
			t.Errorf("the report counts %d claims; want the 2 approvals", pools.Tenant.AutoClaimReport.TotalClaims)
		}
		for status, want := range map[string][]string{"APPROVED": {"u1", "u3"}, "DENIED": {"u2"}, "PENDING": nil, "EXPIRED": nil} {
			if got := ta.listRequests(f.admin, f.tenantID, status, 10, nil).requestUsers(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s requests %v; want %v", status, got, want)
			}
		}
		if all := ta.listRequests(f.admin, f.tenantID, nil, 10, nil); all.TotalCount != 3 || fmt.Sprint(all.requestUsers()) != "[u1 u2 u3]" {
			t.Errorf("all requests %+v; want u1, u2, u3", all)
		}

		// The events: each request, then each approval's claim.
		var decisions []string
		for len(decisions) < 5 {
			ev := claims.NextEvent("claimEvents")
			decisions = append(decisions, fmt.Sprintf("%s:%s:%v", ev["userId"], ev["outcome"], ev["requestId"] != nil))
			if ev["outcome"] == "CLAIMED" && ev["userId"] == "u1" && (ev["trigger"] != "TRIGGER_PREMIUM_FLOW" || ev["productId"] != f.products[skuFlow] ||
				ev["requestId"] != first.ID || ev["request"].(map[string]any)["status"] != "APPROVED") {
				t.Fatalf("the approval's claim event %v", ev)
			}
		}
		if want := "[u1:PENDING_APPROVAL:true u2:PENDING_APPROVAL:true u3:PENDING_APPROVAL:true u1:CLAIMED:true u3:CLAIMED:true]"; fmt.Sprint(decisions) != want {
			t.Fatalf("claim events %v; want %s", decisions, want)
		}
		var kinds []string
		for len(kinds) < 4 {
			ev := changes.NextEvent("policyEvents")
			if len(kinds) == 0 && ev["kind"] != "POLICY_UPDATED" {
				continue // the fixture's changes
			}
			kinds = append(kinds, ev["kind"].(string))
			if ev["kind"] == "LICENSE_REQUEST_DENIED" && (ev["requestId"] != second.ID || ev["userId"] != "u2" || ev["policyId"] != sf.policy ||
				ev["actor"].(map[string]any)["subject"] != f.adminID || ev["request"].(map[string]any)["status"] != "DENIED") {
				t.Fatalf("LICENSE_REQUEST_DENIED %v", ev)
			}
		}
		if want := "[POLICY_UPDATED LICENSE_REQUEST_APPROVED LICENSE_REQUEST_DENIED LICENSE_REQUEST_APPROVED]"; fmt.Sprint(kinds) != want {
			t.Fatalf("policy events %v; want %s", kinds, want)
		}

		// The audit log: the setting and each decision, with its changes.
		var log struct {
			Tenant struct {
				AuditLog struct {
					Nodes []struct {
						Action    string
						TargetIDs []string
						Actor     struct{ Subject string }
						Changes   []struct {
							Field         string
							Before, After *string
						}
					}
				}
			}
		}
		ta.mustDo(f.admin, `query($t: ID!) { tenant(id: $t) { auditLog(first: 10) { nodes { action targetIds actor { subject } changes { field before after } } } } }`,
			map[string]any{"t": f.tenantID}, &log)
		var entries []string
		for _, n := range log.Tenant.AuditLog.Nodes {
			var cs []string
			for _, c := range n.Changes {
				cs = append(cs, c.Field+":"+text(c.Before)+">"+text(c.After))
			}
			entries = append(entries, n.Action+" "+n.Actor.Subject+" "+strings.Join(n.TargetIDs, ",")+" "+strings.Join(cs, " "))
		}
		want := []string{
			"approveLicenseRequest " + f.adminID + " " + third.ID + ",u3 status:PENDING>APPROVED outcome:->CLAIMED license[u3]:->" + f.products[skuRPA],
			"denyLicenseRequest " + f.adminID + " " + second.ID + ",u2 status:PENDING>DENIED message:->Budget freeze until April",
			"approveLicenseRequest lena " + first.ID + ",u1 status:PENDING>APPROVED outcome:->CLAIMED license[u1]:->" + f.products[skuFlow],
			"updateAutoClaimPolicySettings " + f.adminID + " " + sf.policy + " approvalRequired:false>true",
		}
		if len(entries) < len(want) || strings.Join(entries[:len(want)], "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit log, newest first:\n%s\nwant\n%s", strings.Join(entries, "\n"), strings.Join(want, "\n"))
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestApprovalWhenThePoolsAreEmpty: an approval that finds no license left
// queues the user with the request's trigger when the policy's waitlist is
// on, and denies it (NO_LICENSES_AVAILABLE, counted in the report)
// otherwise; the waitlist gives no one a license unapproved.
func TestApprovalWhenThePoolsAreEmpty(t *testing.T) {
	tests := []struct {
		name     string
		waitlist bool
		outcome  string
		reason   string
	}{
		{"WaitlistOn", true, "QUEUED", ""},
		{"WaitlistOff", false, "DENIED", "NO_LICENSES_AVAILABLE"},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := ta.on(t)
				sf := newSubscriptionFixtureOn(t, a, fmt.Sprintf("empty-%d", i))
				f := sf.f
				for _, sku := range []string{skuFlow, skuRPA} {
					a.mustDo(f.admin, `mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 0) { id } }`, map[string]any{"p": f.products[sku]}, nil)
				}
				a.setSettings(f.admin, map[string]any{"policyId": sf.policy, "approvalRequired": true, "waitlistEnabled": tt.waitlist})
				req := a.mustPending(sf.app, f.tenantID, "u1", "SAVE_PREMIUM_FLOW")
				if tt.waitlist {
					// Waiting would need an approval first: no one is queued yet.
					if got := a.waitlistOrder(f.admin, f.tenantID, sf.policy); len(got) != 0 {
						t.Fatalf("waitlist %v before the approval; want it empty", got)
					}
				}
				got := a.decide(f.admin, req.ID, false, nil)
				if got.Status != "APPROVED" || deref(got.Outcome) != tt.outcome || deref(got.Reason) != tt.reason || got.License != nil {
					t.Fatalf("approved %+v; want %s %q", got, tt.outcome, tt.reason)
				}
				var out struct {
					Tenant struct {
						Policy struct {
							Waitlist struct {
								Nodes []struct{ UserID, Trigger string }
							}
						}
						AutoClaimReport struct {
							Denials []struct {
								Reason string
								Count  int
							}
						}
					}
				}
				a.mustDo(f.admin, `query($t: ID!, $p: ID!) { tenant(id: $t) { policy(id: $p) { waitlist { nodes { userId trigger } } }
					autoClaimReport(days: 1) { denials { reason count } } } }`, map[string]any{"t": f.tenantID, "p": sf.policy}, &out)
				waiting := out.Tenant.Policy.Waitlist.Nodes
				if tt.waitlist != (len(waiting) == 1) || (tt.waitlist && (waiting[0].UserID != "u1" || waiting[0].Trigger != "SAVE_PREMIUM_FLOW")) {
					t.Fatalf("waitlist %+v; want u1 waiting with SAVE_PREMIUM_FLOW: %v", waiting, tt.waitlist)
				}
				denials := out.Tenant.AutoClaimReport.Denials
				if !tt.waitlist && (len(denials) != 1 || denials[0].Reason != "NO_LICENSES_AVAILABLE" || denials[0].Count != 1) {
					t.Fatalf("report denials %+v; want the approval's", denials)
				}
				if tt.waitlist {
					// Asking again: the user's place, not a new request.
					if c := a.requestClaim(sf.app, f.tenantID, "u1", "SAVE_PREMIUM_FLOW"); c.Outcome != "QUEUED" || c.Request != nil {
						t.Fatalf("u1 waiting, asking again: %+v; want QUEUED", c)
					}
					// A license freed goes to the user the approval queued.
					a.mustDo(f.admin, `mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 1) { id } }`, map[string]any{"p": f.products[skuFlow]}, nil)
					if c := a.requestClaim(sf.app, f.tenantID, "u1", "SAVE_PREMIUM_FLOW"); c.Outcome != "ALREADY_LICENSED" {
						t.Fatalf("u1 after a license was freed: %+v; want ALREADY_LICENSED", c)
					}
				}
			})
		}
	})
}

// TestLicenseRequestsExpire: with the store's clock moved 30 days on, a
// pending request reads EXPIRED at once (before the sweep), can't be
// decided, and the user's next claim makes a new request; the worker's
// sweep records it with a LICENSE_REQUEST_EXPIRED event.
func TestLicenseRequestsExpire(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "expiry")
		ta, f := sf.ta, sf.f
		clock := ta.useTestClock(b)
		ta.setSettings(f.admin, map[string]any{"policyId": sf.policy, "approvalRequired": true})
		old := ta.mustPending(sf.app, f.tenantID, "u1", "TRIGGER_PREMIUM_FLOW")
		clock.advance(license.RequestExpiry)

		page := ta.listRequests(f.admin, f.tenantID, "EXPIRED", 10, nil)
		if page.TotalCount != 1 || page.Nodes[0].ID != old.ID || page.Nodes[0].DecidedAt == nil ||
			!page.Nodes[0].DecidedAt.Equal(old.RequestedAt.Add(license.RequestExpiry)) || page.Nodes[0].DecidedBy != nil {
			t.Fatalf("expired requests before the sweep: %+v; want %s, expired at its 30 days", page, old.ID)
		}
		if p := ta.listRequests(f.admin, f.tenantID, "PENDING", 10, nil); p.TotalCount != 0 || len(p.Nodes) != 0 {
			t.Fatalf("pending requests: %+v; want none", p)
		}
		checkError(t, ta.do(f.admin, approveMutation, map[string]any{"r": old.ID}), license.ECONFLICT, "expired")
		renewed := ta.mustPending(sf.app, f.tenantID, "u1", "TRIGGER_PREMIUM_FLOW")
		if renewed.ID == old.ID {
			t.Fatalf("the claim after the expiry answered the expired request")
		}

		c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		c.Init(sf.reader)
		c.Subscribe("1", `subscription($t: ID!) { policyEvents(tenantId: $t, after: "0-0") { kind requestId userId actor { subject } } }`,
			map[string]any{"t": f.tenantID})
		if err := ta.store.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		for {
			ev := c.NextEvent("policyEvents")
			if ev["kind"] != "LICENSE_REQUEST_EXPIRED" {
				continue
			}
			if ev["requestId"] != old.ID || ev["userId"] != "u1" || ev["actor"] != nil {
				t.Fatalf("LICENSE_REQUEST_EXPIRED %v; want %s of u1, by no one", ev, old.ID)
			}
			break
		}
		var mine struct {
			Me struct {
				LicenseRequests struct {
					TotalCount int
					Nodes      []struct{ ID, Status string }
				}
			}
		}
		ta.mustDo(ta.token("u1", f.tenantID, auth.User), myRequests, nil, &mine)
		if got := mine.Me.LicenseRequests; got.TotalCount != 2 || got.Nodes[0].Status != "EXPIRED" || got.Nodes[1].Status != "PENDING" {
			t.Fatalf("u1's requests %+v; want the expired one, then the new one", got)
		}
	})
}

// TestLicenseRequestRoles: who may read and decide requests. Admins and
// readers list the tenant's; a user reads only its own, through me; apps
// and users decide nothing; another tenant's request, or none, is
// NOT_FOUND.
func TestLicenseRequestRoles(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "roles")
		ta, f := sf.ta, sf.f
		other := ta.newFixture("roles-other")
		otherRequest := ta.mustRequest(other, "stranger")
		ta.setSettings(f.admin, map[string]any{"policyId": sf.policy, "approvalRequired": true})
		mine := ta.mustPending(ta.token("u1", f.tenantID, auth.User), f.tenantID, "u1", "TRIGGER_PREMIUM_FLOW")
		ta.mustPending(sf.app, f.tenantID, "u2", "TRIGGER_PREMIUM_FLOW")

		tokens := map[auth.Role]string{}
		for _, role := range auth.AllRoles {
			tokens[role] = ta.token("u1", f.tenantID, role)
		}
		tokens[auth.Operator] = ta.operator()
		for _, role := range auth.AllRoles {
			t.Run(string(role), func(t *testing.T) {
				a := ta.on(t)
				r := a.do(tokens[role], tenantRequests, map[string]any{"t": f.tenantID})
				if role == auth.App || role == auth.User {
					checkError(t, r, license.EFORBIDDEN)
				} else if len(r.Errors) > 0 {
					t.Fatalf("%s listing the tenant's requests: %+v", role, r.Errors)
				}
				r = a.do(tokens[role], myRequests, nil)
				switch role {
				case auth.Operator, auth.App:
					checkError(t, r, license.EFORBIDDEN)
				default:
					var out struct {
						Me struct {
							LicenseRequests struct {
								TotalCount int
								Nodes      []struct{ ID, UserID string }
							}
						}
					}
					decode(t, r, &out)
					if got := out.Me.LicenseRequests; got.TotalCount != 1 || got.Nodes[0].ID != mine.ID {
						t.Fatalf("%s's own requests: %+v; want u1's one", role, got)
					}
				}
				if role != auth.GlobalAdmin && role != auth.LicenseAdmin {
					checkError(t, a.do(tokens[role], approveMutation, map[string]any{"r": mine.ID}), license.EFORBIDDEN, "role")
					checkError(t, a.do(tokens[role], denyMutation, map[string]any{"r": mine.ID}), license.EFORBIDDEN, "role")
				}
			})
		}
		for _, id := range []string{otherRequest, f.tenantID + ":request:99", f.tenantID + ":policy:1", "nonsense"} {
			checkError(t, ta.do(f.admin, approveMutation, map[string]any{"r": id}), license.ENOTFOUND, "not found")
			checkError(t, ta.do(f.admin, denyMutation, map[string]any{"r": id}), license.ENOTFOUND, "not found")
		}
		// A user reads its requests, not the directory: their user is for admins and readers.
		r := ta.do(ta.token("u1", f.tenantID, auth.User), `{ me { licenseRequests { nodes { user { id } } } } }`, nil)
		checkError(t, r, license.EFORBIDDEN)
		if got := ta.listRequests(f.admin, f.tenantID, "PENDING", 10, nil); got.TotalCount != 2 {
			t.Fatalf("refused decisions changed the queue: %+v", got)
		}
	})
}

// TestLicenseRequestByID: Tenant.licenseRequest reads one request as it
// stands now, for the roles that read the queue; another tenant's request,
// an id of something else and a number never given are NOT_FOUND.
func TestLicenseRequestByID(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "one-request")
		ta, f := sf.ta, sf.f
		otherRequest := ta.mustRequest(ta.newFixture("one-request-other"), "stranger")
		ta.setSettings(f.admin, map[string]any{"policyId": sf.policy, "approvalRequired": true})
		pending := ta.mustPending(sf.app, f.tenantID, "u1", "TRIGGER_PREMIUM_FLOW")
		read := func(token, id string) licenseRequest {
			t.Helper()
			var out struct {
				Tenant struct{ LicenseRequest licenseRequest }
			}
			ta.mustDo(token, tenantRequest, map[string]any{"t": f.tenantID, "r": id}, &out)
			return out.Tenant.LicenseRequest
		}
		if got := read(sf.reader, pending.ID); got.ID != pending.ID || got.Status != "PENDING" || got.User == nil || got.User.ID != "u1" ||
			!got.RequestedAt.Equal(pending.RequestedAt) || got.DecidedAt != nil {
			t.Fatalf("the pending request, read by a Reports reader: %+v; want it as the claim made it", got)
		}
		ta.decide(f.admin, pending.ID, true, "Not this quarter.")
		if got := read(ta.token("lena", f.tenantID, auth.LicenseAdmin), pending.ID); got.Status != "DENIED" || deref(got.Message) != "Not this quarter." ||
			got.DecidedBy == nil || got.DecidedBy.Subject != f.adminID {
			t.Fatalf("the denied request, read again: %+v; want DENIED by the admin, with its message", got)
		}
		for _, id := range []string{otherRequest, f.tenantID + ":request:99", sf.policy, "nonsense"} {
			checkError(t, ta.do(f.admin, tenantRequest, map[string]any{"t": f.tenantID, "r": id}), license.ENOTFOUND, "not found")
		}
		checkError(t, ta.do(sf.app, tenantRequest, map[string]any{"t": f.tenantID, "r": pending.ID}), license.EFORBIDDEN)
	})
}

// TestConcurrentApprovals: many admins approving one request at once,
// exactly one succeeds (the others are CONFLICT) and one license is given;
// approving many requests at once over a small pool gives each license
// once, in no request more than one, and never more than the pool holds.
func TestConcurrentApprovals(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "racing")
		ta, f := sf.ta, sf.f
		ta.mustDo(f.admin, `mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 0) { id } }`, map[string]any{"p": f.products[skuRPA]}, nil)
		ta.mustDo(f.admin, `mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 4) { id } }`, map[string]any{"p": f.products[skuFlow]}, nil)
		ta.setSettings(f.admin, map[string]any{"policyId": sf.policy, "approvalRequired": true})

		one := ta.mustPending(sf.app, f.tenantID, "solo", "TRIGGER_PREMIUM_FLOW")
		var wg sync.WaitGroup
		codes := make([]string, 16)
		for i := range codes {
			wg.Go(func() {
				codes[i] = gqltest.Serve(t, ta.handler, f.admin, approveMutation, map[string]any{"r": one.ID}).Code()
			})
		}
		wg.Wait()
		slices.Sort(codes)
		if codes[0] != "" || codes[1] != license.ECONFLICT || codes[len(codes)-1] != license.ECONFLICT {
			t.Fatalf("16 approvals of one request answered %v; want one success, the rest CONFLICT", codes)
		}

		// 3 licenses left, 24 requests approved at once.
		var ids []string
		for i := range 24 {
			ids = append(ids, ta.mustPending(sf.app, f.tenantID, fmt.Sprintf("many-%02d", i), "TRIGGER_PREMIUM_FLOW").ID)
		}
		outcomes := make([]string, len(ids))
		for i, id := range ids {
			wg.Go(func() {
				var out struct{ ApproveLicenseRequest licenseRequest }
				r := gqltest.Serve(t, ta.handler, f.admin, approveMutation, map[string]any{"r": id})
				if len(r.Errors) > 0 {
					outcomes[i] = r.Code()
					return
				}
				decode(t, r, &out)
				outcomes[i] = deref(out.ApproveLicenseRequest.Outcome) + " " + deref(out.ApproveLicenseRequest.Reason)
			})
		}
		wg.Wait()
		count := map[string]int{}
		for _, o := range outcomes {
			count[o]++
		}
		if count["CLAIMED "] != 3 || count["DENIED NO_LICENSES_AVAILABLE"] != 21 {
			t.Fatalf("24 approvals over 3 licenses: %v; want 3 CLAIMED, 21 DENIED", count)
		}
		var pool struct {
			Tenant struct {
				Product struct{ TotalLicenses, AssignedLicenses, AvailableLicenses int }
			}
		}
		ta.mustDo(f.admin, `query($t: ID!, $p: ID!) { tenant(id: $t) { product(id: $p) { totalLicenses assignedLicenses availableLicenses } } }`,
			map[string]any{"t": f.tenantID, "p": f.products[skuFlow]}, &pool)
		if p := pool.Tenant.Product; p.TotalLicenses != 4 || p.AssignedLicenses != 4 || p.AvailableLicenses != 0 {
			t.Fatalf("pool %+v; want 4 of 4 assigned, none oversold", p)
		}
	})
}
