package store_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// Catalog names the claim tests use.
const (
	flowSKU       = "FLOW_PER_USER"              // Power Automate per user: cloud flows only
	premiumSKU    = "POWERAUTOMATE_ATTENDED_RPA" // Power Automate Premium: cloud flows and attended RPA
	appsSKU       = "POWERAPPS_PER_USER"         // Power Apps per user
	powerAutomate = "POWER_AUTOMATE"
	powerApps     = "POWER_APPS"

	planExchange    = "113feb6c-3fe4-4440-bddc-54d774bf0318" // EXCHANGE_S_FOUNDATION, in every SKU
	planFlowCDS     = "6ea4c1ef-c259-46df-bce2-943342cd3cb2" // DYN365_CDS_P2 of FLOW_PER_USER
	planPremiumCDS  = "3da2fd4c-1bee-4b61-a17f-94c31e5cab93" // CDS_ATTENDED_RPA of Premium
	cloudFlow       = license.TriggerTriggerPremiumFlow
	attendedRPAFlow = license.TriggerTriggerPremiumFlowAttendedRPA
)

// claimTenant creates a tenant with the org-wide auto-claim setting on and one
// product of each SKU, holding qty[sku] licenses (none when not named).
func claimTenant(tb testing.TB, s *store.Store, id string, qty map[string]int) map[string]string {
	tb.Helper()
	ctx := context.Background()
	products := tenantWithProducts(tb, s, id, 0)
	for sku, n := range qty {
		if _, err := s.SetLicenseQuantity(ctx, products[sku], n); err != nil {
			tb.Fatalf("SetLicenseQuantity %s %d: %v", sku, n, err)
		}
	}
	if _, err := s.SetAutoClaimEnabled(ctx, id, true); err != nil {
		tb.Fatalf("SetAutoClaimEnabled: %v", err)
	}
	return products
}

// withPlans is a policy product of a SKU that leaves the given plans off.
func withPlans(products map[string]string, sku string, plans ...string) license.PolicyProduct {
	return license.PolicyProduct{ProductID: products[sku], DisabledServicePlanIDs: plans}
}

// mustCreatePolicy creates a policy of app serving from the SKUs in order.
func mustCreatePolicy(tb testing.TB, s *store.Store, tenantID, app string, enabled bool, products ...license.PolicyProduct) *license.Policy {
	tb.Helper()
	p, err := s.CreatePolicy(context.Background(), license.NewPolicy{TenantID: tenantID, Name: app + " policy", AppID: app, Enabled: enabled, Products: products})
	if err != nil {
		tb.Fatalf("CreatePolicy %s: %v", app, err)
	}
	return p
}

// skuProducts returns the policy products of the given SKUs, no plans off.
func skuProducts(products map[string]string, skus ...string) []license.PolicyProduct {
	out := make([]license.PolicyProduct, len(skus))
	for i, sku := range skus {
		out[i] = withPlans(products, sku)
	}
	return out
}

// editPolicy applies edit to a policy through UpdatePolicy.
func editPolicy(tb testing.TB, s *store.Store, id string, edit func(p *license.Policy, skuOf license.SKULookup) error) *license.Policy {
	tb.Helper()
	p, err := s.UpdatePolicy(context.Background(), id, edit)
	if err != nil {
		tb.Fatalf("UpdatePolicy %s: %v", id, err)
	}
	return p
}

func setPolicyEnabled(enabled bool) func(*license.Policy, license.SKULookup) error {
	return func(p *license.Policy, _ license.SKULookup) error {
		p.Enabled = enabled
		return nil
	}
}

func claimRequest(tenantID, user, app string, trigger license.Trigger) license.ClaimRequest {
	return license.ClaimRequest{TenantID: tenantID, UserID: user, AppID: app, Trigger: trigger}
}

// mustClaim claims and fails the test on an error (a denial is no error).
func mustClaim(tb testing.TB, s *store.Store, r license.ClaimRequest) *license.ClaimResult {
	tb.Helper()
	res, err := s.Claim(context.Background(), r)
	if err != nil {
		tb.Fatalf("Claim(%s, %s, %s): %v", r.UserID, r.AppID, r.Trigger, err)
	}
	return res
}

// wantOutcome checks a claim's outcome, reason and product (productID "" for none).
func wantOutcome(tb testing.TB, res *license.ClaimResult, outcome license.Outcome, reason license.Reason, productID string) {
	tb.Helper()
	if res.Outcome != outcome || res.Reason != reason || res.ProductID != productID {
		tb.Fatalf("claim = %s %q from %q; want %s %q from %q", res.Outcome, res.Reason, res.ProductID, outcome, reason, productID)
	}
	if (res.License != nil) != (productID != "") {
		tb.Fatalf("claim license = %+v; want one exactly when a product is named (%q)", res.License, productID)
	}
	if res.License != nil && res.License.ProductID != productID {
		tb.Fatalf("claim license product = %q; want %q", res.License.ProductID, productID)
	}
}

// poolCounts returns the licenses assigned per SKU, checking each pool stays
// within 0 and its total.
func poolCounts(tb testing.TB, s *store.Store, products map[string]string) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for sku, id := range products {
		p, err := s.Product(context.Background(), id)
		if err != nil {
			tb.Fatalf("Product %s: %v", id, err)
		}
		if p.AssignedLicenses < 0 || p.AssignedLicenses > p.TotalLicenses {
			tb.Fatalf("%s: assigned %d of %d; want 0 <= assigned <= total", sku, p.AssignedLicenses, p.TotalLicenses)
		}
		out[sku] = p.AssignedLicenses
	}
	return out
}

// wantPools checks the licenses assigned per SKU; SKUs not in want have none.
func wantPools(tb testing.TB, s *store.Store, products map[string]string, want map[string]int) {
	tb.Helper()
	got := poolCounts(tb, s, products)
	for sku := range products {
		if got[sku] != want[sku] {
			tb.Fatalf("assigned licenses = %v; want %v", got, want)
		}
	}
}

// heldProducts returns the product ids of a user's licenses.
func heldProducts(tb testing.TB, s *store.Store, tenantID, userID string) []string {
	tb.Helper()
	ls, err := s.Licenses(context.Background(), tenantID, userID)
	if err != nil {
		tb.Fatalf("Licenses %s: %v", userID, err)
	}
	out := []string{}
	for _, l := range ls {
		out = append(out, l.ProductID)
	}
	slices.Sort(out)
	return out
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// tenantEvents reads a tenant's event stream.
func tenantEvents(tb testing.TB, b *redistest.Backend, tenantID string) []redis.XMessage {
	tb.Helper()
	msgs, err := b.Client.XRange(context.Background(), b.Prefix+"{t:"+tenantID+"}:events", "-", "+").Result()
	if err != nil {
		tb.Fatalf("XRANGE events: %v", err)
	}
	return msgs
}

// idNumber returns the number at the end of a product or policy id.
func idNumber(tb testing.TB, id string) int64 {
	tb.Helper()
	i := strings.LastIndexByte(id, ':')
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	if i < 0 || err != nil {
		tb.Fatalf("id %q has no number", id)
	}
	return n
}

func TestClaimFollowsTheOrgAutoClaimSetting(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "orgsetting", 5)
		mustCreatePolicy(t, s, "orgsetting", powerAutomate, true, skuProducts(products, flowSKU)...)
		flow := products[flowSKU]

		tenant, err := s.Tenant(ctx, "orgsetting")
		if err != nil || tenant.AutoClaimEnabled {
			t.Fatalf("new tenant auto-claim = %v, %v; want off", tenant.AutoClaimEnabled, err)
		}
		res := mustClaim(t, s, claimRequest("orgsetting", "u1", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Denied, license.ReasonAutoClaimDisabled, "")
		wantPools(t, s, products, nil)

		if _, err := s.SetAutoClaimEnabled(ctx, "orgsetting", true); err != nil {
			t.Fatal(err)
		}
		res = mustClaim(t, s, claimRequest("orgsetting", "u1", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Claimed, "", flow)

		if _, err := s.SetAutoClaimEnabled(ctx, "orgsetting", false); err != nil {
			t.Fatal(err)
		}
		res = mustClaim(t, s, claimRequest("orgsetting", "u2", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Denied, license.ReasonAutoClaimDisabled, "")
		wantPools(t, s, products, map[string]int{flowSKU: 1})
		if got, want := heldProducts(t, s, "orgsetting", "u1"), []string{flow}; !slices.Equal(got, want) {
			t.Fatalf("u1's licenses after the setting went off: got %v; want %v", got, want)
		}
	})
}

func TestClaimForAnAppWithoutPolicyIsDeniedNoPolicy(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "nopolicy", map[string]int{flowSKU: 5, premiumSKU: 5, appsSKU: 5})
		res := mustClaim(t, s, claimRequest("nopolicy", "u1", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Denied, license.ReasonNoPolicy, "")

		// A policy for another app does not serve Power Automate.
		mustCreatePolicy(t, s, "nopolicy", powerApps, true, skuProducts(products, appsSKU)...)
		res = mustClaim(t, s, claimRequest("nopolicy", "u1", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Denied, license.ReasonNoPolicy, "")
		wantPools(t, s, products, nil)

		res = mustClaim(t, s, claimRequest("nopolicy", "u1", powerApps, license.TriggerLaunchPremiumApp))
		wantOutcome(t, res, license.Claimed, "", products[appsSKU])
	})
}

func TestClaimUnderADisabledPolicyIsDenied(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "policyoff", map[string]int{flowSKU: 5})
		p := mustCreatePolicy(t, s, "policyoff", powerAutomate, false, skuProducts(products, flowSKU)...)

		res := mustClaim(t, s, claimRequest("policyoff", "u1", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Denied, license.ReasonPolicyDisabled, "")
		wantPools(t, s, products, nil)

		editPolicy(t, s, p.ID, setPolicyEnabled(true))
		res = mustClaim(t, s, claimRequest("policyoff", "u1", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Claimed, "", products[flowSKU])

		editPolicy(t, s, p.ID, setPolicyEnabled(false))
		res = mustClaim(t, s, claimRequest("policyoff", "u2", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Denied, license.ReasonPolicyDisabled, "")
		wantPools(t, s, products, map[string]int{flowSKU: 1})
		if got, want := heldProducts(t, s, "policyoff", "u1"), []string{products[flowSKU]}; !slices.Equal(got, want) {
			t.Fatalf("u1's licenses after the policy went off: got %v; want %v", got, want)
		}
	})
}

func TestClaimWalksProductsInOrder(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "order", map[string]int{flowSKU: 2, premiumSKU: 1, appsSKU: 3})
		p := mustCreatePolicy(t, s, "order", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		steps := []struct {
			user      string
			sku       string // "" when denied
			reason    license.Reason
			available int
			pools     map[string]int
		}{
			{"u1", flowSKU, "", 2, map[string]int{flowSKU: 1}},
			{"u2", flowSKU, "", 1, map[string]int{flowSKU: 2}},
			{"u3", premiumSKU, "", 0, map[string]int{flowSKU: 2, premiumSKU: 1}},
			{"u4", "", license.ReasonNoLicenses, 0, map[string]int{flowSKU: 2, premiumSKU: 1}},
			{"u5", "", license.ReasonNoLicenses, 0, map[string]int{flowSKU: 2, premiumSKU: 1}},
		}
		for _, st := range steps {
			res := mustClaim(t, s, claimRequest("order", st.user, powerAutomate, cloudFlow))
			if st.sku == "" {
				wantOutcome(t, res, license.Denied, st.reason, "")
			} else {
				wantOutcome(t, res, license.Claimed, "", products[st.sku])
				if res.License.Source != license.SourceAutoClaim || res.License.PolicyID != p.ID {
					t.Fatalf("%s's license: got source %s policy %q; want %s policy %q", st.user, res.License.Source, res.License.PolicyID, license.SourceAutoClaim, p.ID)
				}
				if res.Product == nil || res.Product.ID != products[st.sku] || res.Product.AssignedLicenses != st.pools[st.sku] {
					t.Fatalf("%s: product in the answer = %+v; want %s with %d assigned", st.user, res.Product, st.sku, st.pools[st.sku])
				}
			}
			if res.Event.AvailableAfter != st.available {
				t.Fatalf("%s: available after = %d; want %d", st.user, res.Event.AvailableAfter, st.available)
			}
			wantPools(t, s, products, st.pools)
			var want []string
			if st.sku != "" {
				want = []string{products[st.sku]}
			}
			if got := heldProducts(t, s, "order", st.user); !slices.Equal(got, want) {
				t.Fatalf("%s holds %v; want %v", st.user, got, want)
			}
		}
	})
}

func TestClaimNeverTakesFromAnEmptyPool(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "empty", map[string]int{appsSKU: 3})
		mustCreatePolicy(t, s, "empty", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		for i := range 3 {
			res := mustClaim(t, s, claimRequest("empty", fmt.Sprint("u", i), powerAutomate, attendedRPAFlow))
			wantOutcome(t, res, license.Denied, license.ReasonNoLicenses, "")
			if res.Event.AvailableAfter != 0 {
				t.Fatalf("available after = %d; want 0", res.Event.AvailableAfter)
			}
		}
		wantPools(t, s, products, nil)
	})
}

func TestClaimAfterBackupRemoved(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "rmbackup", map[string]int{flowSKU: 1, premiumSKU: 5})
		flow, premium := products[flowSKU], products[premiumSKU]
		p := mustCreatePolicy(t, s, "rmbackup", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		wantOutcome(t, mustClaim(t, s, claimRequest("rmbackup", "u1", powerAutomate, cloudFlow)), license.Claimed, "", flow)
		wantOutcome(t, mustClaim(t, s, claimRequest("rmbackup", "u2", powerAutomate, cloudFlow)), license.Claimed, "", premium)

		editPolicy(t, s, p.ID, func(p *license.Policy, _ license.SKULookup) error { return p.RemoveProduct(premium) })
		wantOutcome(t, mustClaim(t, s, claimRequest("rmbackup", "u3", powerAutomate, cloudFlow)), license.Denied, license.ReasonNoLicenses, "")
		// The removed backup is not even eligible for a trigger only it covered.
		wantOutcome(t, mustClaim(t, s, claimRequest("rmbackup", "u3", powerAutomate, attendedRPAFlow)), license.Denied, license.ReasonTriggerNotEligible, "")
		wantPools(t, s, products, map[string]int{flowSKU: 1, premiumSKU: 1})
		if got, want := heldProducts(t, s, "rmbackup", "u2"), []string{premium}; !slices.Equal(got, want) {
			t.Fatalf("u2's licenses after its product left the policy: got %v; want %v", got, want)
		}

		if _, err := s.SetLicenseQuantity(ctx, flow, 2); err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, mustClaim(t, s, claimRequest("rmbackup", "u3", powerAutomate, cloudFlow)), license.Claimed, "", flow)
	})
}

func TestClaimFollowsReorderedProducts(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "reorder", map[string]int{flowSKU: 10, premiumSKU: 10})
		flow, premium := products[flowSKU], products[premiumSKU]
		p := mustCreatePolicy(t, s, "reorder", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		steps := []struct {
			name string
			edit func(*license.Policy, license.SKULookup) error
			want string
		}{
			{"PrimaryFirst", nil, flow},
			{"BackupMovedUp", func(p *license.Policy, _ license.SKULookup) error { return p.Move(premium, license.Up) }, premium},
			{"FullOrderRestored", func(p *license.Policy, _ license.SKULookup) error { return p.Reorder([]string{flow, premium}) }, flow},
			{"PrimaryMovedDown", func(p *license.Policy, _ license.SKULookup) error { return p.Move(flow, license.Down) }, premium},
			{"FullOrderFlowFirst", func(p *license.Policy, _ license.SKULookup) error { return p.Reorder([]string{flow, premium}) }, flow},
		}
		for i, st := range steps {
			if st.edit != nil {
				editPolicy(t, s, p.ID, st.edit)
			}
			res := mustClaim(t, s, claimRequest("reorder", fmt.Sprint("u", i), powerAutomate, cloudFlow))
			if res.ProductID != st.want {
				t.Fatalf("%s: claimed from %q; want %q", st.name, res.ProductID, st.want)
			}
		}
		wantPools(t, s, products, map[string]int{flowSKU: 3, premiumSKU: 2})
	})
}

func TestClaimRecordsThePolicysDisabledServicePlans(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "plans", map[string]int{flowSKU: 1, premiumSKU: 5})
		p := mustCreatePolicy(t, s, "plans", powerAutomate, true,
			withPlans(products, flowSKU, planFlowCDS, strings.ToUpper(planExchange)),
			withPlans(products, premiumSKU, planPremiumCDS))
		steps := []struct {
			user  string
			edit  func(*license.Policy, license.SKULookup) error
			sku   string
			plans []string
		}{
			{"u1", nil, flowSKU, sortedIDs(planExchange, planFlowCDS)},
			{"u2", nil, premiumSKU, []string{planPremiumCDS}},
			{"u3", func(p *license.Policy, skuOf license.SKULookup) error {
				return p.SetDisabledPlans(s.Catalog(), "", []string{planExchange}, skuOf)
			}, premiumSKU, []string{planExchange}},
			{"u4", func(p *license.Policy, skuOf license.SKULookup) error {
				return p.SetDisabledPlans(s.Catalog(), products[premiumSKU], nil, skuOf)
			}, premiumSKU, nil},
		}
		for _, st := range steps {
			if st.edit != nil {
				editPolicy(t, s, p.ID, st.edit)
			}
			res := mustClaim(t, s, claimRequest("plans", st.user, powerAutomate, cloudFlow))
			wantOutcome(t, res, license.Claimed, "", products[st.sku])
			if got := res.License.DisabledServicePlanIDs; !slices.Equal(got, st.plans) {
				t.Fatalf("%s: claimed license's disabled plans: got %v; want %v", st.user, got, st.plans)
			}
			ls, err := s.Licenses(ctx, "plans", st.user)
			if err != nil || len(ls) != 1 {
				t.Fatalf("Licenses(%s) = %v, %v; want one license", st.user, ls, err)
			}
			if got := ls[0]; !slices.Equal(got.DisabledServicePlanIDs, st.plans) || got.PolicyID != p.ID || got.Source != license.SourceAutoClaim ||
				got.SKU == nil || got.SKU.SkuPartNumber != st.sku {
				t.Fatalf("%s's stored license: got %+v; want AUTO_CLAIM from %s (%s) with plans %v off", st.user, got, p.ID, st.sku, st.plans)
			}
		}
	})
}

func TestClaimSkipsProductsThatDoNotCoverTheTrigger(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		cases := []struct {
			name    string
			app     string
			skus    []string
			trigger license.Trigger
			reason  license.Reason
			sku     string
		}{
			{"AttendedRPASkipsPerUserPrimary", powerAutomate, []string{flowSKU, premiumSKU}, attendedRPAFlow, "", premiumSKU},
			{"SaveRPAFlowSkipsPerUserPrimary", powerAutomate, []string{flowSKU, premiumSKU}, license.TriggerSavePremiumFlowAttendedRPA, "", premiumSKU},
			{"TurnOnRPAFlowSkipsPerUserPrimary", powerAutomate, []string{flowSKU, premiumSKU}, license.TriggerTurnOnPremiumFlowAttendedRPA, "", premiumSKU},
			{"CloudFlowUsesPerUserPrimary", powerAutomate, []string{flowSKU, premiumSKU}, cloudFlow, "", flowSKU},
			{"SaveFlowUsesPerUserPrimary", powerAutomate, []string{flowSKU, premiumSKU}, license.TriggerSavePremiumFlow, "", flowSKU},
			{"PremiumPrimaryCoversCloudFlows", powerAutomate, []string{premiumSKU, flowSKU}, license.TriggerTurnOnPremiumFlow, "", premiumSKU},
			{"AttendedRPAWithOnlyPerUserIsNotEligible", powerAutomate, []string{flowSKU}, attendedRPAFlow, license.ReasonTriggerNotEligible, ""},
			{"PowerAppsManagedEnvironment", powerApps, []string{appsSKU}, license.TriggerLaunchManagedEnvironmentApp, "", appsSKU},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				tenant := fmt.Sprint("trigger-", i)
				products := claimTenant(t, s, tenant, map[string]int{flowSKU: 5, premiumSKU: 5, appsSKU: 5})
				mustCreatePolicy(t, s, tenant, c.app, true, skuProducts(products, c.skus...)...)
				res := mustClaim(t, s, claimRequest(tenant, "u1", c.app, c.trigger))
				if c.sku == "" {
					wantOutcome(t, res, license.Denied, c.reason, "")
					wantPools(t, s, products, nil)
					return
				}
				wantOutcome(t, res, license.Claimed, "", products[c.sku])
				wantPools(t, s, products, map[string]int{c.sku: 1})
			})
		}
	})
}

func TestClaimRejectsBadRequests(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "badinput", map[string]int{flowSKU: 5, premiumSKU: 5, appsSKU: 5})
		mustCreatePolicy(t, s, "badinput", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		valid := claimRequest("badinput", "u1", powerAutomate, cloudFlow)
		cases := []struct {
			name   string
			change func(r *license.ClaimRequest)
			code   string
		}{
			{"EmptyUserID", func(r *license.ClaimRequest) { r.UserID = "" }, license.EINVALID},
			{"UserIDOf129Characters", func(r *license.ClaimRequest) { r.UserID = strings.Repeat("u", 129) }, license.EINVALID},
			{"UserIDWithSpace", func(r *license.ClaimRequest) { r.UserID = "a b" }, license.EINVALID},
			{"UnknownApp", func(r *license.ClaimRequest) { r.AppID = "NO_SUCH_APP" }, license.ENOTFOUND},
			{"TriggerTheAppDoesNotHave", func(r *license.ClaimRequest) { r.AppID, r.Trigger = powerApps, cloudFlow }, license.EINVALID},
			{"UnknownTrigger", func(r *license.ClaimRequest) { r.Trigger = "TAKE_OFF" }, license.EINVALID},
			{"UnknownTenant", func(r *license.ClaimRequest) { r.TenantID = "nosuchtenant" }, license.ENOTFOUND},
			{"MalformedTenant", func(r *license.ClaimRequest) { r.TenantID = "Bad Tenant" }, license.ENOTFOUND},
			{"IdempotencyKeyOf129Characters", func(r *license.ClaimRequest) { r.IdempotencyKey = strings.Repeat("k", 129) }, license.EINVALID},
			{"BadPrincipalName", func(r *license.ClaimRequest) { r.UserPrincipalName = "not-an-address" }, license.EINVALID},
			{"BlankDisplayName", func(r *license.ClaimRequest) { r.DisplayName = "   " }, license.EINVALID},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := valid
				c.change(&r)
				before := len(tenantEvents(t, b, "badinput"))
				res, err := s.Claim(ctx, r)
				if res != nil {
					t.Fatalf("Claim returned %+v with the error; want no result", res)
				}
				wantCode(t, err, c.code)
				wantPools(t, s, products, nil)
				if got := len(tenantEvents(t, b, "badinput")); got != before {
					t.Fatalf("events after a refused claim: got %d; want %d", got, before)
				}
				if r.UserID != "" && len(r.UserID) <= license.MaxIDLength {
					if _, err := s.User(ctx, "badinput", r.UserID); license.ErrorCode(err) != license.ENOTFOUND {
						t.Fatalf("User(%q) after a refused claim: got %v; want NOT_FOUND", r.UserID, err)
					}
				}
			})
		}
		t.Run("UnknownTenantWritesNothing", func(t *testing.T) {
			keys, err := b.Client.Keys(ctx, b.Prefix+"{t:nosuchtenant}:*").Result()
			if err != nil || len(keys) != 0 {
				t.Fatalf("keys of an unknown tenant: got %v, %v; want none", keys, err)
			}
		})
		t.Run("UserIDOf128CharactersIsAccepted", func(t *testing.T) {
			r := valid
			r.UserID = strings.Repeat("u", 128)
			wantOutcome(t, mustClaim(t, s, r), license.Claimed, "", products[flowSKU])
		})
	})
}

func TestClaimByALicensedUser(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "licensed", map[string]int{flowSKU: 5, premiumSKU: 5, appsSKU: 5})
		flow, premium, apps := products[flowSKU], products[premiumSKU], products[appsSKU]
		mustCreatePolicy(t, s, "licensed", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		for _, u := range []string{"direct-flow", "direct-premium", "direct-apps"} {
			if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "licensed", ID: u, UserPrincipalName: u + "@licensed.example", DisplayName: u}); err != nil {
				t.Fatal(err)
			}
		}
		for user, product := range map[string]string{"direct-flow": flow, "direct-premium": premium, "direct-apps": apps} {
			if _, err := s.AssignLicense(ctx, user, product, nil); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			name    string
			user    string
			trigger license.Trigger
			outcome license.Outcome
			product string
			source  license.Source
			taken   string // SKU whose pool loses a license; "" for none
			holds   []string
		}{
			{"DirectPerUserCoversCloudFlow", "direct-flow", cloudFlow, license.AlreadyLicensed, flow, license.SourceDirect, "", []string{flow}},
			{"DirectPerUserDoesNotCoverAttendedRPA", "direct-flow", attendedRPAFlow, license.Claimed, premium, license.SourceAutoClaim, premiumSKU, sortedIDs(flow, premium)},
			{"ClaimedPremiumCoversAttendedRPA", "direct-flow", attendedRPAFlow, license.AlreadyLicensed, premium, license.SourceAutoClaim, "", sortedIDs(flow, premium)},
			{"DirectPremiumCoversAttendedRPA", "direct-premium", license.TriggerSavePremiumFlowAttendedRPA, license.AlreadyLicensed, premium, license.SourceDirect, "", []string{premium}},
			{"DirectPremiumCoversCloudFlow", "direct-premium", cloudFlow, license.AlreadyLicensed, premium, license.SourceDirect, "", []string{premium}},
			{"LicenseOfAnotherAppDoesNotCover", "direct-apps", cloudFlow, license.Claimed, flow, license.SourceAutoClaim, flowSKU, sortedIDs(apps, flow)},
			{"FirstClaim", "claimer", cloudFlow, license.Claimed, flow, license.SourceAutoClaim, flowSKU, []string{flow}},
			{"RetryWithoutKeyTakesNoSecondLicense", "claimer", cloudFlow, license.AlreadyLicensed, flow, license.SourceAutoClaim, "", []string{flow}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				before := poolCounts(t, s, products)
				res := mustClaim(t, s, claimRequest("licensed", st.user, powerAutomate, st.trigger))
				wantOutcome(t, res, st.outcome, "", st.product)
				if res.License.Source != st.source {
					t.Fatalf("license source: got %s; want %s", res.License.Source, st.source)
				}
				if st.taken != "" {
					before[st.taken]++
				}
				if after := poolCounts(t, s, products); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("assigned licenses: got %v; want %v", after, before)
				}
				if got := heldProducts(t, s, "licensed", st.user); !slices.Equal(got, st.holds) {
					t.Fatalf("%s holds: got %v; want %v", st.user, got, st.holds)
				}
			})
		}
	})
}

func TestClaimIdempotencyKey(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "idem", map[string]int{flowSKU: 10, premiumSKU: 10})
		p := mustCreatePolicy(t, s, "idem", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		keyed := func(user, key string, trigger license.Trigger) license.ClaimRequest {
			r := claimRequest("idem", user, powerAutomate, trigger)
			r.IdempotencyKey = key
			return r
		}

		first := mustClaim(t, s, keyed("u1", "key-1", cloudFlow))
		wantOutcome(t, first, license.Claimed, "", products[flowSKU])
		if first.Replayed {
			t.Fatalf("first answer Replayed = true; want false")
		}
		pools := poolCounts(t, s, products)
		events := len(tenantEvents(t, b, "idem"))

		t.Run("SameKeySameClaimReplays", func(t *testing.T) {
			for range 2 {
				again := mustClaim(t, s, keyed("u1", "key-1", cloudFlow))
				if !again.Replayed {
					t.Fatalf("retry Replayed = false; want true")
				}
				wantOutcome(t, again, license.Claimed, "", products[flowSKU])
				if again.Event.ID != first.Event.ID || !again.Event.At.Equal(first.Event.At) || again.Event.AvailableAfter != first.Event.AvailableAfter {
					t.Fatalf("retry event = %+v; want %+v", again.Event, first.Event)
				}
				if !again.License.AssignedAt.Equal(first.License.AssignedAt) || again.License.PolicyID != p.ID {
					t.Fatalf("retry license = %+v; want %+v", again.License, first.License)
				}
			}
			if got := poolCounts(t, s, products); fmt.Sprint(got) != fmt.Sprint(pools) {
				t.Fatalf("assigned after retries: got %v; want %v", got, pools)
			}
			if got := len(tenantEvents(t, b, "idem")); got != events {
				t.Fatalf("events after retries: got %d; want %d (a replay decides nothing)", got, events)
			}
		})
		t.Run("SameKeyOtherClaimIsRefused", func(t *testing.T) {
			for _, r := range []license.ClaimRequest{
				keyed("u2", "key-1", cloudFlow),
				keyed("u1", "key-1", attendedRPAFlow),
				keyed("u1", "key-1", license.TriggerSavePremiumFlow),
			} {
				_, err := s.Claim(ctx, r)
				wantCode(t, err, license.EINVALID)
			}
			if got := poolCounts(t, s, products); fmt.Sprint(got) != fmt.Sprint(pools) {
				t.Fatalf("assigned after refused claims: got %v; want %v", got, pools)
			}
			if got := heldProducts(t, s, "idem", "u2"); len(got) != 0 {
				t.Fatalf("u2 holds %v; want nothing", got)
			}
		})
		t.Run("DeniedAnswerIsNotRemembered", func(t *testing.T) {
			editPolicy(t, s, p.ID, setPolicyEnabled(false))
			denied := mustClaim(t, s, keyed("u3", "key-3", cloudFlow))
			wantOutcome(t, denied, license.Denied, license.ReasonPolicyDisabled, "")
			editPolicy(t, s, p.ID, setPolicyEnabled(true))
			again := mustClaim(t, s, keyed("u3", "key-3", cloudFlow))
			if again.Replayed {
				t.Fatalf("retry of a denial Replayed = true; want it decided afresh")
			}
			wantOutcome(t, again, license.Claimed, "", products[flowSKU])
			if replay := mustClaim(t, s, keyed("u3", "key-3", cloudFlow)); !replay.Replayed || replay.Event.ID != again.Event.ID {
				t.Fatalf("retry of the claim = replayed %v, event %+v; want the claim (event %q) replayed", replay.Replayed, replay.Event, again.Event.ID)
			}
		})
		t.Run("ConcurrentRetriesTakeOneLicense", func(t *testing.T) {
			before := poolCounts(t, s, products)
			const n = 20
			results := make([]*license.ClaimResult, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = s.Claim(ctx, keyed("u5", "key-5", attendedRPAFlow))
				}()
			}
			wg.Wait()
			fresh := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("claim %d: %v", i, errs[i])
				}
				if !results[i].Replayed {
					fresh++
				}
				if results[i].Event.ID != results[0].Event.ID || results[i].ProductID != products[premiumSKU] {
					t.Fatalf("claim %d: event %q from %q; want event %q from %q", i, results[i].Event.ID, results[i].ProductID, results[0].Event.ID, products[premiumSKU])
				}
			}
			if fresh != 1 {
				t.Fatalf("answers not replayed: got %d; want 1", fresh)
			}
			before[premiumSKU]++
			if got := poolCounts(t, s, products); fmt.Sprint(got) != fmt.Sprint(before) {
				t.Fatalf("assigned: got %v; want %v", got, before)
			}
		})
	})
}

func TestClaimRecordsAnUnseenUser(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "newuser", map[string]int{flowSKU: 5})
		mustCreatePolicy(t, s, "newuser", powerAutomate, true, skuProducts(products, flowSKU)...)
		if _, err := s.User(ctx, "newuser", "ann"); license.ErrorCode(err) != license.ENOTFOUND {
			t.Fatalf("User before the claim: got %v; want NOT_FOUND", err)
		}

		r := claimRequest("newuser", "ann", powerAutomate, cloudFlow)
		r.UserPrincipalName, r.DisplayName = "Ann.Lee@Example.com", "  Ann Lee "
		wantOutcome(t, mustClaim(t, s, r), license.Claimed, "", products[flowSKU])
		cases := []struct {
			name    string
			claim   license.ClaimRequest
			user    string
			upn     string
			display string
		}{
			{"PrincipalAndDisplayName", r, "ann", "Ann.Lee@Example.com", "Ann Lee"},
			{"KnownUserKeepsItsNames", license.ClaimRequest{TenantID: "newuser", UserID: "ann", AppID: powerAutomate, Trigger: cloudFlow,
				UserPrincipalName: "other@example.com", DisplayName: "Someone Else"}, "ann", "Ann.Lee@Example.com", "Ann Lee"},
			{"WithoutNames", claimRequest("newuser", "anon-1", powerAutomate, cloudFlow), "anon-1", "", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				mustClaim(t, s, c.claim)
				u, err := s.User(ctx, "newuser", c.user)
				if err != nil {
					t.Fatalf("User(%q): %v", c.user, err)
				}
				if u.UserPrincipalName != c.upn || u.DisplayName != c.display || u.TenantID != "newuser" {
					t.Fatalf("User(%q) = %q %q in %q; want %q %q in %q", c.user, u.UserPrincipalName, u.DisplayName, u.TenantID, c.upn, c.display, "newuser")
				}
			})
		}
		t.Run("NotRecordedOnADeniedClaim", func(t *testing.T) {
			res := mustClaim(t, s, license.ClaimRequest{TenantID: "newuser", UserID: "bob", AppID: powerApps, Trigger: license.TriggerSignIn,
				UserPrincipalName: "bob@example.com", DisplayName: "Bob"})
			wantOutcome(t, res, license.Denied, license.ReasonNoPolicy, "")
			if _, err := s.User(ctx, "newuser", "bob"); license.ErrorCode(err) != license.ENOTFOUND {
				t.Fatalf("User(bob) after a denied claim: got %v; want NOT_FOUND", err)
			}
			// Nor does it take bob's principal name from a user who claims it later.
			r := claimRequest("newuser", "robert", powerAutomate, cloudFlow)
			r.UserPrincipalName, r.DisplayName = "bob@example.com", "Robert"
			mustClaim(t, s, r)
			if u, err := s.User(ctx, "newuser", "robert"); err != nil || u.UserPrincipalName != "bob@example.com" {
				t.Fatalf("User(robert) = %+v, %v; want principal name bob@example.com", u, err)
			}
		})
		t.Run("PrincipalNameOfAnotherUserIsNotDuplicated", func(t *testing.T) {
			r := claimRequest("newuser", "impostor", powerAutomate, cloudFlow)
			r.UserPrincipalName, r.DisplayName = "ANN.LEE@example.com", "Impostor"
			mustClaim(t, s, r)
			u, err := s.User(ctx, "newuser", "impostor")
			if err != nil {
				t.Fatal(err)
			}
			if strings.EqualFold(u.UserPrincipalName, "ann.lee@example.com") {
				t.Fatalf("impostor's principal name = %q; want it not to duplicate ann's", u.UserPrincipalName)
			}
		})
		t.Run("UsersListsThem", func(t *testing.T) {
			page, err := s.Users(ctx, "newuser", 100, "")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, u := range page.Users {
				ids = append(ids, u.ID)
			}
			for _, want := range []string{"ann", "robert", "anon-1", "impostor"} {
				if !slices.Contains(ids, want) {
					t.Fatalf("Users = %v; want it to hold %q", ids, want)
				}
			}
			if slices.Contains(ids, "bob") {
				t.Fatalf("Users = %v; want no bob (denied)", ids)
			}
			if page.TotalCount != 5 {
				t.Fatalf("TotalCount = %d; want 5 (4 claimers and the admin)", page.TotalCount)
			}
		})
	})
}

func TestClaimAppendsOneEventPerDecision(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "events", 0)
		if _, err := s.SetLicenseQuantity(ctx, products[flowSKU], 1); err != nil {
			t.Fatal(err)
		}
		p := mustCreatePolicy(t, s, "events", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		pn, flowN := strconv.FormatInt(idNumber(t, p.ID), 10), strconv.FormatInt(idNumber(t, products[flowSKU]), 10)
		at := time.Date(2024, 5, 6, 7, 8, 9, 10e6, time.UTC)
		steps := []struct {
			name    string
			before  func()
			user    string
			app     string
			trigger license.Trigger
			fields  map[string]string // without kind, user, app and trigger
		}{
			{"DeniedWhileOrgSettingOff", nil, "u1", powerAutomate, cloudFlow,
				map[string]string{"policy": pn, "product": "0", "outcome": "DENIED", "reason": "AUTO_CLAIM_DISABLED", "available": "1"}},
			{"Claimed", func() {
				if _, err := s.SetAutoClaimEnabled(ctx, "events", true); err != nil {
					t.Fatal(err)
				}
			}, "u1", powerAutomate, cloudFlow,
				map[string]string{"policy": pn, "product": flowN, "outcome": "CLAIMED", "reason": "", "available": "0"}},
			{"AlreadyLicensedAppendsNone", nil, "u1", powerAutomate, license.TriggerSignIn, nil},
			{"DeniedNoLicenses", nil, "u2", powerAutomate, attendedRPAFlow,
				map[string]string{"policy": pn, "product": "0", "outcome": "DENIED", "reason": "NO_LICENSES_AVAILABLE", "available": "0"}},
			{"DeniedNoPolicy", nil, "u2", powerApps, license.TriggerLaunchPremiumApp,
				map[string]string{"policy": "0", "product": "0", "outcome": "DENIED", "reason": "NO_POLICY", "available": "0"}},
		}
		for _, st := range steps {
			if st.before != nil {
				st.before()
			}
			if b.Mini != nil {
				at = at.Add(time.Second)
				b.Mini.SetTime(at)
			}
			// Admin changes may have events of their own; the claim adds exactly
			// one, or none when it changed nothing.
			before := len(tenantEvents(t, b, "events"))
			res := mustClaim(t, s, claimRequest("events", st.user, st.app, st.trigger))
			msgs := tenantEvents(t, b, "events")
			if st.fields == nil {
				if len(msgs) != before || res.Event != nil {
					t.Fatalf("%s: events in the stream: got %d, answer's event %+v; want %d and none", st.name, len(msgs), res.Event, before)
				}
				continue
			}
			if len(msgs) != before+1 {
				t.Fatalf("%s: events in the stream: got %d; want %d", st.name, len(msgs), before+1)
			}
			last := msgs[len(msgs)-1]
			if last.ID != res.Event.ID {
				t.Fatalf("%s: last event id: got %q; want the answer's %q", st.name, last.ID, res.Event.ID)
			}
			want := map[string]any{"kind": "claim", "user": st.user, "app": st.app, "trigger": string(st.trigger)}
			for k, v := range st.fields {
				want[k] = v
			}
			if fmt.Sprint(last.Values) != fmt.Sprint(want) {
				t.Fatalf("%s: event fields: got %v; want %v", st.name, last.Values, want)
			}
			ev := res.Event
			wantPolicy, wantProduct := "", ""
			if st.fields["policy"] != "0" {
				wantPolicy = p.ID
			}
			if st.fields["product"] != "0" {
				wantProduct = products[flowSKU]
			}
			if ev.PolicyID != wantPolicy || ev.ProductID != wantProduct || ev.UserID != st.user || ev.AppID != st.app || ev.Trigger != st.trigger ||
				string(ev.Outcome) != st.fields["outcome"] || string(ev.Reason) != st.fields["reason"] || strconv.Itoa(ev.AvailableAfter) != st.fields["available"] {
				t.Fatalf("%s: answer's event: got %+v; want policy %q product %q and fields %v", st.name, ev, wantPolicy, wantProduct, st.fields)
			}
			if b.Mini != nil && !ev.At.Equal(at) {
				t.Fatalf("%s: event time: got %v; want %v (Redis's clock)", st.name, ev.At, at)
			}
		}
	})
}

func TestClaimFollowsPolicyChangedByAnotherInstance(t *testing.T) {
	cases := []struct {
		name   string
		skus   []string // the policy's products before the change
		change func(t *testing.T, other *store.Store, tenant string, p *license.Policy, products map[string]string)
		want   license.Outcome
		reason license.Reason
		sku    string
		plans  []string
	}{
		{"Reordered", []string{flowSKU, premiumSKU}, func(t *testing.T, other *store.Store, _ string, p *license.Policy, products map[string]string) {
			editPolicy(t, other, p.ID, func(p *license.Policy, _ license.SKULookup) error {
				return p.Reorder([]string{products[premiumSKU], products[flowSKU]})
			})
		}, license.Claimed, "", premiumSKU, nil},
		{"BackupMovedUp", []string{flowSKU, premiumSKU}, func(t *testing.T, other *store.Store, _ string, p *license.Policy, products map[string]string) {
			editPolicy(t, other, p.ID, func(p *license.Policy, _ license.SKULookup) error { return p.Move(products[premiumSKU], license.Up) })
		}, license.Claimed, "", premiumSKU, nil},
		{"PrimaryRemoved", []string{flowSKU, premiumSKU}, func(t *testing.T, other *store.Store, _ string, p *license.Policy, products map[string]string) {
			editPolicy(t, other, p.ID, func(p *license.Policy, _ license.SKULookup) error { return p.RemoveProduct(products[flowSKU]) })
		}, license.Claimed, "", premiumSKU, nil},
		{"BackupRemoved", []string{premiumSKU, flowSKU}, func(t *testing.T, other *store.Store, _ string, p *license.Policy, products map[string]string) {
			if _, err := other.SetLicenseQuantity(context.Background(), products[premiumSKU], 1); err != nil {
				t.Fatal(err)
			}
			editPolicy(t, other, p.ID, func(p *license.Policy, _ license.SKULookup) error { return p.RemoveProduct(products[flowSKU]) })
		}, license.Denied, license.ReasonNoLicenses, "", nil},
		{"DeletedAndRecreated", []string{flowSKU, premiumSKU}, func(t *testing.T, other *store.Store, tenant string, p *license.Policy, products map[string]string) {
			if err := other.DeletePolicy(context.Background(), p.ID); err != nil {
				t.Fatal(err)
			}
			mustCreatePolicy(t, other, tenant, powerAutomate, true, skuProducts(products, premiumSKU, flowSKU)...)
		}, license.Claimed, "", premiumSKU, nil},
		{"Deleted", []string{flowSKU, premiumSKU}, func(t *testing.T, other *store.Store, _ string, p *license.Policy, _ map[string]string) {
			if err := other.DeletePolicy(context.Background(), p.ID); err != nil {
				t.Fatal(err)
			}
		}, license.Denied, license.ReasonNoPolicy, "", nil},
		{"TurnedOff", []string{flowSKU, premiumSKU}, func(t *testing.T, other *store.Store, _ string, p *license.Policy, _ map[string]string) {
			editPolicy(t, other, p.ID, setPolicyEnabled(false))
		}, license.Denied, license.ReasonPolicyDisabled, "", nil},
		{"ServicePlansChanged", []string{flowSKU, premiumSKU}, func(t *testing.T, other *store.Store, _ string, p *license.Policy, products map[string]string) {
			editPolicy(t, other, p.ID, func(p *license.Policy, skuOf license.SKULookup) error {
				return p.SetDisabledPlans(other.Catalog(), products[flowSKU], []string{planExchange}, skuOf)
			})
		}, license.Claimed, "", flowSKU, []string{planExchange}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cached, other := mustOpen(t, b), mustOpen(t, b)
				tenant := fmt.Sprint("stale-", i)
				products := claimTenant(t, cached, tenant, map[string]int{flowSKU: 10, premiumSKU: 10})
				p := mustCreatePolicy(t, cached, tenant, powerAutomate, true, skuProducts(products, c.skus...)...)
				wantOutcome(t, mustClaim(t, cached, claimRequest(tenant, "first", powerAutomate, cloudFlow)), license.Claimed, "", products[c.skus[0]])

				c.change(t, other, tenant, p, products)
				for _, user := range []string{"second", "third"} {
					res := mustClaim(t, cached, claimRequest(tenant, user, powerAutomate, cloudFlow))
					wantProduct := ""
					if c.sku != "" {
						wantProduct = products[c.sku]
					}
					wantOutcome(t, res, c.want, c.reason, wantProduct)
					if res.License != nil && !slices.Equal(res.License.DisabledServicePlanIDs, c.plans) {
						t.Fatalf("%s's disabled plans: got %v; want %v", user, res.License.DisabledServicePlanIDs, c.plans)
					}
				}
			})
		}
		t.Run("CreatedAfterANoPolicyAnswer", func(t *testing.T) {
			cached, other := mustOpen(t, b), mustOpen(t, b)
			products := claimTenant(t, cached, "stale-created", map[string]int{flowSKU: 10})
			wantOutcome(t, mustClaim(t, cached, claimRequest("stale-created", "first", powerAutomate, cloudFlow)), license.Denied, license.ReasonNoPolicy, "")
			p := mustCreatePolicy(t, other, "stale-created", powerAutomate, true, skuProducts(products, flowSKU)...)
			res := mustClaim(t, cached, claimRequest("stale-created", "first", powerAutomate, cloudFlow))
			wantOutcome(t, res, license.Claimed, "", products[flowSKU])
			if res.License.PolicyID != p.ID {
				t.Fatalf("license policy: got %q; want %q", res.License.PolicyID, p.ID)
			}
		})
	})
}

func TestPolicyClaimedLicensesCountsLicensesStillHeld(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "claimedcount", map[string]int{flowSKU: 10, premiumSKU: 10})
		flow, premium := products[flowSKU], products[premiumSKU]
		p := mustCreatePolicy(t, s, "claimedcount", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "claimedcount", ID: "direct", UserPrincipalName: "direct@cc.example", DisplayName: "D"}); err != nil {
			t.Fatal(err)
		}
		claimBy := func(user string, trigger license.Trigger) func(t *testing.T) {
			return func(t *testing.T) { mustClaim(t, s, claimRequest("claimedcount", user, powerAutomate, trigger)) }
		}
		remove := func(user, product string) func(t *testing.T) {
			return func(t *testing.T) {
				if err := s.RemoveLicense(ctx, user, product); err != nil {
					t.Fatal(err)
				}
			}
		}
		steps := []struct {
			name string
			do   func(t *testing.T)
			want int
		}{
			{"FirstClaim", claimBy("u1", cloudFlow), 1},
			{"SecondClaim", claimBy("u2", cloudFlow), 2},
			{"AlreadyLicensedAddsNothing", claimBy("u2", cloudFlow), 2},
			{"DirectAssignmentAddsNothing", func(t *testing.T) {
				if _, err := s.AssignLicense(ctx, "direct", flow, nil); err != nil {
					t.Fatal(err)
				}
			}, 2},
			{"ClaimFromBackup", claimBy("u3", attendedRPAFlow), 3},
			{"RemovingAClaimedLicense", remove("u1", flow), 2},
			{"RemovingADirectLicense", remove("direct", flow), 2},
			{"RemovingABackupLicense", remove("u3", premium), 1},
			{"ClaimAgainAfterRemoval", claimBy("u1", cloudFlow), 2},
		}
		for _, st := range steps {
			st.do(t)
			got, err := s.Policy(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ClaimedLicenses != st.want {
				t.Fatalf("%s: ClaimedLicenses = %d; want %d", st.name, got.ClaimedLicenses, st.want)
			}
		}
		wantPools(t, s, products, map[string]int{flowSKU: 2})
	})
}

// dayMS is one UTC day in milliseconds, the unit of the report counters.
const dayMS = int64(24 * time.Hour / time.Millisecond)

// lastMSOfDay is 23:59:59.999, the last instant of a UTC day.
const lastMSOfDay = 24*time.Hour - time.Millisecond

// redisDay returns the backend's current UTC day, as days since the epoch.
func redisDay(tb testing.TB, b *redistest.Backend) int64 {
	tb.Helper()
	now, err := b.Client.Time(context.Background()).Result()
	if err != nil {
		tb.Fatalf("TIME: %v", err)
	}
	return now.UnixMilli() / dayMS
}

func dateOf(day int64) string { return time.UnixMilli(day * dayMS).UTC().Format(time.DateOnly) }

// skipIfDayRolledOver skips a real-Redis test whose expectations were computed
// for day when the UTC day changed while it ran.
func skipIfDayRolledOver(t *testing.T, day int64, now time.Time) {
	t.Helper()
	if now.UnixMilli()/dayMS != day {
		t.Skipf("the UTC day changed during the test (%s -> %s); its expectations no longer hold", dateOf(day), now.UTC().Format(time.DateOnly))
	}
}

// pastClaim is one claim of the report scenario.
type pastClaim struct {
	user    string
	offset  int64 // days before (negative) the scenario's today
	tod     time.Duration
	policy  string // "A" (Power Automate) or "B" (Power Apps)
	trigger license.Trigger
	sku     string // the product it must come from
}

// placeClaims puts claims on their days. On miniredis it sets the clock and
// claims; on the real Redis, whose clock can't be set, it writes the counters
// and the claimed-users entry a claim at that time would have written. The
// claims must be in time order.
func placeClaims(t *testing.T, b *redistest.Backend, s *store.Store, tenant string, today int64, policies map[string]*license.Policy, products map[string]string, claims []pastClaim) {
	t.Helper()
	ctx := context.Background()
	if b.Mini == nil {
		// A stream takes entries in order of time: write the oldest first.
		claims = slices.Clone(claims)
		slices.SortStableFunc(claims, func(x, y pastClaim) int {
			return cmp.Compare(x.offset*int64(dayMS)+x.tod.Milliseconds(), y.offset*int64(dayMS)+y.tod.Milliseconds())
		})
	}
	for _, c := range claims {
		at := time.UnixMilli((today+c.offset)*dayMS + c.tod.Milliseconds()).UTC()
		p := policies[c.policy]
		if b.Mini != nil {
			b.Mini.SetTime(at)
			res := mustClaim(t, s, claimRequest(tenant, c.user, p.AppID, c.trigger))
			wantOutcome(t, res, license.Claimed, "", products[c.sku])
			if !res.Event.At.Equal(at) {
				t.Fatalf("%s claimed at %v; want %v", c.user, res.Event.At, at)
			}
			continue
		}
		day := strconv.FormatInt(today+c.offset, 10)
		product := strconv.FormatInt(idNumber(t, products[c.sku]), 10)
		reportKey := fmt.Sprintf("%s{t:%s}:report:%d", b.Prefix, tenant, idNumber(t, p.ID))
		claimsKey := fmt.Sprintf("%s{t:%s}:claims:%d", b.Prefix, tenant, idNumber(t, p.ID))
		_, err := b.Client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HIncrBy(ctx, reportKey, day, 1)
			pipe.HIncrBy(ctx, reportKey, day+":"+product, 1)
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: claimsKey, ID: strconv.FormatInt(at.UnixMilli(), 10) + "-*",
				Values: []string{"user", c.user, "product", product, "trigger", string(c.trigger)}})
			return nil
		})
		if err != nil {
			t.Fatalf("writing %s's claim: %v", c.user, err)
		}
	}
}

// reportTenant creates a tenant with two policies: A for Power Automate
// (FLOW_PER_USER, then Premium) and B for Power Apps.
func reportTenant(t *testing.T, s *store.Store, tenant string) (map[string]string, map[string]*license.Policy) {
	t.Helper()
	products := claimTenant(t, s, tenant, map[string]int{flowSKU: 100, premiumSKU: 100, appsSKU: 100})
	if _, err := s.SetPolicyLimit(context.Background(), tenant, 2); err != nil {
		t.Fatal(err)
	}
	policies := map[string]*license.Policy{
		"A": mustCreatePolicy(t, s, tenant, powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...),
		"B": mustCreatePolicy(t, s, tenant, powerApps, true, skuProducts(products, appsSKU)...),
	}
	return products, policies
}

// scenarioToday is the day the miniredis runs of the report tests take as today.
var scenarioToday = time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC).UnixMilli() / dayMS

// scenarioDay returns the day the report tests take as today: a fixed day on
// miniredis, the real current UTC day on the real Redis.
func scenarioDay(t *testing.T, b *redistest.Backend) int64 {
	t.Helper()
	if b.Mini != nil {
		return scenarioToday
	}
	return redisDay(t, b)
}

// claimToday makes the scenario's last claim for real, on both backends: on
// miniredis at noon of today, on the real Redis now.
func claimToday(t *testing.T, b *redistest.Backend, s *store.Store, tenant string, today int64, r license.ClaimRequest) *license.ClaimResult {
	t.Helper()
	if b.Mini != nil {
		b.Mini.SetTime(time.UnixMilli(today*dayMS + (12 * time.Hour).Milliseconds()).UTC())
	}
	res := mustClaim(t, s, r)
	if b.Mini == nil {
		skipIfDayRolledOver(t, today, res.Event.At)
	}
	return res
}

func TestReportCountsClaimsPerPolicyProductAndDay(t *testing.T) {
	claims := []pastClaim{
		{"u01", -91, 12 * time.Hour, "A", cloudFlow, flowSKU},
		{"u02", -90, lastMSOfDay, "A", cloudFlow, flowSKU},
		{"u03", -89, 0, "A", attendedRPAFlow, premiumSKU},
		{"u04", -30, lastMSOfDay, "A", cloudFlow, flowSKU},
		{"u05", -29, 0, "B", license.TriggerLaunchPremiumApp, appsSKU},
		{"u06", -7, lastMSOfDay, "A", cloudFlow, flowSKU},
		{"u07", -6, 0, "A", attendedRPAFlow, premiumSKU},
		{"u08", -6, time.Hour, "B", license.TriggerSignIn, appsSKU},
		{"u09", -1, lastMSOfDay, "A", cloudFlow, flowSKU},
		{"u10", 0, 0, "A", attendedRPAFlow, premiumSKU},
	}
	// u11 claims for real at the end (FLOW_PER_USER under A).
	type policyWant struct {
		claims   int
		products []int         // per product, in the policy's order
		daily    map[int64]int // by day offset; other days 0
		users    []string      // claimed users, newest first
	}
	cases := []struct {
		days  int
		total int
		a, b  policyWant
	}{
		{1, 2,
			policyWant{2, []int{1, 1}, map[int64]int{0: 2}, []string{"u11", "u10"}},
			policyWant{0, []int{0}, nil, nil}},
		{7, 5,
			policyWant{4, []int{2, 2}, map[int64]int{-6: 1, -1: 1, 0: 2}, []string{"u11", "u10", "u09", "u07"}},
			policyWant{1, []int{1}, map[int64]int{-6: 1}, []string{"u08"}}},
		{30, 7,
			policyWant{5, []int{3, 2}, map[int64]int{-7: 1, -6: 1, -1: 1, 0: 2}, []string{"u11", "u10", "u09", "u07", "u06"}},
			policyWant{2, []int{2}, map[int64]int{-29: 1, -6: 1}, []string{"u08", "u05"}}},
		{90, 9,
			policyWant{7, []int{4, 3}, map[int64]int{-89: 1, -30: 1, -7: 1, -6: 1, -1: 1, 0: 2}, []string{"u11", "u10", "u09", "u07", "u06", "u04", "u03"}},
			policyWant{2, []int{2}, map[int64]int{-29: 1, -6: 1}, []string{"u08", "u05"}}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products, policies := reportTenant(t, s, "report")
		today := scenarioDay(t, b)
		placeClaims(t, b, s, "report", today, policies, products, claims)
		res := claimToday(t, b, s, "report", today, claimRequest("report", "u11", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Claimed, "", products[flowSKU])

		for _, c := range cases {
			t.Run(fmt.Sprintf("Days%d", c.days), func(t *testing.T) {
				rep, err := s.Report(ctx, "report", c.days)
				if err != nil {
					t.Fatal(err)
				}
				if b.Mini == nil {
					skipIfDayRolledOver(t, today, rep.Until)
				} else if want := time.UnixMilli(today*dayMS + (12 * time.Hour).Milliseconds()); !rep.Until.Equal(want) {
					t.Fatalf("Until = %v; want %v (Redis's clock)", rep.Until, want)
				}
				if wantSince := time.UnixMilli((today - int64(c.days) + 1) * dayMS); rep.Days != c.days || !rep.Since.Equal(wantSince) {
					t.Fatalf("report covers %d days since %v; want %d days since %v", rep.Days, rep.Since, c.days, wantSince)
				}
				if rep.TotalClaims != c.total {
					t.Fatalf("TotalClaims = %d; want %d", rep.TotalClaims, c.total)
				}
				if len(rep.Policies) != 2 || rep.Policies[0].Policy.ID != policies["A"].ID || rep.Policies[1].Policy.ID != policies["B"].ID {
					t.Fatalf("report policies = %v; want A then B", rep.Policies)
				}
				for i, want := range []policyWant{c.a, c.b} {
					pr, pol := rep.Policies[i], policies[string(rune('A'+i))]
					if pr.Claims != want.claims {
						t.Fatalf("policy %s claims = %d; want %d", pol.Name, pr.Claims, want.claims)
					}
					var wantProducts []license.ProductClaims
					for j, pp := range pol.Products {
						wantProducts = append(wantProducts, license.ProductClaims{ProductID: pp.ProductID, Claims: want.products[j]})
					}
					if !slices.Equal(pr.Products, wantProducts) {
						t.Fatalf("policy %s per product: got %v; want %v", pol.Name, pr.Products, wantProducts)
					}
					var wantDaily []license.DailyClaims
					for d := today - int64(c.days) + 1; d <= today; d++ {
						wantDaily = append(wantDaily, license.DailyClaims{Date: dateOf(d), Claims: want.daily[d-today]})
					}
					if !slices.Equal(pr.Daily, wantDaily) {
						t.Fatalf("policy %s daily: got %v; want %v", pol.Name, pr.Daily, wantDaily)
					}

					page, err := s.ClaimedUsers(ctx, pol.ID, c.days, 100, "")
					if err != nil {
						t.Fatal(err)
					}
					var users []string
					for _, u := range page.Users {
						users = append(users, u.UserID)
					}
					if !slices.Equal(users, want.users) || page.TotalCount != len(want.users) || page.HasNextPage {
						t.Fatalf("policy %s claimed users: got %v (total %d, more %v); want %v (total %d, no more)",
							pol.Name, users, page.TotalCount, page.HasNextPage, want.users, len(want.users))
					}
				}
			})
		}
		if b.Mini != nil {
			t.Run("DatesAreUTCCalendarDays", func(t *testing.T) {
				rep, err := s.Report(ctx, "report", 90)
				if err != nil {
					t.Fatal(err)
				}
				daily := rep.Policies[0].Daily
				if got, want := []string{daily[0].Date, daily[len(daily)-1].Date}, []string{"2023-12-12", "2024-03-10"}; !slices.Equal(got, want) {
					t.Fatalf("first and last day: got %v; want %v", got, want)
				}
			})
		}
	})
}

func TestReportTrimsCountersOlderThanTheWindow(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products, policies := reportTenant(t, s, "trim")
		today := scenarioDay(t, b)
		old := []pastClaim{
			{"u1", -91, 0, "A", cloudFlow, flowSKU},
			{"u2", -90, lastMSOfDay, "A", cloudFlow, flowSKU},
			{"u3", -89, 0, "A", cloudFlow, flowSKU},
		}
		placeClaims(t, b, s, "trim", today, policies, products, old)
		reportKey := fmt.Sprintf("%s{t:trim}:report:%d", b.Prefix, idNumber(t, policies["A"].ID))
		flowN := strconv.FormatInt(idNumber(t, products[flowSKU]), 10)
		fieldsOf := func(offset int64) []string {
			day := strconv.FormatInt(today+offset, 10)
			return []string{day, day + ":" + flowN}
		}
		fields, err := b.Client.HKeys(ctx, reportKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fieldsOf(-91) {
			if !slices.Contains(fields, f) {
				t.Fatalf("report fields before a claim of today: got %v; want %q among them", fields, f)
			}
		}

		claimToday(t, b, s, "trim", today, claimRequest("trim", "u4", powerAutomate, cloudFlow))
		fields, err = b.Client.HKeys(ctx, reportKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, gone := range append(fieldsOf(-91), fieldsOf(-90)...) {
			if slices.Contains(fields, gone) {
				t.Fatalf("report fields after a claim of today: got %v; want no %q (older than 90 days)", fields, gone)
			}
		}
		for _, kept := range append(fieldsOf(-89), fieldsOf(0)...) {
			if !slices.Contains(fields, kept) {
				t.Fatalf("report fields after a claim of today: got %v; want %q kept", fields, kept)
			}
		}
		rep, err := s.Report(ctx, "trim", 90)
		if err != nil {
			t.Fatal(err)
		}
		if b.Mini == nil {
			skipIfDayRolledOver(t, today, rep.Until)
		}
		if got := rep.Policies[0]; rep.TotalClaims != 2 || got.Claims != 2 || got.Products[0].Claims != 2 {
			t.Fatalf("90-day report: total %d, policy %d, %v; want 2 claims (u3 and u4), both FLOW_PER_USER", rep.TotalClaims, got.Claims, got.Products)
		}
	})
}

func TestReportRejectsOtherPeriods(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		_, policies := reportTenant(t, s, "baddays")
		for _, days := range []int{5, 0, -1, 2, 31, 365} {
			t.Run(fmt.Sprint(days), func(t *testing.T) {
				_, err := s.Report(ctx, "baddays", days)
				wantCode(t, err, license.EINVALID)
				_, err = s.ClaimedUsers(ctx, policies["A"].ID, days, 10, "")
				wantCode(t, err, license.EINVALID)
			})
		}
		t.Run("UnknownTenant", func(t *testing.T) {
			_, err := s.Report(ctx, "nosuchtenant", 90)
			wantCode(t, err, license.ENOTFOUND)
		})
		t.Run("DefaultPeriodOK", func(t *testing.T) {
			if _, err := s.Report(ctx, "baddays", 90); err != nil {
				t.Fatalf("Report(90): %v", err)
			}
		})
	})
}

func TestReportListsRemovedProductsAfterThePolicysOwn(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products, policies := reportTenant(t, s, "removed")
		flow, premium := products[flowSKU], products[premiumSKU]
		mustClaim(t, s, claimRequest("removed", "u1", powerAutomate, cloudFlow))
		mustClaim(t, s, claimRequest("removed", "u2", powerAutomate, attendedRPAFlow))
		mustClaim(t, s, claimRequest("removed", "u3", powerAutomate, attendedRPAFlow))
		editPolicy(t, s, policies["A"].ID, func(p *license.Policy, _ license.SKULookup) error { return p.RemoveProduct(flow) })
		rep, err := s.Report(ctx, "removed", 90)
		if err != nil {
			t.Fatal(err)
		}
		want := []license.ProductClaims{{ProductID: premium, Claims: 2}, {ProductID: flow, Claims: 1}}
		if got := rep.Policies[0].Products; !slices.Equal(got, want) || rep.Policies[0].Claims != 3 {
			t.Fatalf("per product after removing FLOW_PER_USER: got %v (%d claims); want %v (3 claims)", got, rep.Policies[0].Claims, want)
		}
	})
}

func TestClaimedUsersPaging(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products, policies := reportTenant(t, s, "paging")
		today := scenarioDay(t, b)
		ten := 10 * time.Second
		// u1..u4 ten days ago, a second apart; u5..u7 at one same instant after them.
		claims := []pastClaim{
			{"u1", -10, 1 * time.Second, "A", cloudFlow, flowSKU},
			{"u2", -10, 2 * time.Second, "A", cloudFlow, flowSKU},
			{"u3", -10, 3 * time.Second, "A", cloudFlow, flowSKU},
			{"u4", -10, 4 * time.Second, "A", cloudFlow, flowSKU},
			{"u7", -10, ten, "A", cloudFlow, flowSKU},
			{"u5", -10, ten, "A", cloudFlow, flowSKU},
			{"u6", -10, ten, "A", cloudFlow, flowSKU},
		}
		placeClaims(t, b, s, "paging", today, policies, products, claims)
		if b.Mini != nil {
			if err := s.RemoveLicense(ctx, "u1", products[flowSKU]); err != nil {
				t.Fatal(err)
			}
		}
		// u1 claims again today: a row of its own, first; claims of one
		// instant are listed newest first in the order they were made.
		claimToday(t, b, s, "paging", today, claimRequest("paging", "u1", powerAutomate, cloudFlow))
		want := []string{"u1", "u6", "u5", "u7", "u4", "u3", "u2", "u1"}
		policyID := policies["A"].ID

		for _, first := range []int{1, 2, 3, 7, 10} {
			t.Run(fmt.Sprintf("First%d", first), func(t *testing.T) {
				var seen []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > len(want) {
						t.Fatalf("paging does not end; seen %v", seen)
					}
					page, err := s.ClaimedUsers(ctx, policyID, 90, first, after)
					if err != nil {
						t.Fatal(err)
					}
					if page.TotalCount != len(want) {
						t.Fatalf("TotalCount = %d; want %d", page.TotalCount, len(want))
					}
					if len(page.Users) > first {
						t.Fatalf("page of %d users; want at most %d", len(page.Users), first)
					}
					for _, u := range page.Users {
						seen = append(seen, u.UserID)
						if b.Mini != nil && u.UserID != "u1" {
							wantAt := time.UnixMilli((today - 10) * dayMS).Add(ten)
							if u.UserID < "u5" {
								wantAt = time.UnixMilli((today-10)*dayMS + int64(u.UserID[1]-'0')*1000)
							}
							if !u.ClaimedAt.Equal(wantAt) {
								t.Fatalf("%s claimed at %v; want %v", u.UserID, u.ClaimedAt, wantAt)
							}
						}
					}
					if !page.HasNextPage {
						break
					}
					if page.EndCursor == "" || page.EndCursor != page.Users[len(page.Users)-1].Cursor() {
						t.Fatalf("EndCursor = %q; want the last user's cursor", page.EndCursor)
					}
					after = page.EndCursor
				}
				if !slices.Equal(seen, want) {
					t.Fatalf("users walked: got %v; want %v", seen, want)
				}
			})
		}
		t.Run("PeriodLimitsTheUsers", func(t *testing.T) {
			page, err := s.ClaimedUsers(ctx, policyID, 7, 10, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Users) != 1 || page.Users[0].UserID != "u1" || page.TotalCount != 1 {
				t.Fatalf("7-day claimed users: got %d users (total %d); want only u1", len(page.Users), page.TotalCount)
			}
		})
		for _, cursor := range []string{"nonsense", "12:", ":u1", "abc:u1", "1.5:u1"} {
			t.Run("BadCursor"+cursor, func(t *testing.T) {
				_, err := s.ClaimedUsers(ctx, policyID, 90, 2, cursor)
				wantCode(t, err, license.EINVALID)
			})
		}
		t.Run("PageTooLarge", func(t *testing.T) {
			_, err := s.ClaimedUsers(ctx, policyID, 90, store.MaxPageSize+1, "")
			wantCode(t, err, license.EINVALID)
		})
	})
}
