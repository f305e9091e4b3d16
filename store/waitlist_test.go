package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// clock is a controlled clock for a store's Now.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// withClock gives a store a clock that starts at Redis's time, and returns it.
func withClock(tb testing.TB, b *redistest.Backend, s *store.Store) *clock {
	tb.Helper()
	now, err := b.Client.Time(context.Background()).Result()
	if err != nil {
		tb.Fatal(err)
	}
	c := &clock{now: now}
	s.Now = c.Now
	return c
}

// advance moves the store's clock, and miniredis's with it (the real
// Redis's clock can't be moved: stamps made there keep the real time).
func (c *clock) advance(b *redistest.Backend, d time.Duration) {
	c.now = c.now.Add(d)
	if b.Mini != nil {
		b.Mini.SetTime(c.now)
	}
}

// waitlistOn turns a policy's waitlist on.
func waitlistOn(tb testing.TB, s *store.Store, policyID string) *license.Policy {
	tb.Helper()
	return editPolicy(tb, s, policyID, func(p *license.Policy, _ license.SKULookup) error {
		return p.ApplySettings(license.PolicySettings{WaitlistEnabled: license.Update[bool]{Set: true, Value: true}})
	})
}

// waitlist reads a policy's whole waitlist: user ids in queue order.
func waitlist(tb testing.TB, s *store.Store, policyID string) []string {
	tb.Helper()
	var out []string
	after := ""
	for {
		page, err := s.Waitlist(context.Background(), policyID, 7, after)
		if err != nil {
			tb.Fatalf("Waitlist: %v", err)
		}
		for i, e := range page.Entries {
			if e.Position != len(out)+1 {
				tb.Fatalf("entry %d of the page (%s) at position %d; want %d", i, e.UserID, e.Position, len(out)+1)
			}
			out = append(out, e.UserID)
		}
		if !page.HasNextPage {
			if page.TotalCount != len(out) {
				tb.Fatalf("waitlist totalCount %d; its pages list %d", page.TotalCount, len(out))
			}
			return out
		}
		after = page.Cursors[len(page.Cursors)-1]
	}
}

func wantQueued(tb testing.TB, res *license.ClaimResult, position int) {
	tb.Helper()
	if res.Outcome != license.Queued || res.Reason != "" || res.WaitlistPosition != position || res.License != nil {
		tb.Fatalf("claim = %s %q at %d (license %v); want QUEUED at %d", res.Outcome, res.Reason, res.WaitlistPosition, res.License, position)
	}
}

func TestWaitlistQueuesClaimsThatFindNoLicense(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "wl", map[string]int{flowSKU: 1})
		p := mustCreatePolicy(t, s, "wl", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		wantOutcome(t, mustClaim(t, s, claimRequest("wl", "u1", powerAutomate, cloudFlow)), license.Claimed, "", products[flowSKU])
		// Without the waitlist, the pool's end is a denial.
		wantOutcome(t, mustClaim(t, s, claimRequest("wl", "u2", powerAutomate, cloudFlow)), license.Denied, license.ReasonNoLicenses, "")

		p = waitlistOn(t, s, p.ID)
		events := len(tenantEvents(t, b, "wl"))
		first := mustClaim(t, s, claimRequest("wl", "u2", powerAutomate, cloudFlow))
		wantQueued(t, first, 1)
		if first.Event == nil || first.Event.Outcome != license.Queued {
			t.Fatalf("queued with event %+v; want a QUEUED event", first.Event)
		}
		wantQueued(t, mustClaim(t, s, claimRequest("wl", "u3", powerAutomate, attendedRPAFlow)), 2)
		if got := len(tenantEvents(t, b, "wl")); got != events+2 {
			t.Fatalf("two users queued appended %d events; want 2", got-events)
		}
		if _, err := s.User(context.Background(), "wl", "u3"); err != nil {
			t.Fatalf("a queued user is recorded in the directory: %v", err)
		}

		// A user on the waitlist asking again keeps its place, and nothing changes.
		before := b.Snapshot(t)
		for _, trigger := range []license.Trigger{cloudFlow, license.TriggerSavePremiumFlow} {
			again := mustClaim(t, s, claimRequest("wl", "u2", powerAutomate, trigger))
			wantQueued(t, again, 1)
			if again.Event != nil {
				t.Fatalf("asking again appended event %+v; want none", again.Event)
			}
		}
		wantQueued(t, mustClaim(t, s, claimRequest("wl", "u3", powerAutomate, attendedRPAFlow)), 2)
		if after := b.Snapshot(t); !maps.Equal(after, before) {
			t.Fatalf("asking again changed Redis:\n%s", diff(before, after))
		}

		page, err := s.Waitlist(context.Background(), p.ID, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 2 || page.Entries[0].UserID != "u2" || page.Entries[0].Trigger != cloudFlow ||
			page.Entries[1].UserID != "u3" || page.Entries[1].Trigger != attendedRPAFlow || page.Entries[1].Position != 2 {
			t.Fatalf("waitlist = %+v; want u2 (cloud flow), then u3 (attended RPA)", page.Entries)
		}
		// queuedAt is the store's clock when the claim was sent; the event's
		// time, Redis's when it ran.
		if at := page.Entries[0].QueuedAt; at.Sub(first.Event.At).Abs() > time.Minute {
			t.Fatalf("u2 queued at %v; its event at %v", at, first.Event.At)
		}
		// A trigger no product covers is no reason to wait.
		wantOutcome(t, mustClaim(t, s, claimRequest("wl", "u4", powerApps, license.TriggerLaunchPremiumApp)), license.Denied, license.ReasonNoPolicy, "")
	})
}

// TestWaitlistFillsInQueueOrder: licenses that become available go to the
// users waiting, in order, each from the first product that covers the
// trigger it waits with; a user the licenses can't serve keeps its place.
func TestWaitlistFillsInQueueOrder(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "fill", map[string]int{})
		p := mustCreatePolicy(t, s, "fill", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		waitlistOn(t, s, p.ID)
		triggers := map[string]license.Trigger{"a": cloudFlow, "b": attendedRPAFlow, "c": cloudFlow, "d": cloudFlow}
		for i, u := range []string{"a", "b", "c", "d"} {
			wantQueued(t, mustClaim(t, s, claimRequest("fill", u, powerAutomate, triggers[u])), i+1)
		}
		// Two per-user licenses: not for b, who needs attended RPA.
		if _, err := s.SetLicenseQuantity(ctx, products[flowSKU], 2); err != nil {
			t.Fatal(err)
		}
		if got := waitlist(t, s, p.ID); fmt.Sprint(got) != "[b d]" {
			t.Fatalf("waitlist after two per-user licenses: %v; want [b d]", got)
		}
		for u, want := range map[string][]string{"a": {products[flowSKU]}, "c": {products[flowSKU]}, "b": {}} {
			if got := heldProducts(t, s, "fill", u); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s holds %v; want %v", u, got, want)
			}
		}
		// A Premium license covers both: b comes first.
		if _, err := s.SetLicenseQuantity(ctx, products[premiumSKU], 1); err != nil {
			t.Fatal(err)
		}
		if got := waitlist(t, s, p.ID); fmt.Sprint(got) != "[d]" {
			t.Fatalf("waitlist after a Premium license: %v; want [d]", got)
		}
		wantPools(t, s, products, map[string]int{flowSKU: 2, premiumSKU: 1})
		fills := 0
		for _, m := range tenantEvents(t, b, "fill") {
			if m.Values["trigger"] == string(license.TriggerWaitlist) && m.Values["outcome"] == string(license.Claimed) {
				fills++
			}
		}
		if fills != 3 {
			t.Fatalf("%d CLAIMED events with trigger WAITLIST; want 3", fills)
		}
		// The report's claims log has a row per fill, with its product.
		page, err := s.ClaimedUsers(ctx, p.ID, 1, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, r := range page.Users {
			rows = append(rows, r.UserID+" "+r.ProductID+" "+string(r.Trigger))
		}
		want := []string{"b " + products[premiumSKU] + " WAITLIST", "c " + products[flowSKU] + " WAITLIST", "a " + products[flowSKU] + " WAITLIST"}
		if strings.Join(rows, ", ") != strings.Join(want, ", ") || page.TotalCount != 3 {
			t.Fatalf("claims log %v (total %d); want %v (total 3)", rows, page.TotalCount, want)
		}
		// Claimed after a wait: ALREADY_LICENSED.
		wantOutcome(t, mustClaim(t, s, claimRequest("fill", "b", powerAutomate, attendedRPAFlow)), license.AlreadyLicensed, "", products[premiumSKU])
	})
}

// setReclaim sets a policy's reclaim period (0: off).
func setReclaim(tb testing.TB, s *store.Store, policyID string, days int) *license.Policy {
	tb.Helper()
	v := &days
	if days == 0 {
		v = nil
	}
	return editPolicy(tb, s, policyID, func(p *license.Policy, _ license.SKULookup) error {
		return p.ApplySettings(license.PolicySettings{ReclaimInactiveAfterDays: license.Update[*int]{Set: true, Value: v}})
	})
}

// mustUser adds users to a tenant's directory.
func mustUser(tb testing.TB, s *store.Store, tenantID string, ids ...string) {
	tb.Helper()
	for _, id := range ids {
		if _, err := s.CreateUser(context.Background(), license.NewUser{TenantID: tenantID, ID: id, UserPrincipalName: id + "@" + tenantID + ".example", DisplayName: id}); err != nil {
			tb.Fatal(err)
		}
	}
}

// ageLicenses makes the licenses of users as they would be had they been
// assigned, and last used, d earlier: their records, and the index of the
// policy they were claimed under. (Redis's clock can't be moved on the real
// Redis, and the licenses' times are Redis's.)
func ageLicenses(tb testing.TB, b *redistest.Backend, s *store.Store, tenantID string, d time.Duration, users ...string) {
	tb.Helper()
	ctx := context.Background()
	for _, u := range users {
		ls, err := s.Licenses(ctx, tenantID, u)
		if err != nil {
			tb.Fatal(err)
		}
		var held []store.HeldLicense
		for _, l := range ls {
			policyN := int64(0)
			l.AssignedAt, l.LastUsedAt = l.AssignedAt.Add(-d), l.LastUsedAt.Add(-d)
			if l.PolicyID != "" {
				policyN = idNumber(tb, l.PolicyID)
				heldKey := fmt.Sprintf("%s{t:%s}:held:%d", b.Prefix, tenantID, policyN)
				member := fmt.Sprintf("%d:%s", idNumber(tb, l.ProductID), u)
				if err := b.Client.ZAddXX(ctx, heldKey, redis.Z{Score: float64(l.AssignedAt.UnixMilli()), Member: member}).Err(); err != nil {
					tb.Fatal(err)
				}
			}
			held = append(held, store.HeldLicense{Product: idNumber(tb, l.ProductID), Record: store.EncodeLicense(l, policyN, l.SKU.SkuPartNumber)})
		}
		key := fmt.Sprintf("%s{t:%s}:l:%d", b.Prefix, tenantID, store.UserBucket(u))
		if err := b.Client.HSet(ctx, key, u, store.EncodeLicenses(held)).Err(); err != nil {
			tb.Fatal(err)
		}
	}
}

// productKey is the Redis key of a product's hash.
func productKey(b *redistest.Backend, tenantID, productID string) string {
	return fmt.Sprintf("%s{t:%s}:product:%s", b.Prefix, tenantID, productID[len(tenantID+":product:"):])
}

// waitlistFills counts the CLAIMED events of waitlist fills.
func waitlistFills(tb testing.TB, b *redistest.Backend, tenantID string) int {
	tb.Helper()
	n := 0
	for _, m := range tenantEvents(tb, b, tenantID) {
		if m.Values["trigger"] == string(license.TriggerWaitlist) && m.Values["outcome"] == string(license.Claimed) {
			n++
		}
	}
	return n
}

// TestWaitlistIsFedByEveryRoute: whenever licenses become available to a
// policy, by any route, the users waiting get them in order, in the call
// that made them available (or the worker's, for a sweep).
func TestWaitlistIsFedByEveryRoute(t *testing.T) {
	type env struct {
		s        *store.Store
		b        *redistest.Backend
		c        *clock
		tenant   string
		products map[string]string
		policy   *license.Policy
	}
	ctx := context.Background()
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		// before runs before the users queue, with the policy's waitlist on
		// and every pool empty; free makes two licenses available.
		before func(t *testing.T, e env)
		free   func(t *testing.T, e env)
		from   string // the SKU the waiting users get
	}{
		{"QuantityRaised", nil, func(t *testing.T, e env) {
			_, err := e.s.SetLicenseQuantity(ctx, e.products[flowSKU], 2)
			must(t, err)
		}, flowSKU},
		{"LicensesRemoved", func(t *testing.T, e env) {
			_, err := e.s.SetLicenseQuantity(ctx, e.products[flowSKU], 2)
			must(t, err)
			mustUser(t, e.s, e.tenant, "d1", "d2")
			for _, u := range []string{"d1", "d2"} {
				_, err := e.s.AssignLicense(ctx, u, e.products[flowSKU], nil)
				must(t, err)
			}
		}, func(t *testing.T, e env) {
			must(t, e.s.RemoveLicense(ctx, "d1", e.products[flowSKU]))
			must(t, e.s.RemoveLicense(ctx, "d2", e.products[flowSKU]))
		}, flowSKU},
		{"LicensesReclaimed", func(t *testing.T, e env) {
			_, err := e.s.SetLicenseQuantity(ctx, e.products[flowSKU], 2)
			must(t, err)
			wantOutcome(t, mustClaim(t, e.s, claimRequest(e.tenant, "e1", powerAutomate, cloudFlow)), license.Claimed, "", e.products[flowSKU])
			wantOutcome(t, mustClaim(t, e.s, claimRequest(e.tenant, "e2", powerAutomate, cloudFlow)), license.Claimed, "", e.products[flowSKU])
		}, func(t *testing.T, e env) {
			// Eight days on by the store's clock (and by miniredis's): the
			// licenses the reclaim's fills give are not idle, whatever
			// Redis's clock says.
			e.c.advance(e.b, 8*24*time.Hour)
			n, err := e.s.ReclaimInactiveLicenses(ctx, e.policy.ID, 7)
			must(t, err)
			if n != 2 {
				t.Fatalf("reclaimed %d; want 2", n)
			}
		}, flowSKU},
		{"LicensesSwept", func(t *testing.T, e env) {
			_, err := e.s.SetLicenseQuantity(ctx, e.products[flowSKU], 2)
			must(t, err)
			wantOutcome(t, mustClaim(t, e.s, claimRequest(e.tenant, "e1", powerAutomate, cloudFlow)), license.Claimed, "", e.products[flowSKU])
			wantOutcome(t, mustClaim(t, e.s, claimRequest(e.tenant, "e2", powerAutomate, cloudFlow)), license.Claimed, "", e.products[flowSKU])
		}, func(t *testing.T, e env) {
			setReclaim(t, e.s, e.policy.ID, 7)
			ageLicenses(t, e.b, e.s, e.tenant, 8*24*time.Hour, "e1", "e2")
			must(t, e.s.Tick(ctx))
		}, flowSKU},
		{"ProductAdded", func(t *testing.T, e env) {
			editPolicy(t, e.s, e.policy.ID, func(p *license.Policy, _ license.SKULookup) error { return p.RemoveProduct(e.products[premiumSKU]) })
			_, err := e.s.SetLicenseQuantity(ctx, e.products[premiumSKU], 2)
			must(t, err)
		}, func(t *testing.T, e env) {
			editPolicy(t, e.s, e.policy.ID, func(p *license.Policy, skuOf license.SKULookup) error {
				return p.AddBackup(e.s.Catalog(), license.PolicyProduct{ProductID: e.products[premiumSKU]}, skuOf)
			})
		}, premiumSKU},
		{"ProductMoved", nil, func(t *testing.T, e env) {
			// Licenses a crash left available without a fill: moving a
			// product fills the waitlist.
			must(t, e.b.Client.HIncrBy(ctx, productKey(e.b, e.tenant, e.products[premiumSKU]), "total", 2).Err())
			editPolicy(t, e.s, e.policy.ID, func(p *license.Policy, _ license.SKULookup) error { return p.Move(e.products[premiumSKU], license.Up) })
		}, premiumSKU},
		{"PolicyTurnedOn", nil, func(t *testing.T, e env) {
			editPolicy(t, e.s, e.policy.ID, setPolicyEnabled(false))
			_, err := e.s.SetLicenseQuantity(ctx, e.products[flowSKU], 2)
			must(t, err)
			if got := waitlist(t, e.s, e.policy.ID); len(got) != 3 {
				t.Fatalf("a policy that is off filled its waitlist: %v", got)
			}
			editPolicy(t, e.s, e.policy.ID, setPolicyEnabled(true))
		}, flowSKU},
		{"OrgSettingTurnedOn", nil, func(t *testing.T, e env) {
			_, err := e.s.SetAutoClaimEnabled(ctx, e.tenant, false)
			must(t, err)
			_, err = e.s.SetLicenseQuantity(ctx, e.products[flowSKU], 2)
			must(t, err)
			_, err = e.s.SetAutoClaimEnabled(ctx, e.tenant, true)
			must(t, err)
		}, flowSKU},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := mustOpen(t, b)
				e := env{s: s, b: b, c: withClock(t, b, s), tenant: strings.ToLower(tt.name)}
				e.products = claimTenant(t, s, e.tenant, map[string]int{})
				e.policy = mustCreatePolicy(t, s, e.tenant, powerAutomate, true, skuProducts(e.products, flowSKU, premiumSKU)...)
				e.policy = waitlistOn(t, s, e.policy.ID)
				if tt.before != nil {
					tt.before(t, e)
				}
				for i, u := range []string{"a", "b", "c"} {
					wantQueued(t, mustClaim(t, s, claimRequest(e.tenant, u, powerAutomate, cloudFlow)), i+1)
				}
				pools := poolCounts(t, s, e.products)
				tt.free(t, e)
				for _, u := range []string{"a", "b"} {
					if got := heldProducts(t, s, e.tenant, u); fmt.Sprint(got) != fmt.Sprint([]string{e.products[tt.from]}) {
						t.Fatalf("%s holds %v; want a license of %s", u, got, tt.from)
					}
				}
				if got := waitlist(t, s, e.policy.ID); fmt.Sprint(got) != "[c]" {
					t.Fatalf("waitlist = %v; want [c]", got)
				}
				if n := waitlistFills(t, b, e.tenant); n != 2 {
					t.Fatalf("%d waitlist fills in the event stream; want 2", n)
				}
				if after := poolCounts(t, s, e.products); after[tt.from] < 2 && pools[tt.from] == 0 {
					t.Fatalf("pools %v after; want 2 more assigned from %s", after, tt.from)
				}
			})
		}
	})
}

// TestWaitlistEntriesExpire: a user who waited license.WaitlistExpiry
// leaves the waitlist: pages and places leave it out, a fill drops it, and
// its next claim queues it afresh, at the end.
func TestWaitlistEntriesExpire(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		c := withClock(t, b, s)
		products := claimTenant(t, s, "exp", map[string]int{})
		p := mustCreatePolicy(t, s, "exp", powerAutomate, true, skuProducts(products, flowSKU)...)
		waitlistOn(t, s, p.ID)
		wantQueued(t, mustClaim(t, s, claimRequest("exp", "old1", powerAutomate, cloudFlow)), 1)
		wantQueued(t, mustClaim(t, s, claimRequest("exp", "old2", powerAutomate, cloudFlow)), 2)
		c.advance(b, license.WaitlistExpiry-time.Hour)
		wantQueued(t, mustClaim(t, s, claimRequest("exp", "new", powerAutomate, cloudFlow)), 3)
		c.advance(b, 2*time.Hour)
		if got := waitlist(t, s, p.ID); fmt.Sprint(got) != "[new]" {
			t.Fatalf("waitlist after 30 days = %v; want [new]", got)
		}
		wantQueued(t, mustClaim(t, s, claimRequest("exp", "new", powerAutomate, cloudFlow)), 1)
		again := mustClaim(t, s, claimRequest("exp", "old1", powerAutomate, cloudFlow))
		wantQueued(t, again, 2)
		if again.Event == nil {
			t.Fatalf("queued afresh without an event")
		}
		if got := waitlist(t, s, p.ID); fmt.Sprint(got) != "[new old1]" {
			t.Fatalf("waitlist = %v; want [new old1]", got)
		}
		// old2 waited too long: the fill passes it by.
		if _, err := s.SetLicenseQuantity(context.Background(), products[flowSKU], 1); err != nil {
			t.Fatal(err)
		}
		if got := heldProducts(t, s, "exp", "new"); len(got) != 1 {
			t.Fatalf("new holds %v; want the license", got)
		}
		if got := heldProducts(t, s, "exp", "old2"); len(got) != 0 {
			t.Fatalf("old2, who waited too long, holds %v", got)
		}
	})
}

// TestRemoveFromWaitlist: an admin takes a user off; those behind move up.
func TestRemoveFromWaitlist(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "rm", map[string]int{})
		p := mustCreatePolicy(t, s, "rm", powerAutomate, true, skuProducts(products, flowSKU)...)
		waitlistOn(t, s, p.ID)
		for i, u := range []string{"a", "b", "c"} {
			wantQueued(t, mustClaim(t, s, claimRequest("rm", u, powerAutomate, cloudFlow)), i+1)
		}
		if err := s.RemoveFromWaitlist(ctx, p.ID, "b"); err != nil {
			t.Fatal(err)
		}
		wantQueued(t, mustClaim(t, s, claimRequest("rm", "c", powerAutomate, cloudFlow)), 2)
		for _, tt := range []struct{ policy, user, code string }{
			{p.ID, "b", license.ENOTFOUND}, {p.ID, "nobody", license.ENOTFOUND}, {"rm:policy:7", "a", license.ENOTFOUND},
			{p.ID, "bad user", license.EINVALID}, {p.ID, "", license.EINVALID}, {p.ID, strings.Repeat("x", 300), license.EINVALID},
		} {
			err := s.RemoveFromWaitlist(ctx, tt.policy, tt.user)
			wantCode(t, err, tt.code)
			var e *license.Error
			if tt.code == license.EINVALID && (!errors.As(err, &e) || e.Field != "userId") {
				t.Fatalf("RemoveFromWaitlist(%q) = %v; want it about field userId", tt.user, err)
			}
		}
		evs := changeEvents(t, b, "rm", license.ChangeWaitlistRemoved)
		if len(evs) != 1 || evs[0].UserID != "b" || evs[0].PolicyID != p.ID {
			t.Fatalf("WAITLIST_ENTRY_REMOVED events %+v; want one for b", evs)
		}
		page, err := s.AuditLog(ctx, "rm", license.AuditQuery{First: 1, Action: "removeFromWaitlist"})
		if err != nil || len(page.Entries) != 1 || len(page.Entries[0].Changes) != 1 || *page.Entries[0].Changes[0].Before != "2" {
			t.Fatalf("audit = %+v, %v; want b's place before (2), none after", page, err)
		}
	})
}

// TestWaitlistOffEmptiesIt: turned off, the waitlist's users leave it, and
// claims that find no license are denied again.
func TestWaitlistOffEmptiesIt(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "off", map[string]int{})
		p := mustCreatePolicy(t, s, "off", powerAutomate, true, skuProducts(products, flowSKU)...)
		waitlistOn(t, s, p.ID)
		wantQueued(t, mustClaim(t, s, claimRequest("off", "a", powerAutomate, cloudFlow)), 1)
		editPolicy(t, s, p.ID, func(p *license.Policy, _ license.SKULookup) error {
			return p.ApplySettings(license.PolicySettings{WaitlistEnabled: license.Update[bool]{Set: true, Value: false}})
		})
		wantOutcome(t, mustClaim(t, s, claimRequest("off", "a", powerAutomate, cloudFlow)), license.Denied, license.ReasonNoLicenses, "")
		waitlistOn(t, s, p.ID)
		if got := waitlist(t, s, p.ID); len(got) != 0 {
			t.Fatalf("waitlist turned off and on again holds %v", got)
		}
		page, err := s.AuditLog(ctx, "off", license.AuditQuery{First: 2})
		if err != nil || len(page.Entries) != 2 {
			t.Fatal(page, err)
		}
		var fields []string
		for _, c := range page.Entries[1].Changes {
			fields = append(fields, c.Field+":"+*c.Before+">"+*c.After)
		}
		if fmt.Sprint(fields) != "[waitlistEnabled:true>false waitlistedUsers:1>0]" {
			t.Fatalf("audit of turning the waitlist off: %v", fields)
		}
	})
}

// TestLargeReleaseIsWorkedOffInBatches: more licenses than one script walks
// go to the waiting users in order, a batch per script, before the call
// returns.
func TestLargeReleaseIsWorkedOffInBatches(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "big", map[string]int{})
		p := mustCreatePolicy(t, s, "big", powerAutomate, true, skuProducts(products, flowSKU)...)
		waitlistOn(t, s, p.ID)
		var users []string
		for i := range 300 {
			users = append(users, fmt.Sprintf("u%03d", i))
			wantQueued(t, mustClaim(t, s, claimRequest("big", users[i], powerAutomate, cloudFlow)), i+1)
		}
		hook := &scriptCounter{}
		b.Client.AddHook(hook)
		if _, err := s.SetLicenseQuantity(context.Background(), products[flowSKU], 200); err != nil {
			t.Fatal(err)
		}
		if got := waitlist(t, s, p.ID); !slices.Equal(got, users[200:]) {
			t.Fatalf("waitlist after 200 licenses: %d users from %v; want the last 100", len(got), got[:1])
		}
		for _, u := range users[:200] {
			if len(heldProducts(t, s, "big", u)) != 1 {
				t.Fatalf("%s holds no license", u)
			}
		}
		if n := hook.scripts.Load(); n < 4 {
			t.Fatalf("200 fills took %d scripts; want them in batches of at most 64", n)
		}
	})
}

// TestWaitingUserClaimsWithAnotherTrigger: a user waiting for a license
// that covers one trigger may claim, with another trigger, a license free
// now that covers that one; it keeps its place for the first.
func TestWaitingUserClaimsWithAnotherTrigger(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "other", map[string]int{flowSKU: 5})
		p := mustCreatePolicy(t, s, "other", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		waitlistOn(t, s, p.ID)
		wantQueued(t, mustClaim(t, s, claimRequest("other", "early", powerAutomate, attendedRPAFlow)), 1)
		wantQueued(t, mustClaim(t, s, claimRequest("other", "r1", powerAutomate, attendedRPAFlow)), 2)
		wantOutcome(t, mustClaim(t, s, claimRequest("other", "r1", powerAutomate, cloudFlow)), license.Claimed, "", products[flowSKU])
		wantQueued(t, mustClaim(t, s, claimRequest("other", "r1", powerAutomate, attendedRPAFlow)), 2)
		wantOutcome(t, mustClaim(t, s, claimRequest("other", "r1", powerAutomate, cloudFlow)), license.AlreadyLicensed, "", products[flowSKU])
		if _, err := s.SetLicenseQuantity(ctx, products[premiumSKU], 2); err != nil {
			t.Fatal(err)
		}
		if got := heldProducts(t, s, "other", "r1"); !slices.Equal(got, sortedIDs(products[flowSKU], products[premiumSKU])) {
			t.Fatalf("r1 holds %v; want the per-user license, and Premium from its place", got)
		}
		if got := waitlist(t, s, p.ID); len(got) != 0 {
			t.Fatalf("still waiting: %v", got)
		}
	})
}

// TestWorkerFinishesAFillACallLeft: licenses a call made available and left
// unfilled (it stopped after its script) go to the waiting users at the
// next tick of any instance's worker; until then they are theirs: a
// newcomer's claim waits its turn, and a user waiting keeps its place.
func TestWorkerFinishesAFillACallLeft(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		c := withClock(t, b, s)
		products := claimTenant(t, s, "left", map[string]int{})
		p := mustCreatePolicy(t, s, "left", powerAutomate, true, skuProducts(products, flowSKU)...)
		waitlistOn(t, s, p.ID)
		for i, u := range []string{"a", "b", "c"} {
			wantQueued(t, mustClaim(t, s, claimRequest("left", u, powerAutomate, cloudFlow)), i+1)
		}
		// What a call that stopped after its script leaves: licenses, and
		// the unfinished fill's mark.
		if err := b.Client.HIncrBy(ctx, productKey(b, "left", products[flowSKU]), "total", 2).Err(); err != nil {
			t.Fatal(err)
		}
		work := fmt.Sprintf("%s{t:left}:work", b.Prefix)
		mark := store.WorkMember(store.WorkFill, idNumber(t, p.ID))
		if err := b.Client.ZAdd(ctx, work, redis.Z{Score: float64(c.now.Add(time.Second).UnixMilli()), Member: mark}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := waitlist(t, s, p.ID); len(got) != 3 {
			t.Fatalf("the worker filled %v before the fill was due", got)
		}
		wantQueued(t, mustClaim(t, s, claimRequest("left", "newcomer", powerAutomate, cloudFlow)), 4)
		wantQueued(t, mustClaim(t, s, claimRequest("left", "b", powerAutomate, license.TriggerSavePremiumFlow)), 2)
		c.advance(b, time.Second)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := waitlist(t, s, p.ID); fmt.Sprint(got) != "[c newcomer]" {
			t.Fatalf("waitlist after the worker's tick = %v; want [c newcomer]", got)
		}
		if n, err := b.Client.ZScore(ctx, work, mark).Result(); err != redis.Nil {
			t.Fatalf("the finished fill is still marked (%v, %v)", n, err)
		}
	})
}

// scriptCounter counts the scripts a client runs.
type scriptCounter struct{ scripts atomic.Int64 }

func (h *scriptCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name == "evalsha" || name == "eval" {
			h.scripts.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *scriptCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
