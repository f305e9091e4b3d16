package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// releaseSuperseded sets a policy's releaseSupersededLicenses.
func releaseSuperseded(tb testing.TB, s *store.Store, policyID string, on bool) *license.Policy {
	tb.Helper()
	return editPolicy(tb, s, policyID, func(p *license.Policy, _ license.SKULookup) error {
		return p.ApplySettings(license.PolicySettings{ReleaseSupersededLicenses: license.Update[bool]{Set: true, Value: on}})
	})
}

// releasedProducts lists the product ids of a claim's released licenses.
func releasedProducts(res *license.ClaimResult) []string {
	out := []string{}
	for _, l := range res.Released {
		out = append(out, l.ProductID)
	}
	return out
}

// supersededEvents counts the LICENSE_SUPERSEDED events of a tenant by user.
func supersededEvents(tb testing.TB, b *redistest.Backend, tenantID string) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, m := range tenantEvents(tb, b, tenantID) {
		if m.Values["kind"] == string(license.ChangeLicenseSuperseded) {
			out[m.Values["user"].(string)]++
		}
	}
	return out
}

func TestSupersededLicensesAreReleased(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "supersede", map[string]int{flowSKU: 3, premiumSKU: 3})
		flow, premium := products[flowSKU], products[premiumSKU]
		p := mustCreatePolicy(t, s, "supersede", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		if p.ReleaseSupersededLicenses {
			t.Fatal("a new policy releases superseded licenses; want off by default")
		}

		// Off: the per-user license stays with its holder.
		wantOutcome(t, mustClaim(t, s, claimRequest("supersede", "kept", powerAutomate, cloudFlow)), license.Claimed, "", flow)
		res := mustClaim(t, s, claimRequest("supersede", "kept", powerAutomate, attendedRPAFlow))
		wantOutcome(t, res, license.Claimed, "", premium)
		if len(res.Released) != 0 {
			t.Fatalf("released %v with the setting off; want none", releasedProducts(res))
		}

		// On: claiming Premium gives the per-user license back, in the same step.
		p = releaseSuperseded(t, s, p.ID, true)
		if !p.ReleaseSupersededLicenses {
			t.Fatal("the setting reads back off")
		}
		wantOutcome(t, mustClaim(t, s, claimRequest("supersede", "moved", powerAutomate, cloudFlow)), license.Claimed, "", flow)
		wantPools(t, s, products, map[string]int{flowSKU: 2, premiumSKU: 1})
		r := keyedClaim("supersede", "app", "k1", "moved", attendedRPAFlow)
		res = mustClaim(t, s, r)
		wantOutcome(t, res, license.Claimed, "", premium)
		if got := releasedProducts(res); !slices.Equal(got, []string{flow}) {
			t.Fatalf("released %v; want the per-user license %s", got, flow)
		}
		if l := res.Released[0]; l.Source != license.SourceAutoClaim || l.PolicyID != p.ID || l.UserID != "moved" {
			t.Fatalf("released license %+v; want moved's AUTO_CLAIM license under %s", l, p.ID)
		}
		wantPools(t, s, products, map[string]int{flowSKU: 1, premiumSKU: 2})
		if got := heldProducts(t, s, "supersede", "moved"); !slices.Equal(got, []string{premium}) {
			t.Fatalf("moved holds %v; want Premium alone", got)
		}
		if got := supersededEvents(t, b, "supersede"); got["moved"] != 1 || len(got) != 1 {
			t.Fatalf("LICENSE_SUPERSEDED events by user %v; want one, for moved", got)
		}
		claimedAt, releasedAt := -1, -1 // the release's event follows the claim's
		for i, m := range tenantEvents(t, b, "supersede") {
			if m.Values["user"] == "moved" && m.Values["outcome"] == string(license.Claimed) && m.Values["product"] == fmt.Sprint(idNumber(t, premium)) {
				claimedAt = i
			}
			if m.Values["user"] == "moved" && m.Values["kind"] == string(license.ChangeLicenseSuperseded) {
				releasedAt = i
			}
		}
		if claimedAt < 0 || releasedAt != claimedAt+1 {
			t.Fatalf("moved's Premium claim is event %d, its release %d; want the release right after", claimedAt, releasedAt)
		}
		again := mustClaim(t, s, r)
		wantReplayOf(t, again, res)
		if got := releasedProducts(again); !slices.Equal(got, []string{flow}) {
			t.Fatalf("the replay released %v; want what the first answer said, %s", got, flow)
		}
		if p, _ := s.Policy(ctx, p.ID); p.ClaimedLicenses != 3 {
			t.Fatalf("policy counts %d claimed licenses; want 3 (kept's two, moved's Premium)", p.ClaimedLicenses)
		}

		// A license assigned directly is the admin's: it stays.
		if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "supersede", ID: "direct", UserPrincipalName: "direct@s.example", DisplayName: "Direct"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignLicense(ctx, "direct", flow, nil); err != nil {
			t.Fatal(err)
		}
		res = mustClaim(t, s, claimRequest("supersede", "direct", powerAutomate, attendedRPAFlow))
		wantOutcome(t, res, license.Claimed, "", premium)
		if len(res.Released) != 0 {
			t.Fatalf("released %v, a license assigned directly", releasedProducts(res))
		}
		if got := heldProducts(t, s, "supersede", "direct"); !slices.Equal(got, sortedIDs(flow, premium)) {
			t.Fatalf("direct holds %v; want both", got)
		}
	})
}

// TestWaitlistFillReleasesSupersededLicenses: a user waiting for Premium
// who holds the per-user license gives it back when a fill gives it
// Premium, and the next user waiting gets it in the same fill.
func TestWaitlistFillReleasesSupersededLicenses(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "fillsup", map[string]int{flowSKU: 1})
		flow, premium := products[flowSKU], products[premiumSKU]
		p := mustCreatePolicy(t, s, "fillsup", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		waitlistOn(t, s, p.ID)
		releaseSuperseded(t, s, p.ID, true)
		wantOutcome(t, mustClaim(t, s, claimRequest("fillsup", "first", powerAutomate, cloudFlow)), license.Claimed, "", flow)
		if res := mustClaim(t, s, claimRequest("fillsup", "first", powerAutomate, attendedRPAFlow)); res.Outcome != license.Queued {
			t.Fatalf("first's Premium claim = %s; want QUEUED", res.Outcome)
		}
		if res := mustClaim(t, s, claimRequest("fillsup", "second", powerAutomate, cloudFlow)); res.Outcome != license.Queued {
			t.Fatalf("second's claim = %s; want QUEUED", res.Outcome)
		}
		if _, err := s.SetLicenseQuantity(ctx, premium, 1); err != nil {
			t.Fatal(err)
		}
		if got := heldProducts(t, s, "fillsup", "first"); !slices.Equal(got, []string{premium}) {
			t.Fatalf("first holds %v; want Premium alone", got)
		}
		if got := heldProducts(t, s, "fillsup", "second"); !slices.Equal(got, []string{flow}) {
			t.Fatalf("second holds %v; want the per-user license first gave back", got)
		}
		wantPools(t, s, products, map[string]int{flowSKU: 1, premiumSKU: 1})
		if got := waitlist(t, s, p.ID); len(got) != 0 {
			t.Fatalf("still waiting: %v", got)
		}
		if got := supersededEvents(t, b, "fillsup"); got["first"] != 1 {
			t.Fatalf("LICENSE_SUPERSEDED events by user %v; want one for first", got)
		}
	})
}

// TestReleasedLicenseFeedsOtherWaitlists: a license a claim gives back goes
// to the users waiting for it under another app's policy.
func TestReleasedLicenseFeedsOtherWaitlists(t *testing.T) {
	// LESSER serves two apps; FULL serves both with more triggers.
	cat, err := license.BuiltinCatalog().ExtendWith([]byte(`{"apps": [
	  {"id": "APP_X", "displayName": "App X", "triggers": ["SIGN_IN", "LAUNCH_PREMIUM_APP"]},
	  {"id": "APP_Y", "displayName": "App Y", "triggers": ["SIGN_IN"]}],
	 "products": [
	  {"skuId": "0000000b-0000-4000-8000-000000000001", "skuPartNumber": "LESSER", "displayName": "Lesser",
	   "servicePlans": [{"id": "0000000b-0000-4000-8000-0000000000b1", "name": "PLAN_L", "displayName": "Plan L"}],
	   "covers": [{"app": "APP_X", "triggers": ["SIGN_IN"], "requiredPlan": "0000000b-0000-4000-8000-0000000000b1"},
	              {"app": "APP_Y", "triggers": ["SIGN_IN"], "requiredPlan": "0000000b-0000-4000-8000-0000000000b1"}]},
	  {"skuId": "0000000b-0000-4000-8000-000000000002", "skuPartNumber": "FULL", "displayName": "Full",
	   "servicePlans": [{"id": "0000000b-0000-4000-8000-0000000000b2", "name": "PLAN_F", "displayName": "Plan F"}],
	   "covers": [{"app": "APP_X", "triggers": ["SIGN_IN", "LAUNCH_PREMIUM_APP"], "requiredPlan": "0000000b-0000-4000-8000-0000000000b2"},
	              {"app": "APP_Y", "triggers": ["SIGN_IN"], "requiredPlan": "0000000b-0000-4000-8000-0000000000b2"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.Superseded("FULL"); !slices.Equal(got, []string{"LESSER"}) {
		t.Fatalf("FULL supersedes %v; want [LESSER]", got)
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := store.New(b.Client, cat, b.Prefix)
		if err := s.LoadScripts(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		products := claimTenant(t, s, "feed", map[string]int{"LESSER": 1, "FULL": 1})
		if _, err := s.SetPolicyLimit(ctx, "feed", 2); err != nil {
			t.Fatal(err)
		}
		x := mustCreatePolicy(t, s, "feed", "APP_X", true, skuProducts(products, "LESSER", "FULL")...)
		releaseSuperseded(t, s, x.ID, true)
		y := mustCreatePolicy(t, s, "feed", "APP_Y", true, skuProducts(products, "LESSER")...)
		waitlistOn(t, s, y.ID)
		wantOutcome(t, mustClaim(t, s, claimRequest("feed", "upgrader", "APP_X", license.TriggerSignIn)), license.Claimed, "", products["LESSER"])
		if res := mustClaim(t, s, claimRequest("feed", "waiter", "APP_Y", license.TriggerSignIn)); res.Outcome != license.Queued {
			t.Fatalf("waiter's claim = %s; want QUEUED", res.Outcome)
		}
		res := mustClaim(t, s, claimRequest("feed", "upgrader", "APP_X", license.TriggerLaunchPremiumApp))
		wantOutcome(t, res, license.Claimed, "", products["FULL"])
		if got := releasedProducts(res); !slices.Equal(got, []string{products["LESSER"]}) {
			t.Fatalf("released %v; want LESSER", got)
		}
		if got := heldProducts(t, s, "feed", "waiter"); !slices.Equal(got, []string{products["LESSER"]}) {
			t.Fatalf("waiter holds %v; want the LESSER license upgrader gave back", got)
		}
		if got := waitlist(t, s, y.ID); len(got) != 0 {
			t.Fatalf("still waiting: %v", got)
		}
		if y, err := s.Policy(ctx, y.ID); err != nil || y.ClaimedLicenses != 1 {
			t.Fatalf("APP_Y's policy: %+v, %v; want 1 claimed license", y, err)
		}
	})
}

// TestSupersededReleaseUnderConcurrency: holders of the per-user license
// claim Premium while newcomers claim the per-user license: every pool adds
// up, nobody ends with neither license nor with both, and every per-user
// license given back went to a newcomer or stayed free.
func TestSupersededReleaseUnderConcurrency(t *testing.T) {
	const holders, newcomers, premiums = 40, 40, 25
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "race", map[string]int{flowSKU: holders})
		flow, premium := products[flowSKU], products[premiumSKU]
		p := mustCreatePolicy(t, s, "race", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		releaseSuperseded(t, s, p.ID, true)
		for i := range holders {
			wantOutcome(t, mustClaim(t, s, claimRequest("race", fmt.Sprintf("h%d", i), powerAutomate, cloudFlow)), license.Claimed, "", flow)
		}
		if _, err := s.SetLicenseQuantity(ctx, premium, premiums); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, holders+newcomers)
		upgraded := make(chan string, holders)
		for i := range holders + newcomers {
			wg.Go(func() {
				user, trigger := fmt.Sprintf("h%d", i), attendedRPAFlow
				if i >= holders {
					user, trigger = fmt.Sprintf("n%d", i-holders), cloudFlow
				}
				res, err := s.Claim(ctx, claimRequest("race", user, powerAutomate, trigger))
				if err != nil {
					errs <- err
					return
				}
				if i < holders && res.Outcome == license.Claimed {
					if got := releasedProducts(res); !slices.Equal(got, []string{flow}) {
						errs <- fmt.Errorf("%s claimed Premium and released %v; want its per-user license", user, got)
					}
					upgraded <- user
				}
			})
		}
		wg.Wait()
		close(errs)
		close(upgraded)
		for err := range errs {
			t.Fatal(err)
		}
		up := map[string]bool{}
		for u := range upgraded {
			up[u] = true
		}
		held := map[string]int{}
		for i := range holders {
			user := fmt.Sprintf("h%d", i)
			got := heldProducts(t, s, "race", user)
			want := []string{flow}
			if up[user] {
				want = []string{premium}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s (upgraded %v) holds %v; want %v", user, up[user], got, want)
			}
			held[got[0]]++
		}
		for i := range newcomers {
			for _, id := range heldProducts(t, s, "race", fmt.Sprintf("n%d", i)) {
				held[id]++
			}
		}
		counts := poolCounts(t, s, products)
		if counts[flowSKU] != held[flow] || counts[premiumSKU] != held[premium] {
			t.Fatalf("pools say %v assigned; users hold %d per-user and %d Premium", counts, held[flow], held[premium])
		}
		// Premium went out in full; the per-user pool, after the releases, to newcomers until none was left.
		if counts[premiumSKU] != premiums {
			t.Fatalf("Premium assigned %d of %d; want all", counts[premiumSKU], premiums)
		}
		if got := supersededEvents(t, b, "race"); len(got) != len(up) {
			t.Fatalf("%d LICENSE_SUPERSEDED events; want one per upgraded holder (%d)", len(got), len(up))
		}
		if p, _ := s.Policy(ctx, p.ID); p.ClaimedLicenses != held[flow]+held[premium] {
			t.Fatalf("policy counts %d claimed licenses; users hold %d", p.ClaimedLicenses, held[flow]+held[premium])
		}
	})
}

// TestWorkerFeedsWaitlistsALeftReleaseFeeds: licenses a claim gave back
// whose caller stopped after the script (the mark "p:<product>" left in
// the tenant's work) go to the users waiting at the next tick of a worker
// once due; until then, a newcomer's claim under the policy waits its turn.
func TestWorkerFeedsWaitlistsALeftReleaseFeeds(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		c := withClock(t, b, s)
		products := claimTenant(t, s, "leftrel", map[string]int{})
		flow := products[flowSKU]
		p := mustCreatePolicy(t, s, "leftrel", powerAutomate, true, skuProducts(products, flowSKU)...)
		waitlistOn(t, s, p.ID)
		wantQueued(t, mustClaim(t, s, claimRequest("leftrel", "w", powerAutomate, cloudFlow)), 1)
		// What a releasing claim whose caller stopped leaves: a license
		// back in the pool, the policy's fill mark and the product's.
		if err := b.Client.HIncrBy(ctx, productKey(b, "leftrel", flow), "total", 1).Err(); err != nil {
			t.Fatal(err)
		}
		work := fmt.Sprintf("%s{t:leftrel}:work", b.Prefix)
		due := float64(c.now.Add(time.Second).UnixMilli())
		marks := []string{store.WorkMember(store.WorkFill, idNumber(t, p.ID)), store.WorkMember(store.WorkRelease, idNumber(t, flow))}
		for _, m := range marks {
			if err := b.Client.ZAdd(ctx, work, redis.Z{Score: due, Member: m}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		wantQueued(t, mustClaim(t, s, claimRequest("leftrel", "newcomer", powerAutomate, cloudFlow)), 2)
		c.advance(b, time.Second)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := heldProducts(t, s, "leftrel", "w"); !slices.Equal(got, []string{flow}) {
			t.Fatalf("w holds %v after the worker's tick; want the license", got)
		}
		if got := waitlist(t, s, p.ID); !slices.Equal(got, []string{"newcomer"}) {
			t.Fatalf("waitlist %v; want [newcomer]", got)
		}
		for _, m := range marks {
			if n, err := b.Client.ZScore(ctx, work, m).Result(); err != redis.Nil {
				t.Fatalf("mark %s still there (%v, %v)", m, n, err)
			}
		}
	})
}

// TestFillReleasesALicenseOfAProductThePolicyDropped: a license claimed
// under the policy of a product removed from it since is given back by a
// fill that gives its holder a product superseding it, as by a claim.
func TestFillReleasesALicenseOfAProductThePolicyDropped(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "dropped", map[string]int{flowSKU: 2})
		flow, premium := products[flowSKU], products[premiumSKU]
		p := mustCreatePolicy(t, s, "dropped", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		waitlistOn(t, s, p.ID)
		releaseSuperseded(t, s, p.ID, true)
		wantOutcome(t, mustClaim(t, s, claimRequest("dropped", "b", powerAutomate, cloudFlow)), license.Claimed, "", flow)
		editPolicy(t, s, p.ID, func(p *license.Policy, _ license.SKULookup) error {
			p.Products = p.Products[1:] // Premium alone
			return nil
		})
		wantQueued(t, mustClaim(t, s, claimRequest("dropped", "b", powerAutomate, attendedRPAFlow)), 1)
		if _, err := s.SetLicenseQuantity(ctx, premium, 1); err != nil {
			t.Fatal(err)
		}
		if got := heldProducts(t, s, "dropped", "b"); !slices.Equal(got, []string{premium}) {
			t.Fatalf("b holds %v; want Premium alone, the per-user license given back", got)
		}
		wantPools(t, s, products, map[string]int{premiumSKU: 1})
	})
}

// TestApprovalReleasesSupersededLicenses: an approval that assigns a
// product gives back the licenses it supersedes, as a claim does.
func TestApprovalReleasesSupersededLicenses(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "apprel", map[string]int{flowSKU: 1, premiumSKU: 1})
		flow, premium := products[flowSKU], products[premiumSKU]
		p := mustCreatePolicy(t, s, "apprel", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		releaseSuperseded(t, s, p.ID, true)
		wantOutcome(t, mustClaim(t, s, claimRequest("apprel", "holder", powerAutomate, cloudFlow)), license.Claimed, "", flow)
		approvalOn(t, s, p.ID, true)
		req := wantPending(t, mustClaim(t, s, claimRequest("apprel", "holder", powerAutomate, attendedRPAFlow)))
		got, err := s.ApproveRequest(withActor("boss", "GLOBAL_ADMIN"), req.ID)
		if err != nil || got.Outcome != license.Claimed {
			t.Fatalf("approve = %+v, %v; want CLAIMED", got, err)
		}
		if held := heldProducts(t, s, "apprel", "holder"); !slices.Equal(held, []string{premium}) {
			t.Fatalf("holder holds %v; want Premium alone", held)
		}
		wantPools(t, s, products, map[string]int{premiumSKU: 1})
		if got := supersededEvents(t, b, "apprel"); got["holder"] != 1 {
			t.Fatalf("LICENSE_SUPERSEDED events by user %v; want one for holder", got)
		}
	})
}
