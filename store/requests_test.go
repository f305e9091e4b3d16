package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// approvalOn turns a policy's approval on (and its waitlist to waitlist).
func approvalOn(tb testing.TB, s *store.Store, policyID string, waitlist bool) *license.Policy {
	tb.Helper()
	return editPolicy(tb, s, policyID, func(p *license.Policy, _ license.SKULookup) error {
		return p.ApplySettings(license.PolicySettings{ApprovalRequired: license.Update[bool]{Set: true, Value: true},
			WaitlistEnabled: license.Update[bool]{Set: true, Value: waitlist}})
	})
}

// wantPending checks that a claim made or found a pending request, and
// returns it.
func wantPending(tb testing.TB, res *license.ClaimResult) *license.LicenseRequest {
	tb.Helper()
	if res.Outcome != license.PendingApproval || res.Reason != "" || res.License != nil || res.Request == nil ||
		res.Request.Status != license.RequestPending {
		tb.Fatalf("claim = %s %q (license %v, request %+v); want PENDING_APPROVAL with a pending request", res.Outcome, res.Reason, res.License, res.Request)
	}
	return res.Request
}

// withActor names the caller of the changes made on the context.
func withActor(subject string, roles ...string) context.Context {
	return license.NewContextWithChange(context.Background(), license.Change{Actor: license.Actor{Subject: subject, Roles: roles}})
}

// eventKinds lists the kinds of a tenant's events after the first skip,
// claim decisions as "claim:<outcome>".
func eventKinds(tb testing.TB, b *redistest.Backend, tenantID string, skip int) []string {
	tb.Helper()
	var out []string
	for _, m := range tenantEvents(tb, b, tenantID)[skip:] {
		kind := m.Values["kind"].(string)
		if kind == "claim" {
			kind += ":" + m.Values["outcome"].(string)
		}
		out = append(out, kind)
	}
	return out
}

// TestApprovalMakesRequests: with approval required, a claim that would get
// a license makes a license request, whether or not one is free; asking
// again answers the same request and writes nothing; a claim that would not
// get one (a trigger no product covers, a licensed user) is answered as
// before; the user is recorded, and the request is listed, oldest first.
func TestApprovalMakesRequests(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		clock := withClock(t, b, s)
		ctx := context.Background()
		products := claimTenant(t, s, "ap", map[string]int{flowSKU: 1})
		p := mustCreatePolicy(t, s, "ap", powerAutomate, true, withPlans(products, flowSKU))
		wantOutcome(t, mustClaim(t, s, claimRequest("ap", "held", powerAutomate, cloudFlow)), license.Claimed, "", products[flowSKU])
		p = approvalOn(t, s, p.ID, false)
		if !p.ApprovalRequired || p.Version != 2 {
			t.Fatalf("policy %+v; want approval required at version 2", p)
		}

		events := len(tenantEvents(t, b, "ap"))
		r := mustClaim(t, s, license.ClaimRequest{TenantID: "ap", UserID: "u1", AppID: powerAutomate, Trigger: cloudFlow,
			UserPrincipalName: "u1@ap.example", DisplayName: "User One"})
		req := wantPending(t, r)
		if req.ID != "ap:request:1" || req.UserID != "u1" || req.PolicyID != p.ID || req.AppID != powerAutomate || req.Trigger != cloudFlow ||
			!req.RequestedAt.Equal(clock.now.UTC().Truncate(time.Millisecond)) || !req.DecidedAt.IsZero() || req.DecidedBy != nil {
			t.Fatalf("request %+v; want ap:request:1 of u1 under %s, made now", req, p.ID)
		}
		if r.Event == nil || r.Event.Outcome != license.PendingApproval || r.Event.RequestID != req.ID {
			t.Fatalf("event %+v; want a PENDING_APPROVAL event naming the request", r.Event)
		}
		if u, err := s.User(ctx, "ap", "u1"); err != nil || u.DisplayName != "User One" {
			t.Fatalf("the user asking is recorded: %+v, %v", u, err)
		}
		// The pool is empty: the request is made all the same.
		wantPending(t, mustClaim(t, s, claimRequest("ap", "u2", powerAutomate, license.TriggerSavePremiumFlow)))
		if got := eventKinds(t, b, "ap", events); fmt.Sprint(got) != "[claim:PENDING_APPROVAL claim:PENDING_APPROVAL]" {
			t.Fatalf("events %v; want two PENDING_APPROVAL decisions", got)
		}

		// Asking again, with any trigger, answers the same request and changes nothing.
		before := b.Snapshot(t)
		for _, trigger := range []license.Trigger{cloudFlow, license.TriggerTurnOnPremiumFlow} {
			again := mustClaim(t, s, claimRequest("ap", "u1", powerAutomate, trigger))
			if got := wantPending(t, again); got.ID != req.ID || got.Trigger != cloudFlow || again.Event != nil {
				t.Fatalf("asking again: %+v (event %v); want %s as made, no event", got, again.Event, req.ID)
			}
		}
		if after := b.Snapshot(t); !maps.Equal(after, before) {
			t.Fatalf("asking again changed Redis:\n%s", diff(before, after))
		}
		// Claims that would get no license are answered as without approval.
		wantOutcome(t, mustClaim(t, s, claimRequest("ap", "held", powerAutomate, cloudFlow)), license.AlreadyLicensed, "", products[flowSKU])
		wantOutcome(t, mustClaim(t, s, claimRequest("ap", "u1", powerAutomate, attendedRPAFlow)), license.Denied, license.ReasonTriggerNotEligible, "")

		page, err := s.LicenseRequests(ctx, "ap", license.RequestQuery{Status: license.RequestPending, First: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != 2 || len(page.Requests) != 1 || page.Requests[0].ID != req.ID || !page.HasNextPage {
			t.Fatalf("first page of pending requests: %+v; want ap:request:1 of 2", page)
		}
		page, err = s.LicenseRequests(ctx, "ap", license.RequestQuery{Status: license.RequestPending, First: 5, After: page.Cursors[0]})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Requests) != 1 || page.Requests[0].UserID != "u2" || page.HasNextPage {
			t.Fatalf("second page of pending requests: %+v; want u2's, last", page)
		}
		mine, err := s.LicenseRequests(ctx, "ap", license.RequestQuery{UserID: "u2", First: 5})
		if err != nil || mine.TotalCount != 1 || mine.Requests[0].UserID != "u2" {
			t.Fatalf("u2's requests: %+v, %v; want its one", mine, err)
		}
		if _, err := s.LicenseRequests(ctx, "ap", license.RequestQuery{First: 5, After: "x1"}); license.ErrorCode(err) != license.EINVALID {
			t.Fatalf("a bad cursor: %v; want EINVALID", err)
		}
	})
}

// TestApproveRunsTheClaim: an approval runs the claim's walk when it is
// made, and records what it led to; each case starts from a pending
// request of u1 for a cloud flow under a policy of the per user plan (1
// license) then Premium (0).
func TestApproveRunsTheClaim(t *testing.T) {
	tests := []struct {
		name     string
		waitlist bool
		// before changes the tenant between the request and its approval.
		before  func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string)
		outcome license.Outcome
		reason  license.Reason
		product string // the SKU of the license given or found; "" none
		claim   bool   // a claim event follows the approval
	}{
		{"Claimed", false, nil, license.Claimed, "", flowSKU, true},
		{"ClaimedFromTheBackupFirstInOrderNow", false, func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string) {
			setQuantity(t, s, products[premiumSKU], 1)
			editPolicy(t, s, policyID, func(p *license.Policy, _ license.SKULookup) error { return p.Move(products[premiumSKU], license.Up) })
		}, license.Claimed, "", premiumSKU, true},
		{"QueuedWhenNoneIsLeft", true, func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string) {
			wantOutcome(t, mustClaim(t, s, claimRequest(tenant, "other", powerApps, license.TriggerLaunchPremiumApp)), license.Denied, license.ReasonNoPolicy, "")
			setQuantity(t, s, products[flowSKU], 0)
		}, license.Queued, "", "", true},
		{"DeniedWhenNoneIsLeft", false, func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string) {
			setQuantity(t, s, products[flowSKU], 0)
		}, license.Denied, license.ReasonNoLicenses, "", true},
		{"AlreadyLicensedAnotherWay", false, func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string) {
			setQuantity(t, s, products[premiumSKU], 1)
			if _, err := s.AssignLicense(context.Background(), "u1", products[premiumSKU], nil); err != nil {
				t.Fatal(err)
			}
		}, license.AlreadyLicensed, "", premiumSKU, false},
		{"PolicyDeleted", false, func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string) {
			if err := s.DeletePolicy(context.Background(), policyID); err != nil {
				t.Fatal(err)
			}
		}, license.Denied, license.ReasonNoPolicy, "", false},
		{"PolicyOff", false, func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string) {
			editPolicy(t, s, policyID, setPolicyEnabled(false))
		}, license.Denied, license.ReasonPolicyDisabled, "", true},
		{"SettingOff", false, func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string) {
			if _, err := s.SetAutoClaimEnabled(context.Background(), tenant, false); err != nil {
				t.Fatal(err)
			}
		}, license.Denied, license.ReasonAutoClaimDisabled, "", true},
		{"TheProductsAsTheyAreNow", false, func(t *testing.T, s *store.Store, tenant string, products map[string]string, policyID string) {
			editPolicy(t, s, policyID, func(p *license.Policy, _ license.SKULookup) error { return p.RemoveProduct(products[flowSKU]) })
			setQuantity(t, s, products[premiumSKU], 2)
		}, license.Claimed, "", premiumSKU, true},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tenant := fmt.Sprintf("apr%d", i)
				products := claimTenant(t, s, tenant, map[string]int{flowSKU: 1})
				p := mustCreatePolicy(t, s, tenant, powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
				approvalOn(t, s, p.ID, tt.waitlist)
				req := wantPending(t, mustClaim(t, s, claimRequest(tenant, "u1", powerAutomate, cloudFlow)))
				if tt.before != nil {
					tt.before(t, s, tenant, products, p.ID)
				}
				events := len(tenantEvents(t, b, tenant))
				got, err := s.ApproveRequest(withActor("boss", "LICENSE_ADMIN"), req.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != license.RequestApproved || got.Outcome != tt.outcome || got.Reason != tt.reason ||
					got.DecidedBy == nil || got.DecidedBy.Subject != "boss" || fmt.Sprint(got.DecidedBy.Roles) != "[LICENSE_ADMIN]" || got.DecidedAt.IsZero() {
					t.Fatalf("approved: %+v; want APPROVED %s %q by boss", got, tt.outcome, tt.reason)
				}
				if (got.License != nil) != (tt.product != "") || (got.License != nil && got.License.ProductID != products[tt.product]) {
					t.Fatalf("approved with license %+v; want one of %q", got.License, tt.product)
				}
				want := []string{"LICENSE_REQUEST_APPROVED"}
				if tt.claim {
					want = append(want, "claim:"+string(tt.outcome))
				}
				if kinds := eventKinds(t, b, tenant, events); fmt.Sprint(kinds) != fmt.Sprint(want) {
					t.Fatalf("events %v; want %v", kinds, want)
				}
				held := heldProducts(t, s, tenant, "u1")
				switch tt.outcome {
				case license.Claimed, license.AlreadyLicensed:
					if fmt.Sprint(held) != fmt.Sprint([]string{products[tt.product]}) {
						t.Fatalf("u1 holds %v; want one license of %s", held, tt.product)
					}
				default:
					if len(held) != 0 {
						t.Fatalf("u1 holds %v; want none", held)
					}
				}
				if tt.outcome == license.Queued {
					if w := waitlist(t, s, p.ID); fmt.Sprint(w) != "[u1]" {
						t.Fatalf("waitlist %v; want u1 on it", w)
					}
				}
				// Decided: neither approved nor denied again, and nothing changes.
				before := b.Snapshot(t)
				for _, decide := range []func() error{
					func() error { _, err := s.ApproveRequest(withActor("boss"), req.ID); return err },
					func() error { _, err := s.DenyRequest(withActor("boss"), req.ID, ""); return err },
				} {
					if err := decide(); license.ErrorCode(err) != license.ECONFLICT || !strings.Contains(err.Error(), "approved already") {
						t.Fatalf("deciding again: %v; want CONFLICT, approved already", err)
					}
				}
				if after := b.Snapshot(t); !maps.Equal(after, before) {
					t.Fatalf("a refused decision changed Redis:\n%s", diff(before, after))
				}
			})
		}
	})
}

func setQuantity(tb testing.TB, s *store.Store, productID string, n int) {
	tb.Helper()
	if _, err := s.SetLicenseQuantity(context.Background(), productID, n); err != nil {
		tb.Fatalf("SetLicenseQuantity %s %d: %v", productID, n, err)
	}
}

// TestRequestsExpireAndAreDropped: a request left pending 30 days reads as
// expired at once, can't be decided, and the next claim makes a new one;
// the worker's sweep records it EXPIRED with an event, and drops decided
// and expired requests 90 days after; then nothing of them is left in
// Redis.
func TestRequestsExpireAndAreDropped(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		clock := withClock(t, b, s)
		ctx := context.Background()
		products := claimTenant(t, s, "ex", map[string]int{flowSKU: 5})
		p := mustCreatePolicy(t, s, "ex", powerAutomate, true, withPlans(products, flowSKU))
		approvalOn(t, s, p.ID, false)
		before := b.Snapshot(t)
		old := wantPending(t, mustClaim(t, s, claimRequest("ex", "u1", powerAutomate, cloudFlow)))
		denied := wantPending(t, mustClaim(t, s, claimRequest("ex", "u2", powerAutomate, cloudFlow)))
		if _, err := s.DenyRequest(withActor("boss", "GLOBAL_ADMIN"), denied.ID, "  Not now  "); err != nil {
			t.Fatal(err)
		}

		clock.advance(b, license.RequestExpiry-time.Millisecond)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if r, err := s.LicenseRequest(ctx, old.ID); err != nil || r.Status != license.RequestPending {
			t.Fatalf("a millisecond before its expiry: %+v, %v; want it pending", r, err)
		}
		clock.advance(b, time.Millisecond)
		// Expired, though the sweep has not run.
		r, err := s.LicenseRequest(ctx, old.ID)
		if err != nil || r.Status != license.RequestExpired || !r.DecidedAt.Equal(old.RequestedAt.Add(license.RequestExpiry)) || r.DecidedBy != nil {
			t.Fatalf("at its expiry: %+v, %v; want it expired then, by no one", r, err)
		}
		if _, err := s.ApproveRequest(withActor("boss"), old.ID); license.ErrorCode(err) != license.ECONFLICT || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("approving an expired request: %v; want CONFLICT, expired", err)
		}
		for status, want := range map[license.RequestStatus]int{license.RequestPending: 0, license.RequestExpired: 1, license.RequestDenied: 1, "": 2} {
			page, err := s.LicenseRequests(ctx, "ex", license.RequestQuery{Status: status, First: 10})
			if err != nil || page.TotalCount != want || len(page.Requests) != want {
				t.Fatalf("requests %q: %+v, %v; want %d", status, page, err, want)
			}
		}
		// A claim after the expiry makes a new request.
		renewed := wantPending(t, mustClaim(t, s, claimRequest("ex", "u1", powerAutomate, cloudFlow)))
		if renewed.ID == old.ID {
			t.Fatalf("a claim after the expiry answered the expired request %s", old.ID)
		}

		events := len(tenantEvents(t, b, "ex"))
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if kinds := eventKinds(t, b, "ex", events); fmt.Sprint(kinds) != "[LICENSE_REQUEST_EXPIRED]" {
			t.Fatalf("the sweep's events: %v; want one LICENSE_REQUEST_EXPIRED", kinds)
		}
		page, err := s.LicenseRequests(ctx, "ex", license.RequestQuery{Status: license.RequestExpired, First: 10})
		if err != nil || page.TotalCount != 1 || page.Requests[0].ID != old.ID {
			t.Fatalf("expired requests after the sweep: %+v, %v; want %s", page, err, old.ID)
		}
		if got, err := s.DenyRequest(withActor("boss"), renewed.ID, ""); err != nil || got.Status != license.RequestDenied || got.Message != "" {
			t.Fatalf("denying without a message: %+v, %v", got, err)
		}

		// 90 days after their decisions, the requests go, and with them
		// every key they made.
		clock.advance(b, license.RequestRetention+time.Millisecond)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		page, err = s.LicenseRequests(ctx, "ex", license.RequestQuery{First: 10})
		if err != nil || page.TotalCount != 0 {
			t.Fatalf("requests 90 days on: %+v, %v; want none", page, err)
		}
		after := b.Snapshot(t)
		var left []string
		for k := range after {
			if _, ok := before[k]; !ok && (strings.Contains(k, ":rq") || strings.HasSuffix(k, ":work")) {
				left = append(left, k)
			}
		}
		slices.Sort(left)
		// The work keeps the policy's approval mark, and nothing of the requests.
		if fmt.Sprint(left) != "[]" || !strings.Contains(after[b.Prefix+"{t:ex}:work"], "a:1") || strings.Contains(after[b.Prefix+"{t:ex}:work"], "r:0") {
			t.Fatalf("keys left by the requests: %v; work %q", left, after[b.Prefix+"{t:ex}:work"])
		}
	})
}

// TestApprovalOnEmptiesTheWaitlist: the users waiting when approval is
// turned on were never approved: they leave the waitlist (one audit
// change says how many), a license freed goes to no one unapproved, and
// their next claim asks for approval.
func TestApprovalOnEmptiesTheWaitlist(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "apwait", map[string]int{flowSKU: 1})
		p := mustCreatePolicy(t, s, "apwait", powerAutomate, true, skuProducts(products, flowSKU)...)
		waitlistOn(t, s, p.ID)
		wantOutcome(t, mustClaim(t, s, claimRequest("apwait", "holder", powerAutomate, cloudFlow)), license.Claimed, "", products[flowSKU])
		wantQueued(t, mustClaim(t, s, claimRequest("apwait", "lee", powerAutomate, cloudFlow)), 1)
		approvalOn(t, s, p.ID, true)
		if got := waitlist(t, s, p.ID); len(got) != 0 {
			t.Fatalf("waitlist %v after approval turned on; want it empty", got)
		}
		if _, err := s.SetLicenseQuantity(ctx, products[flowSKU], 2); err != nil {
			t.Fatal(err)
		}
		if got := heldProducts(t, s, "apwait", "lee"); len(got) != 0 {
			t.Fatalf("lee holds %v unapproved", got)
		}
		wantPending(t, mustClaim(t, s, claimRequest("apwait", "lee", powerAutomate, cloudFlow)))
		page, err := s.AuditLog(ctx, "apwait", license.AuditQuery{First: 1, Action: "updateAutoClaimPolicy"})
		if err != nil || len(page.Entries) != 1 {
			t.Fatalf("audit = %+v, %v", page, err)
		}
		found := false
		for _, c := range page.Entries[0].Changes {
			found = found || (c.Field == "waitlistedUsers" && *c.Before == "1" && *c.After == "0")
		}
		if !found {
			t.Fatalf("audit changes %+v; want waitlistedUsers 1 > 0", page.Entries[0].Changes)
		}
	})
}

// TestApprovalOnKeepsApprovedWaiters: a user an approval queued was
// approved: turning approval off and on again keeps it waiting (and gives
// it the next license), while a user who queued unapproved meanwhile leaves.
func TestApprovalOnKeepsApprovedWaiters(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "apkeep", map[string]int{})
		p := mustCreatePolicy(t, s, "apkeep", powerAutomate, true, skuProducts(products, flowSKU)...)
		approvalOn(t, s, p.ID, true)
		req := wantPending(t, mustClaim(t, s, claimRequest("apkeep", "lee", powerAutomate, cloudFlow)))
		if got, err := s.ApproveRequest(withActor("boss", "GLOBAL_ADMIN"), req.ID); err != nil || got.Outcome != license.Queued {
			t.Fatalf("approve = %+v, %v; want QUEUED", got, err)
		}
		editPolicy(t, s, p.ID, func(p *license.Policy, _ license.SKULookup) error {
			return p.ApplySettings(license.PolicySettings{ApprovalRequired: license.Update[bool]{Set: true, Value: false}})
		})
		wantQueued(t, mustClaim(t, s, claimRequest("apkeep", "megan", powerAutomate, cloudFlow)), 2)
		approvalOn(t, s, p.ID, true)
		if got := waitlist(t, s, p.ID); !slices.Equal(got, []string{"lee"}) {
			t.Fatalf("waitlist %v after approval turned on again; want [lee], whom an approval queued", got)
		}
		if _, err := s.SetLicenseQuantity(ctx, products[flowSKU], 1); err != nil {
			t.Fatal(err)
		}
		if got := heldProducts(t, s, "apkeep", "lee"); !slices.Equal(got, []string{products[flowSKU]}) {
			t.Fatalf("lee holds %v; want the license", got)
		}
		if got := heldProducts(t, s, "apkeep", "megan"); len(got) != 0 {
			t.Fatalf("megan holds %v unapproved", got)
		}
	})
}
