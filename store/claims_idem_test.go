package store_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// keyedClaim is a claim by caller with an idempotency key.
func keyedClaim(tenantID, caller, key, user string, trigger license.Trigger) license.ClaimRequest {
	r := claimRequest(tenantID, user, powerAutomate, trigger)
	r.Caller, r.IdempotencyKey = caller, key
	return r
}

// wantReplayOf checks that again repeats first exactly, marked replayed.
func wantReplayOf(tb testing.TB, again, first *license.ClaimResult) {
	tb.Helper()
	if !again.Replayed {
		tb.Fatalf("retry: Replayed = false; want the first answer replayed")
	}
	want := *first
	want.Replayed = true
	if !reflect.DeepEqual(again, &want) {
		tb.Fatalf("replay = %s\nwant the first answer %s", describe(again), describe(&want))
	}
}

func describe(r *license.ClaimResult) string {
	return fmt.Sprintf("%+v product %+v license %+v event %+v", *r, r.Product, r.License, r.Event)
}

// TestReplayIsTheFirstAnswer: a replay answers what the first answer said,
// its license, its product's counts and its event, whatever happened since.
func TestReplayIsTheFirstAnswer(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "replay", map[string]int{flowSKU: 3, premiumSKU: 3})
		flow := products[flowSKU]
		mustCreatePolicy(t, s, "replay", powerAutomate, true, withPlans(products, flowSKU, planExchange), withPlans(products, premiumSKU))
		first := mustClaim(t, s, keyedClaim("replay", "app", "K", "u1", cloudFlow))
		wantOutcome(t, first, license.Claimed, "", flow)
		if first.Product == nil || first.Product.TotalLicenses != 3 || first.Product.AssignedLicenses != 1 || first.Event == nil {
			t.Fatalf("first answer = %s; want the product at 1 of 3 and an event", describe(first))
		}
		steps := []struct {
			name string
			do   func()
		}{
			{"Unchanged", func() {}},
			{"AfterOtherClaims", func() {
				mustClaim(t, s, claimRequest("replay", "u2", powerAutomate, cloudFlow))
				mustClaim(t, s, claimRequest("replay", "u3", powerAutomate, cloudFlow))
			}},
			{"AfterRemoveAndDirectAssign", func() {
				if err := s.RemoveLicense(ctx, "u1", flow); err != nil {
					t.Fatal(err)
				}
				if _, err := s.AssignLicense(ctx, "u1", flow, []string{planFlowCDS}); err != nil {
					t.Fatal(err)
				}
			}},
			{"AfterTheLicenseIsGone", func() {
				if err := s.RemoveLicense(ctx, "u1", flow); err != nil {
					t.Fatal(err)
				}
			}},
			{"AfterTheQuantityChanged", func() {
				if _, err := s.SetLicenseQuantity(ctx, flow, 40); err != nil {
					t.Fatal(err)
				}
			}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				st.do()
				wantReplayOf(t, mustClaim(t, s, keyedClaim("replay", "app", "K", "u1", cloudFlow)), first)
			})
		}
	})
}

// TestIdempotencyKeysBelongToTheirCaller: the same key from two callers is
// two keys: two independent claims, each replaying its own answer.
func TestIdempotencyKeysBelongToTheirCaller(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "callers", map[string]int{flowSKU: 5})
		mustCreatePolicy(t, s, "callers", powerAutomate, true, skuProducts(products, flowSKU)...)
		a := mustClaim(t, s, keyedClaim("callers", "app-a", "shared", "ua", cloudFlow))
		c := mustClaim(t, s, keyedClaim("callers", "user-c", "shared", "uc", cloudFlow))
		for _, res := range []*license.ClaimResult{a, c} {
			if res.Replayed || res.Outcome != license.Claimed {
				t.Fatalf("claim = %s; want CLAIMED, not replayed", describe(res))
			}
		}
		if a.Event.ID == c.Event.ID {
			t.Fatalf("both claims answered event %s; want one each", a.Event.ID)
		}
		wantReplayOf(t, mustClaim(t, s, keyedClaim("callers", "app-a", "shared", "ua", cloudFlow)), a)
		wantReplayOf(t, mustClaim(t, s, keyedClaim("callers", "user-c", "shared", "uc", cloudFlow)), c)
		_, err := s.Claim(context.Background(), keyedClaim("callers", "user-c", "shared", "ua", cloudFlow))
		wantCode(t, err, license.EINVALID)
		wantPools(t, s, products, map[string]int{flowSKU: 2})
	})
}

// oldFingerprint is the 32-bit FNV-1a fingerprint idempotency entries used
// to keep of a request.
func oldFingerprint(user, app string, trigger license.Trigger) uint32 {
	h := fnv.New32a()
	h.Write([]byte(user + "\x00" + app + "\x00" + string(trigger)))
	return h.Sum32()
}

// Two user ids whose claims of Power Automate for a premium flow had the
// same old fingerprint, found by trying user-0, user-1, …
const collidingUser1, collidingUser2 = "user-129599", "user-732382"

// TestRequestsWithOneOldFingerprintAreTwoRequests: a key reused for another
// request is refused, even when the two met in the old 32-bit fingerprint.
func TestRequestsWithOneOldFingerprintAreTwoRequests(t *testing.T) {
	u1, u2 := collidingUser1, collidingUser2
	if oldFingerprint(u1, powerAutomate, cloudFlow) != oldFingerprint(u2, powerAutomate, cloudFlow) {
		t.Fatalf("%s and %s had different fingerprints", u1, u2)
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := claimTenant(t, s, "collide", map[string]int{flowSKU: 5})
		mustCreatePolicy(t, s, "collide", powerAutomate, true, skuProducts(products, flowSKU)...)
		if store.RequestDigest(claimRequest("collide", u1, powerAutomate, cloudFlow)) == store.RequestDigest(claimRequest("collide", u2, powerAutomate, cloudFlow)) {
			t.Fatalf("%s and %s have one request digest", u1, u2)
		}
		wantOutcome(t, mustClaim(t, s, keyedClaim("collide", "app", "K", u1, cloudFlow)), license.Claimed, "", products[flowSKU])
		_, err := s.Claim(context.Background(), keyedClaim("collide", "app", "K", u2, cloudFlow))
		wantCode(t, err, license.EINVALID)
		if got := heldProducts(t, s, "collide", u2); len(got) != 0 {
			t.Fatalf("%s holds %v; want nothing", u2, got)
		}
	})
}

// TestIdempotencyAcrossMidnight: a key first used at 23:59:59 UTC replays at
// 00:00:01, Redis's clock deciding the day whatever the server's says.
func TestIdempotencyAcrossMidnight(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "midnight", map[string]int{flowSKU: 5})
		mustCreatePolicy(t, s, "midnight", powerAutomate, true, skuProducts(products, flowSKU)...)
		t.Run("ServerClockADayOff", func(t *testing.T) {
			s.Now = func() time.Time { return time.Now().Add(-25 * time.Hour) }
			defer func() { s.Now = time.Now }()
			first := mustClaim(t, s, keyedClaim("midnight", "app", "off", "u0", cloudFlow))
			wantOutcome(t, first, license.Claimed, "", products[flowSKU])
			wantReplayOf(t, mustClaim(t, s, keyedClaim("midnight", "app", "off", "u0", cloudFlow)), first)
		})
		t.Run("LastSecondThenFirstSecond", func(t *testing.T) {
			if b.Mini != nil {
				b.Mini.SetTime(time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC))
			}
			first := mustClaim(t, s, keyedClaim("midnight", "app", "late", "u1", cloudFlow))
			wantOutcome(t, first, license.Claimed, "", products[flowSKU])
			if b.Mini != nil {
				b.Mini.SetTime(time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC))
			} else {
				// Redis's clock can't be set: put the key where Redis keeps it
				// once its day has turned, the bucket of the day before.
				day := first.Event.At.UnixMilli() / dayMS
				today, _ := s.IdemBucketKey("midnight", day, "app", "late")
				yesterday, _ := s.IdemBucketKey("midnight", day-1, "app", "late")
				if err := b.Client.Rename(ctx, today, yesterday).Err(); err != nil {
					t.Fatal(err)
				}
			}
			wantReplayOf(t, mustClaim(t, s, keyedClaim("midnight", "app", "late", "u1", cloudFlow)), first)
		})
	})
}

// TestClaimsWhileThePolicyIsReordered: 16 clients claim while an admin
// reorders the policy back to back, until it has done so 30 times; no claim
// fails, none oversells, and each takes from a product of the policy.
func TestClaimsWhileThePolicyIsReordered(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := claimTenant(t, s, "churn", map[string]int{flowSKU: 100_000, premiumSKU: 100_000})
		p := mustCreatePolicy(t, s, "churn", powerAutomate, true, skuProducts(products, flowSKU, premiumSKU)...)
		admin := mustOpen(t, b) // another server instance, as an admin's request may reach
		done := make(chan struct{})
		var reorders atomic.Int64
		go func() {
			defer close(done)
			for reorders.Load() >= 0 {
				_, err := admin.UpdatePolicy(ctx, p.ID, func(p *license.Policy, _ license.SKULookup) error {
					p.Products[0], p.Products[1] = p.Products[1], p.Products[0]
					return nil
				})
				if err != nil {
					t.Errorf("reorder: %v", err)
					return
				}
				reorders.Add(1)
			}
		}()
		const clients, reordersWanted = 16, 30
		var wg sync.WaitGroup
		var claimed, conflicts atomic.Int64
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5 || reorders.Load() < reordersWanted; i++ {
					select {
					case <-done:
						return // the admin failed
					default:
					}
					res, err := s.Claim(ctx, claimRequest("churn", fmt.Sprintf("c%d-%d", c, i), powerAutomate, cloudFlow))
					switch {
					case license.ErrorCode(err) == license.ECONFLICT:
						conflicts.Add(1)
					case err != nil:
						t.Errorf("claim: %v", err)
					case res.Outcome != license.Claimed || (res.ProductID != products[flowSKU] && res.ProductID != products[premiumSKU]):
						t.Errorf("claim = %s; want CLAIMED from a product of the policy", describe(res))
					default:
						claimed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		n := reorders.Swap(-1 << 40)
		<-done
		if conflicts.Load() != 0 {
			t.Fatalf("%d of %d claims answered CONFLICT while the policy was reordered %d times; want none", conflicts.Load(), claimed.Load()+conflicts.Load(), n)
		}
		got := poolCounts(t, s, products)
		if int64(got[flowSKU]+got[premiumSKU]) != claimed.Load() {
			t.Fatalf("assigned %v for %d claims; want as many", got, claimed.Load())
		}
		t.Logf("%d claims, %d reorders", claimed.Load(), n)
	})
}

// TestClaimFromASKUWithPatternCharacters: part numbers such as
// Microsoft_365_E3_(no_Teams) hold characters that Lua patterns treat
// specially; claims from them, and of licenses of them, work as any other.
func TestClaimFromASKUWithPatternCharacters(t *testing.T) {
	const skuName = "Power.Automate-(Plus)+/E3"
	cat, err := license.BuiltinCatalog().ExtendWith([]byte(`{"apps": [], "products": [{"skuId": "0000000a-0000-4000-8000-000000000001",
		"skuPartNumber": "` + skuName + `", "displayName": "Power Automate Plus",
		"servicePlans": [{"id": "0000000a-0000-4000-8000-000000000002", "name": "FLOW_PLUS", "displayName": "Flow Plus"},
			{"id": "` + planExchange + `", "name": "EXCHANGE_S_FOUNDATION", "displayName": "Exchange Foundation"}],
		"covers": [{"app": "POWER_AUTOMATE", "triggers": ["TRIGGER_PREMIUM_FLOW", "SAVE_PREMIUM_FLOW"], "requiredPlan": "0000000a-0000-4000-8000-000000000002"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := store.New(b.Client, cat, b.Prefix)
		if err := s.LoadScripts(context.Background()); err != nil {
			t.Fatal(err)
		}
		products := claimTenant(t, s, "patterns", map[string]int{skuName: 2, flowSKU: 0})
		mustCreatePolicy(t, s, "patterns", powerAutomate, true, withPlans(products, skuName, planExchange), withPlans(products, flowSKU))
		plus := products[skuName]
		res := mustClaim(t, s, claimRequest("patterns", "u1", powerAutomate, cloudFlow))
		wantOutcome(t, res, license.Claimed, "", plus)
		if res.Product.SkuPartNumber != skuName || res.License.SKU == nil || res.License.SKU.SkuPartNumber != skuName {
			t.Fatalf("claimed product %+v, license SKU %+v; want %s", res.Product, res.License.SKU, skuName)
		}
		wantOutcome(t, mustClaim(t, s, claimRequest("patterns", "u1", powerAutomate, license.TriggerSavePremiumFlow)), license.AlreadyLicensed, "", plus)
		wantOutcome(t, mustClaim(t, s, claimRequest("patterns", "u1", powerAutomate, license.TriggerTurnOnPremiumFlow)), license.Denied, license.ReasonNoLicenses, "")
		wantOutcome(t, mustClaim(t, s, claimRequest("patterns", "u2", powerAutomate, license.TriggerSavePremiumFlow)), license.Claimed, "", plus)
		wantOutcome(t, mustClaim(t, s, claimRequest("patterns", "u3", powerAutomate, cloudFlow)), license.Denied, license.ReasonNoLicenses, "")
		wantPools(t, s, products, map[string]int{skuName: 2})
	})
}

// TestClaimWhoseReplyIsLostRunsOnce: on one Redis too, with claims
// auto-pipelined, a claim whose reply is lost is not run again by the
// client: the caller gets UNAVAILABLE, and the license the claim gave is the
// only one.
func TestClaimWhoseReplyIsLostRunsOnce(t *testing.T) {
	b := redistest.Real(t)
	ctx := context.Background()
	lose := &atomic.Bool{}
	rdb := redis.NewClient(&redis.Options{Addr: b.Addr, MaxRetries: -1, Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &replyLosingConn{Conn: c, lose: lose}, nil
	}})
	defer rdb.Close()
	s := mustOpen(t, b)
	lossy := store.New(rdb, license.BuiltinCatalog(), b.Prefix)
	products := claimTenant(t, s, "lost", map[string]int{flowSKU: 5})
	mustCreatePolicy(t, s, "lost", powerAutomate, true, skuProducts(products, flowSKU)...)
	mustClaim(t, lossy, claimRequest("lost", "first", powerAutomate, cloudFlow)) // reads the route: the next claim is one script call
	lose.Store(true)
	r, err := lossy.Claim(ctx, claimRequest("lost", "u1", powerAutomate, cloudFlow))
	if lose.Load() {
		t.Fatalf("the claim made no script call")
	}
	if err == nil {
		t.Fatalf("a claim whose reply was lost answered %s; want UNAVAILABLE (the client ran the claim script twice)", describe(r))
	}
	wantCode(t, err, license.EUNAVAILABLE)
	if ls, err := s.Licenses(ctx, "lost", "u1"); err != nil || len(ls) != 1 {
		t.Fatalf("u1 holds %d licenses (%v); want the one the lost claim gave", len(ls), err)
	}
}

// TestClaimAfterAProductIsAddedElsewhere: an instance that cached which of
// the tenant's products serve the app finds a product added since, and
// put in the policy, by another instance (the script answers STALE once).
func TestClaimAfterAProductIsAddedElsewhere(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s, admin := mustOpen(t, b), mustOpen(t, b)
		ctx := context.Background()
		if _, _, err := admin.CreateTenant(ctx, license.NewTenant{ID: "added", Name: "added", AdminUserPrincipalName: "a@added.example", AdminDisplayName: "A", AutoClaimEnabled: true}); err != nil {
			t.Fatal(err)
		}
		flow, err := admin.AddProduct(ctx, "added", flowSKU, 1)
		if err != nil {
			t.Fatal(err)
		}
		p := mustCreatePolicy(t, admin, "added", powerAutomate, true, license.PolicyProduct{ProductID: flow.ID})
		wantOutcome(t, mustClaim(t, s, claimRequest("added", "u1", powerAutomate, cloudFlow)), license.Claimed, "", flow.ID)
		premium, err := admin.AddProduct(ctx, "added", premiumSKU, 1)
		if err != nil {
			t.Fatal(err)
		}
		editPolicy(t, admin, p.ID, func(p *license.Policy, _ license.SKULookup) error {
			p.Products = append(p.Products, license.PolicyProduct{ProductID: premium.ID})
			return nil
		})
		wantOutcome(t, mustClaim(t, s, claimRequest("added", "u2", powerAutomate, cloudFlow)), license.Claimed, "", premium.ID)
	})
}
