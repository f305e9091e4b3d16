package store_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// TestClaimAnswersALicensedUserFirst: a license that covers the app and
// trigger answers ALREADY_LICENSED whatever the org setting and the
// policy's status say; a user without one is denied by them as before.
func TestClaimAnswersALicensedUserFirst(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "first", map[string]int{flowSKU: 5})
		p := mustCreatePolicy(t, s, "first", powerAutomate, true, skuProducts(products, flowSKU)...)
		wantOutcome(t, mustClaim(t, s, claimRequest("first", "holder", powerAutomate, cloudFlow)), license.Claimed, "", products[flowSKU])
		if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "first", ID: "direct", UserPrincipalName: "direct@first.example", DisplayName: "D"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignLicense(ctx, "direct", products[flowSKU], nil); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			turn   func()
			reason license.Reason // of a user without a license
		}{
			{"PolicyOff", func() { editPolicy(t, s, p.ID, setPolicyEnabled(false)) }, license.ReasonPolicyDisabled},
			{"OrgSettingOffToo", func() {
				if _, err := s.SetAutoClaimEnabled(ctx, "first", false); err != nil {
					t.Fatal(err)
				}
			}, license.ReasonAutoClaimDisabled},
			{"OrgSettingOffPolicyOn", func() { editPolicy(t, s, p.ID, setPolicyEnabled(true)) }, license.ReasonAutoClaimDisabled},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.turn()
				for _, user := range []string{"holder", "direct"} {
					res := mustClaim(t, s, claimRequest("first", user, powerAutomate, license.TriggerSavePremiumFlow))
					wantOutcome(t, res, license.AlreadyLicensed, "", products[flowSKU])
				}
				wantOutcome(t, mustClaim(t, s, claimRequest("first", "newcomer", powerAutomate, cloudFlow)), license.Denied, tc.reason, "")
			})
		}
	})
}

// TestClaimThatChangesNothingWritesNothing: re-claims by a licensed user
// leave every key as it was, but for the license's lastUsedAt, stamped by
// the first re-claim of a UTC day after the one it was last stamped on.
func TestClaimThatChangesNothingWritesNothing(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "quiet", map[string]int{flowSKU: 5})
		mustCreatePolicy(t, s, "quiet", powerAutomate, true, skuProducts(products, flowSKU)...)
		first := mustClaim(t, s, claimRequest("quiet", "u1", powerAutomate, cloudFlow))
		if !first.License.LastUsedAt.Equal(first.License.AssignedAt) {
			t.Fatalf("a license claimed now: lastUsedAt %v; want its assignedAt %v", first.License.LastUsedAt, first.License.AssignedAt)
		}
		before := b.Snapshot(t)
		reclaim := func(key string) *license.ClaimResult {
			r := claimRequest("quiet", "u1", powerAutomate, license.TriggerSavePremiumFlow)
			r.IdempotencyKey, r.Caller = key, "app"
			res := mustClaim(t, s, r)
			wantOutcome(t, res, license.AlreadyLicensed, "", products[flowSKU])
			if res.Event != nil {
				t.Fatalf("ALREADY_LICENSED answered event %+v; want none", res.Event)
			}
			return res
		}
		for i := range 20 {
			reclaim(fmt.Sprintf("k%d", i%3))
		}
		if after := b.Snapshot(t); !maps.Equal(after, before) {
			t.Fatalf("re-claims the day of the claim changed Redis:\n%s", diff(before, after))
		}

		// The license as it would be after two days unused.
		licensesKey := b.Prefix + "{t:quiet}:l:" + fmt.Sprint(store.UserBucket("u1"))
		old := time.UnixMilli(first.License.AssignedAt.UnixMilli() - 2*dayMS).UTC()
		rec := store.EncodeLicense(&license.License{Source: license.SourceAutoClaim, AssignedAt: old,
			DisabledServicePlanIDs: first.License.DisabledServicePlanIDs}, idNumber(t, first.License.PolicyID), flowSKU)
		entry := store.EncodeLicenses([]store.HeldLicense{{Product: idNumber(t, products[flowSKU]), Record: rec}})
		if err := b.Client.HSet(ctx, licensesKey, "u1", entry).Err(); err != nil {
			t.Fatal(err)
		}
		before = b.Snapshot(t)
		stamped := reclaim("k-next-day")
		if !stamped.License.AssignedAt.Equal(old) || !stamped.License.LastUsedAt.After(old.Add(24*time.Hour)) {
			t.Fatalf("the first re-claim of a later day: license assigned %v, last used %v; want assigned %v, last used now",
				stamped.License.AssignedAt, stamped.License.LastUsedAt, old)
		}
		after := b.Snapshot(t)
		if changed := diffKeys(before, after); len(changed) != 1 || changed[0] != licensesKey {
			t.Fatalf("the first re-claim of a day changed %v; want only %s (lastUsedAt)", changed, licensesKey)
		}
		for range 5 {
			if again := reclaim("k-next-day"); !again.License.LastUsedAt.Equal(stamped.License.LastUsedAt) {
				t.Fatalf("a second re-claim that day: last used %v; want %v, stamped once a day", again.License.LastUsedAt, stamped.License.LastUsedAt)
			}
		}
		if again := b.Snapshot(t); !maps.Equal(again, after) {
			t.Fatalf("later re-claims that day changed Redis:\n%s", diff(after, again))
		}
		ls, err := s.Licenses(ctx, "quiet", "u1")
		if err != nil || len(ls) != 1 || !ls[0].LastUsedAt.Equal(stamped.License.LastUsedAt) {
			t.Fatalf("Licenses = %+v, %v; want the one license last used %v", ls, err, stamped.License.LastUsedAt)
		}
	})
}

// TestDenialsAreBounded: a denied claim records no user; one user turned
// away again and again for one reason under one policy (or app) adds one
// event a day; every denial is counted in the report, per day and reason.
func TestDenialsAreBounded(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "denials", map[string]int{flowSKU: 5})
		p := mustCreatePolicy(t, s, "denials", powerAutomate, false, skuProducts(products, flowSKU)...)
		events := len(tenantEvents(t, b, "denials"))
		deny := func(user, app string, trigger license.Trigger, reason license.Reason, times int) {
			t.Helper()
			for range times {
				r := claimRequest("denials", user, app, trigger)
				r.UserPrincipalName, r.DisplayName = user+"@denials.example", "Someone"
				wantOutcome(t, mustClaim(t, s, r), license.Denied, reason, "")
			}
		}
		wantEvents := func(n int) {
			t.Helper()
			if got := len(tenantEvents(t, b, "denials")); got != events+n {
				t.Fatalf("denial events: got %d; want %d", got-events, n)
			}
		}
		deny("stranger", powerAutomate, cloudFlow, license.ReasonPolicyDisabled, 50)
		wantEvents(1)
		if _, err := s.User(ctx, "denials", "stranger"); license.ErrorCode(err) != license.ENOTFOUND {
			t.Fatalf("User(stranger) after 50 denials: %v; want NOT_FOUND", err)
		}
		deny("stranger", powerAutomate, attendedRPAFlow, license.ReasonPolicyDisabled, 3) // another trigger, same reason
		wantEvents(1)
		deny("other", powerAutomate, cloudFlow, license.ReasonPolicyDisabled, 2)
		wantEvents(2)
		deny("stranger", powerApps, license.TriggerSignIn, license.ReasonNoPolicy, 4)
		wantEvents(3)
		editPolicy(t, s, p.ID, setPolicyEnabled(true))
		events = len(tenantEvents(t, b, "denials"))
		deny("stranger", powerAutomate, attendedRPAFlow, license.ReasonTriggerNotEligible, 7)
		wantEvents(1)

		rep, err := s.Report(ctx, "denials", 7)
		if err != nil {
			t.Fatal(err)
		}
		pr := rep.Policies[0]
		wantDenials := []license.DenialCount{{Reason: license.ReasonPolicyDisabled, Count: 55}, {Reason: license.ReasonTriggerNotEligible, Count: 7}}
		if fmt.Sprint(pr.Denials) != fmt.Sprint(wantDenials) {
			t.Fatalf("policy's denials = %v; want %v", pr.Denials, wantDenials)
		}
		if today := pr.Daily[len(pr.Daily)-1]; today.Denied != 62 || today.Claims != 0 {
			t.Fatalf("today = %+v; want 62 denied, 0 claims", today)
		}
		for _, d := range pr.Daily[:len(pr.Daily)-1] {
			if d.Denied != 0 {
				t.Fatalf("day %s: %d denied; want 0", d.Date, d.Denied)
			}
		}
		wantAll := []license.DenialCount{{Reason: license.ReasonNoPolicy, Count: 4}, {Reason: license.ReasonPolicyDisabled, Count: 55},
			{Reason: license.ReasonTriggerNotEligible, Count: 7}}
		if fmt.Sprint(rep.Denials) != fmt.Sprint(wantAll) {
			t.Fatalf("the tenant's denials = %v; want %v (those of an app without a policy included)", rep.Denials, wantAll)
		}
		page, err := s.Users(ctx, "denials", 100, "")
		if err != nil || page.TotalCount != 1 || len(page.Users) != 1 {
			t.Fatalf("Users = %+v, %v; want only the admin", page, err)
		}
	})
}

// diffKeys lists the keys whose contents differ between two snapshots.
func diffKeys(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if w, ok := before[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// diff describes how two snapshots differ.
func diff(before, after map[string]string) string {
	out := ""
	for _, k := range diffKeys(before, after) {
		out += fmt.Sprintf("%s:\n  before %q\n  after  %q\n", k, before[k], after[k])
	}
	return out
}
