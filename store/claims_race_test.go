package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// automatePolicy creates a Power Automate policy: FLOW_PER_USER, then the Premium backup.
func automatePolicy(tb testing.TB, s *store.Store, tenantID string, products map[string]string) *license.Policy {
	tb.Helper()
	p, err := s.CreatePolicy(context.Background(), license.NewPolicy{TenantID: tenantID, Name: "Power Automate", AppID: "POWER_AUTOMATE", Enabled: true,
		Products: []license.PolicyProduct{{ProductID: products["FLOW_PER_USER"]}, {ProductID: products["POWERAUTOMATE_ATTENDED_RPA"]}}})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.SetAutoClaimEnabled(context.Background(), tenantID, true); err != nil {
		tb.Fatal(err)
	}
	return p
}

func claim(s *store.Store, tenantID, user string) (*license.ClaimResult, error) {
	return s.Claim(context.Background(), license.ClaimRequest{TenantID: tenantID, UserID: user, AppID: "POWER_AUTOMATE", Trigger: license.TriggerTriggerPremiumFlow})
}

// TestConcurrentClaimsNeverOversell: primary 500 + backup 200, 2,000 distinct
// users claimed from 64 goroutines.
func TestConcurrentClaimsNeverOversell(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "rush", 0)
		primary, backup := products["FLOW_PER_USER"], products["POWERAUTOMATE_ATTENDED_RPA"]
		for id, n := range map[string]int{primary: 500, backup: 200} {
			if _, err := s.SetLicenseQuantity(ctx, id, n); err != nil {
				t.Fatal(err)
			}
		}
		automatePolicy(t, s, "rush", products)

		const users, workers = 2000, 64
		var next atomic.Int64
		var mu sync.Mutex
		outcomes := map[string]int{}
		byProduct := map[string]int{}
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= users {
						return
					}
					r, err := claim(s, "rush", fmt.Sprint("user-", i))
					if err != nil {
						t.Errorf("claim %d: %v", i, err)
						return
					}
					mu.Lock()
					outcomes[string(r.Outcome)+" "+string(r.Reason)]++
					byProduct[r.ProductID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		want := map[string]int{"CLAIMED ": 700, "DENIED NO_LICENSES_AVAILABLE": 1300}
		if fmt.Sprint(outcomes) != fmt.Sprint(want) {
			t.Fatalf("outcomes %v; want %v", outcomes, want)
		}
		if byProduct[primary] != 500 || byProduct[backup] != 200 {
			t.Fatalf("claims per product %v; want 500 from the primary and 200 from the backup", byProduct)
		}
		for _, id := range []string{primary, backup} {
			p, err := s.Product(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if p.AvailableLicenses() != 0 || p.AssignedLicenses != p.TotalLicenses {
				t.Fatalf("product %s: total %d assigned %d; want the pool used up exactly", id, p.TotalLicenses, p.AssignedLicenses)
			}
		}
		// In order: the stream shows the 500 primary claims before any backup claim.
		events, err := b.Client.XRange(ctx, b.Prefix+"{t:rush}:events", "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var claimed []string
		for _, e := range events {
			if e.Values["outcome"] == "CLAIMED" {
				claimed = append(claimed, e.Values["product"].(string))
			}
		}
		if len(claimed) != 700 {
			t.Fatalf("%d CLAIMED events; want 700", len(claimed))
		}
		for i, pn := range claimed {
			if want := map[bool]string{true: "2", false: "3"}[i < 500]; pn != want {
				t.Fatalf("claim #%d came from product %s; want %s (primary first, then the backup)", i+1, pn, want)
			}
		}
		// Nobody holds two.
		for i := range users {
			ls, err := s.Licenses(ctx, "rush", fmt.Sprint("user-", i))
			if err != nil {
				t.Fatal(err)
			}
			if len(ls) > 1 {
				t.Fatalf("user-%d holds %d licenses", i, len(ls))
			}
		}
	})
}

func TestConcurrentClaimsForOneUser(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := tenantWithProducts(t, s, "same", 50)
		automatePolicy(t, s, "same", products)
		const n = 20
		results := make([]*license.ClaimResult, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := claim(s, "same", "only-user")
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				results[i] = r
			}()
		}
		wg.Wait()
		count := map[license.Outcome]int{}
		for _, r := range results {
			if r != nil {
				count[r.Outcome]++
			}
		}
		if count[license.Claimed] != 1 || count[license.AlreadyLicensed] != n-1 {
			t.Fatalf("outcomes %v; want 1 CLAIMED and %d ALREADY_LICENSED", count, n-1)
		}
		p, err := s.Product(context.Background(), products["FLOW_PER_USER"])
		if err != nil || p.AssignedLicenses != 1 {
			t.Fatalf("assigned = %d, %v; want 1", p.AssignedLicenses, err)
		}
	})
}

// TestRandomizedInvariants interleaves claims, releases, reorders, quantity
// changes, policy and setting toggles from many goroutines, then checks that
// every pool adds up and every license and event is counted once.
func TestRandomizedInvariants(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomRun(t, b, seed) })
		}
	})
}

func randomRun(t *testing.T, b *redistest.Backend, seed uint64) {
	// Two stores on one Redis, as two server instances: their policy caches go stale.
	s1, s2 := mustOpen(t, b), mustOpen(t, b)
	ctx := context.Background()
	tenant := fmt.Sprint("rand", seed)
	products := tenantWithProducts(t, s1, tenant, 15)
	pol := automatePolicy(t, s1, tenant, products)
	ids := []string{products["FLOW_PER_USER"], products["POWERAUTOMATE_ATTENDED_RPA"]}
	triggers := []license.Trigger{license.TriggerTriggerPremiumFlow, license.TriggerSavePremiumFlowAttendedRPA}

	const workers, steps, users = 16, 120, 60
	var claimedAnswers atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			s := []*store.Store{s1, s2}[w%2]
			for range steps {
				user := fmt.Sprint("u", rng.IntN(users))
				var err error
				switch op := rng.IntN(100); {
				case op < 55:
					var r *license.ClaimResult
					r, err = s.Claim(ctx, license.ClaimRequest{TenantID: tenant, UserID: user, AppID: "POWER_AUTOMATE", Trigger: triggers[rng.IntN(2)]})
					if err == nil && r.Outcome == license.Claimed {
						claimedAnswers.Add(1)
					}
				case op < 75:
					err = s.RemoveLicense(ctx, user, ids[rng.IntN(2)])
				case op < 83:
					_, err = s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error {
						return p.Reorder([]string{p.Products[1].ProductID, p.Products[0].ProductID})
					})
				case op < 91:
					_, err = s.SetLicenseQuantity(ctx, ids[rng.IntN(2)], rng.IntN(20))
				case op < 96:
					_, err = s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error {
						p.Enabled = rng.IntN(4) != 0
						return nil
					})
				default:
					_, err = s.SetAutoClaimEnabled(ctx, tenant, rng.IntN(4) != 0)
				}
				switch license.ErrorCode(err) {
				case "", license.ECONFLICT, license.ENOTFOUND:
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
		}()
	}
	wg.Wait()

	held := map[string]int{}
	claimedHeld := 0
	for i := range users {
		ls, err := s1.Licenses(ctx, tenant, fmt.Sprint("u", i))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			held[l.ProductID]++
			if l.PolicyID == pol.ID {
				claimedHeld++
			}
		}
	}
	for _, id := range ids {
		p, err := s1.Product(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.AssignedLicenses < 0 || p.AssignedLicenses > p.TotalLicenses || p.AssignedLicenses != held[id] {
			t.Errorf("product %s: total %d, assigned %d, licenses held %d; want 0 <= assigned == held <= total",
				id, p.TotalLicenses, p.AssignedLicenses, held[id])
		}
	}
	got, err := s1.Policy(ctx, pol.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ClaimedLicenses != claimedHeld {
		t.Errorf("policy claimedLicenses = %d; want %d held licenses claimed under it", got.ClaimedLicenses, claimedHeld)
	}
	events, err := b.Client.XRange(ctx, b.Prefix+"{t:"+tenant+"}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	claimedEvents := 0
	for _, e := range events {
		if e.Values["outcome"] == "CLAIMED" {
			claimedEvents++
		}
	}
	if int64(claimedEvents) != claimedAnswers.Load() {
		t.Errorf("%d CLAIMED events; want %d, one per CLAIMED answer", claimedEvents, claimedAnswers.Load())
	}
	if claimedAnswers.Load() == 0 {
		t.Errorf("no claim succeeded: the run exercised nothing")
	}
}

// TestLicenseWithoutTheAppsPlanDoesNotCover: a license assigned with the
// plan the app needs turned off is no license for that app, so a claim
// takes a working one.
func TestLicenseWithoutTheAppsPlanDoesNotCover(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "noplan", 5)
		automatePolicy(t, s, "noplan", products)
		if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "noplan", ID: "alex", UserPrincipalName: "alex@n.example", DisplayName: "Alex"}); err != nil {
			t.Fatal(err)
		}
		const flowPlan = "c5002c70-f725-4367-b409-f0eff4fee6c0" // FLOW_PER_USER's own plan
		if _, err := s.AssignLicense(ctx, "alex", products["FLOW_PER_USER"], []string{flowPlan}); err != nil {
			t.Fatal(err)
		}
		r, err := claim(s, "noplan", "alex")
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != license.Claimed || r.ProductID != products["POWERAUTOMATE_ATTENDED_RPA"] {
			t.Fatalf("claim = %s from %s; want CLAIMED from the Premium backup (the held license lacks the flow plan)", r.Outcome, r.ProductID)
		}
	})
}
