package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

const day = 24 * time.Hour

// inactive reads a policy's whole dry run, a page of first at a time: the
// users whose licenses it lists, in order, and its totalCount.
func inactive(tb testing.TB, s *store.Store, policyID string, days, first int) ([]string, int) {
	tb.Helper()
	var users []string
	after, total := "", -1
	for {
		page, err := s.InactiveLicenses(context.Background(), policyID, days, first, after)
		if err != nil {
			tb.Fatalf("InactiveLicenses: %v", err)
		}
		if total >= 0 && page.TotalCount != total {
			tb.Fatalf("totalCount %d on one page, %d on the next", total, page.TotalCount)
		}
		total = page.TotalCount
		for _, l := range page.Licenses {
			if l.Source != license.SourceAutoClaim || l.PolicyID != policyID {
				tb.Fatalf("the dry run lists %+v; want only licenses claimed under %s", l, policyID)
			}
			users = append(users, l.UserID)
		}
		if !page.HasNextPage {
			return users, total
		}
		after = page.Cursors[len(page.Cursors)-1]
	}
}

// changeEvents returns the admin changes of a kind in a tenant's stream.
func changeEvents(tb testing.TB, b *redistest.Backend, tenantID string, kind license.ChangeKind) []*license.ChangeEvent {
	tb.Helper()
	var out []*license.ChangeEvent
	for _, m := range tenantEvents(tb, b, tenantID) {
		if ev := store.DecodeEvent(tenantID, m); ev.Change != nil && ev.Change.Kind == kind {
			out = append(out, ev.Change)
		}
	}
	return out
}

// TestReclaimReleasesWhatTheDryRunLists: the dry run lists the licenses
// claimed under the policy unused for the days asked, by their records
// (a license used since it was claimed is not idle, whatever the index
// says), and the reclaim releases exactly those; licenses assigned
// directly are never listed nor reclaimed.
func TestReclaimReleasesWhatTheDryRunLists(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "rc", map[string]int{flowSKU: 10})
		p := mustCreatePolicy(t, s, "rc", powerAutomate, true, skuProducts(products, flowSKU)...)
		for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
			wantOutcome(t, mustClaim(t, s, claimRequest("rc", u, powerAutomate, cloudFlow)), license.Claimed, "", products[flowSKU])
		}
		mustUser(t, s, "rc", "d1", "d2")
		for _, u := range []string{"d1", "d2"} {
			if _, err := s.AssignLicense(ctx, u, products[flowSKU], nil); err != nil {
				t.Fatal(err)
			}
		}
		ageLicenses(t, b, s, "rc", 40*day, "u3", "u1", "u2", "u4", "d1", "d2")
		ageLicenses(t, b, s, "rc", 10*day, "u5")
		// u2 used its license today: not idle, though claimed long ago.
		wantOutcome(t, mustClaim(t, s, claimRequest("rc", "u2", powerAutomate, cloudFlow)), license.AlreadyLicensed, "", products[flowSKU])

		for _, tt := range []struct {
			days  int
			users []string
		}{{30, []string{"u1", "u3", "u4"}}, {7, []string{"u1", "u3", "u4", "u5"}}, {365, nil}} {
			for _, first := range []int{1, 2, 50} {
				users, total := inactive(t, s, p.ID, tt.days, first)
				slices.Sort(users)
				if !slices.Equal(users, tt.users) || total != len(tt.users) {
					t.Fatalf("dry run of %d days (pages of %d) = %v (totalCount %d); want %v", tt.days, first, users, total, tt.users)
				}
			}
		}
		for _, days := range []int{0, 6, 366} {
			_, err := s.InactiveLicenses(ctx, p.ID, days, 10, "")
			wantCode(t, err, license.EINVALID)
			_, err = s.ReclaimInactiveLicenses(ctx, p.ID, days)
			wantCode(t, err, license.EINVALID)
		}
		_, err := s.ReclaimInactiveLicenses(ctx, "rc:policy:9", 30)
		wantCode(t, err, license.ENOTFOUND)

		n, err := s.ReclaimInactiveLicenses(ctx, p.ID, 30)
		if err != nil || n != 3 {
			t.Fatalf("ReclaimInactiveLicenses = %d, %v; want 3", n, err)
		}
		for u, want := range map[string]int{"u1": 0, "u3": 0, "u4": 0, "u2": 1, "u5": 1, "u6": 1, "d1": 1, "d2": 1} {
			if got := len(heldProducts(t, s, "rc", u)); got != want {
				t.Errorf("%s holds %d licenses after the reclaim; want %d", u, got, want)
			}
		}
		wantPools(t, s, products, map[string]int{flowSKU: 5})
		if after, _ := inactive(t, s, p.ID, 30, 50); len(after) != 0 {
			t.Fatalf("dry run after the reclaim lists %v; want none", after)
		}
		if n, err := s.ReclaimInactiveLicenses(ctx, p.ID, 30); err != nil || n != 0 {
			t.Fatalf("a second reclaim = %d, %v; want 0", n, err)
		}
		events := changeEvents(t, b, "rc", license.ChangeLicenseReclaimed)
		var reclaimed []string
		for _, ev := range events {
			if ev.PolicyID != p.ID || ev.ProductID != products[flowSKU] || ev.Actor == nil || ev.Actor.Subject != license.System.Subject {
				t.Fatalf("LICENSE_RECLAIMED event %+v; want policy %s, product %s, actor autoclaim", ev, p.ID, products[flowSKU])
			}
			reclaimed = append(reclaimed, ev.UserID)
		}
		slices.Sort(reclaimed)
		if fmt.Sprint(reclaimed) != "[u1 u3 u4]" {
			t.Fatalf("LICENSE_RECLAIMED events for %v; want [u1 u3 u4]", reclaimed)
		}
		if got, _ := s.Policy(ctx, p.ID); got.ClaimedLicenses != 3 {
			t.Fatalf("claimedLicenses %d after the reclaim; want 3", got.ClaimedLicenses)
		}
		rep, err := s.Report(ctx, "rc", 1)
		if err != nil || rep.Policies[0].Reclaimed != 3 || rep.Policies[0].Daily[0].Reclaimed != 3 {
			t.Fatalf("report = %+v, %v; want 3 reclaimed today", rep.Policies[0], err)
		}
		page, err := s.AuditLog(ctx, "rc", license.AuditQuery{First: 1, Action: "reclaimInactiveLicenses"})
		if err != nil || len(page.Entries) != 1 || len(page.Entries[0].Changes) != 3 {
			t.Fatalf("audit log = %+v, %v; want one entry with three licenses", page, err)
		}
		for _, c := range page.Entries[0].Changes {
			if c.Before == nil || c.After != nil || *c.Before != products[flowSKU]+" (AUTO_CLAIM)" {
				t.Fatalf("audit change %s: %v -> %v; want the license before, none after", c.Field, c.Before, c.After)
			}
		}
	})
}

// TestSweepsReclaimOncePerHourUnderALease: with a reclaim period set, the
// workers of two instances sweep concurrently and release each idle license
// once; a policy is swept at most hourly; a lease another holds stops a
// sweep until it lapses.
func TestSweepsReclaimOncePerHourUnderALease(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s1, s2 := mustOpen(t, b), mustOpen(t, b)
		c := withClock(t, b, s1)
		s2.Now = c.Now
		ctx := context.Background()
		products := claimTenant(t, s1, "sw", map[string]int{flowSKU: 100})
		p := mustCreatePolicy(t, s1, "sw", powerAutomate, true, skuProducts(products, flowSKU)...)
		claimIdle := func(users ...string) {
			t.Helper()
			for _, u := range users {
				wantOutcome(t, mustClaim(t, s1, claimRequest("sw", u, powerAutomate, cloudFlow)), license.Claimed, "", products[flowSKU])
			}
			ageLicenses(t, b, s1, "sw", 8*day, users...)
		}
		var first []string
		for i := range 70 {
			first = append(first, fmt.Sprintf("u%02d", i))
		}
		claimIdle(first...)
		setReclaim(t, s1, p.ID, 7)

		var wg sync.WaitGroup
		for _, s := range []*store.Store{s1, s2, s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Tick(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		reclaimed := map[string]int{}
		for _, ev := range changeEvents(t, b, "sw", license.ChangeLicenseReclaimed) {
			reclaimed[ev.UserID]++
		}
		for _, u := range first {
			if reclaimed[u] != 1 {
				t.Fatalf("%s's license reclaimed %d times; want once (all: %v)", u, reclaimed[u], reclaimed)
			}
		}
		wantPools(t, s1, products, map[string]int{})

		// Within the hour, no second sweep.
		claimIdle("v1", "v2")
		c.advance(b, 59*time.Minute)
		if err := s2.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		wantPools(t, s1, products, map[string]int{flowSKU: 2})

		// An hour on, while another instance holds the lease, none either.
		c.advance(b, 2*time.Minute)
		lease := fmt.Sprintf("%s{t:sw}:lease:s:%d", b.Prefix, idNumber(t, p.ID))
		if err := b.Client.Set(ctx, lease, "a crashed instance", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s1.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		wantPools(t, s1, products, map[string]int{flowSKU: 2})

		// Its lease lapses; the next tick sweeps.
		if b.Mini != nil {
			b.Mini.FastForward(time.Minute)
		} else if err := b.Client.PExpire(ctx, lease, time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		for b.Client.Exists(ctx, lease).Val() == 1 {
			time.Sleep(time.Millisecond)
		}
		if err := s2.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		wantPools(t, s1, products, map[string]int{})
		page, err := s1.AuditLog(ctx, "sw", license.AuditQuery{First: 10, Action: "reclaimInactiveLicenses"})
		if err != nil || len(page.Entries) == 0 || page.Entries[0].Actor.Subject != license.System.Subject {
			t.Fatalf("audit log = %+v, %v; want the sweeps' entries, by autoclaim", page, err)
		}

		// Reclaiming off: no sweep is due any more.
		setReclaim(t, s1, p.ID, 0)
		claimIdle("w1")
		c.advance(b, 2*time.Hour)
		if err := s1.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		wantPools(t, s1, products, map[string]int{flowSKU: 1})
	})
}

// TestLowLicenseAlertFiresOncePerCrossing: a product's LOW_LICENSES event
// comes with the change that takes its available count from above its
// threshold to at or below it, once, whichever change that is (claims,
// concurrent ones included, a direct assignment, a lower quantity, a
// waitlist fill), and again only after the count went above it.
func TestLowLicenseAlertFiresOncePerCrossing(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "low", map[string]int{flowSKU: 40})
		flow := products[flowSKU]
		p := mustCreatePolicy(t, s, "low", powerAutomate, true, skuProducts(products, flowSKU)...)
		alerts := func() int { return len(changeEvents(t, b, "low", license.ChangeLowLicenses)) }
		setThreshold := func(n int) {
			t.Helper()
			got, err := s.SetLowLicenseThreshold(ctx, flow, n)
			if err != nil || got.LowLicenseThreshold != n {
				t.Fatalf("SetLowLicenseThreshold(%d) = %+v, %v", n, got, err)
			}
		}
		for _, n := range []int{-1, license.MaxQuantity + 1} {
			_, err := s.SetLowLicenseThreshold(ctx, flow, n)
			wantCode(t, err, license.EINVALID)
		}
		setThreshold(5)

		// 64 claims at once take the pool from 40 to 5 and below: one alert.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var holders []string
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.Claim(ctx, claimRequest("low", fmt.Sprint("c", i), powerAutomate, cloudFlow))
				if err != nil {
					t.Error(err)
					return
				}
				if res.Outcome == license.Claimed {
					mu.Lock()
					holders = append(holders, fmt.Sprint("c", i))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if n := alerts(); n != 1 {
			t.Fatalf("%d LOW_LICENSES events after the pool crossed its threshold; want 1", n)
		}
		ev := changeEvents(t, b, "low", license.ChangeLowLicenses)[0]
		if ev.ProductID != flow || *ev.Threshold != 5 || *ev.TotalLicenses-*ev.AssignedLicenses != 5 || ev.Actor != nil {
			t.Fatalf("LOW_LICENSES = %+v; want product %s at 5 available, threshold 5, no actor", ev, flow)
		}
		// The alert follows the claim that took the pool there.
		var claimed []string // the CLAIMED events' available counts, in stream order, up to the alert
		for _, m := range tenantEvents(t, b, "low") {
			if m.Values["kind"] == string(license.ChangeLowLicenses) {
				break
			}
			if m.Values["outcome"] == string(license.Claimed) {
				claimed = append(claimed, m.Values["available"].(string))
			}
		}
		if len(claimed) == 0 || claimed[len(claimed)-1] != "5" {
			t.Fatalf("the CLAIMED events before the alert end at %v available; want the claim that left 5", claimed)
		}
		// Back up to 5 (not above): still low, no new alert when it drops.
		for _, u := range holders[:5] {
			if err := s.RemoveLicense(ctx, u, flow); err != nil {
				t.Fatal(err)
			}
		}
		mustUser(t, s, "low", "d1")
		if _, err := s.AssignLicense(ctx, "d1", flow, nil); err != nil {
			t.Fatal(err)
		}
		if n := alerts(); n != 1 {
			t.Fatalf("%d LOW_LICENSES events; want still 1 (the count never went above the threshold)", n)
		}
		// Above it, then down by a direct assignment: the second alert.
		for _, u := range holders[5:7] {
			if err := s.RemoveLicense(ctx, u, flow); err != nil {
				t.Fatal(err)
			}
		}
		mustUser(t, s, "low", "d2")
		if _, err := s.AssignLicense(ctx, "d2", flow, nil); err != nil {
			t.Fatal(err)
		}
		if n := alerts(); n != 2 {
			t.Fatalf("%d LOW_LICENSES events; want 2", n)
		}
		// A quantity raised, then lowered: the third.
		for _, q := range []int{60, 36} {
			if _, err := s.SetLicenseQuantity(ctx, flow, q); err != nil {
				t.Fatal(err)
			}
		}
		if n := alerts(); n != 3 {
			t.Fatalf("%d LOW_LICENSES events; want 3", n)
		}
		// Setting a threshold sends none, even with the count below it.
		setThreshold(30)
		if n := alerts(); n != 3 {
			t.Fatalf("%d LOW_LICENSES events after setting a threshold; want 3", n)
		}
		got, _ := s.Product(ctx, flow)
		if !got.RunningLow() {
			t.Fatalf("%+v is not running low", got)
		}
		// Raised for a waitlist that takes all but one: the fourth, with the raise.
		waitlistOn(t, s, p.ID)
		if _, err := s.SetLicenseQuantity(ctx, flow, got.AssignedLicenses); err != nil {
			t.Fatal(err)
		}
		setThreshold(1)
		for i := range 3 {
			wantQueued(t, mustClaim(t, s, claimRequest("low", fmt.Sprint("w", i), powerAutomate, cloudFlow)), i+1)
		}
		if _, err := s.SetLicenseQuantity(ctx, flow, got.AssignedLicenses+5); err != nil {
			t.Fatal(err)
		}
		if n := alerts(); n != 3 {
			t.Fatalf("%d LOW_LICENSES events: a raise whose licenses went to the waitlist left the count above the threshold; want 3", n)
		}
		// A claim's answer, its replay and a licensed re-claim show the threshold.
		keyed := claimRequest("low", "last", powerAutomate, cloudFlow)
		keyed.IdempotencyKey, keyed.Caller = "k1", "app"
		for _, tt := range []struct {
			r    license.ClaimRequest
			want license.Outcome
		}{{keyed, license.Claimed}, {keyed, license.Claimed}, {claimRequest("low", "last", powerAutomate, cloudFlow), license.AlreadyLicensed}} {
			res := mustClaim(t, s, tt.r)
			wantOutcome(t, res, tt.want, "", flow)
			if res.Product == nil || res.Product.LowLicenseThreshold != 1 {
				t.Fatalf("%s (replayed %v) answered product %+v; want its threshold, 1", res.Outcome, res.Replayed, res.Product)
			}
		}
		if n := alerts(); n != 4 {
			t.Fatalf("%d LOW_LICENSES events; want 4", n)
		}
	})
}
