package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// testClock is a store's clock that a test moves (and miniredis's with it),
// safe to read from the requests and the worker a test runs.
type testClock struct {
	mu  sync.Mutex
	now time.Time
	b   *redistest.Backend
}

// useTestClock gives the test API's store a clock that starts at Redis's time.
func (a *testAPI) useTestClock(b *redistest.Backend) *testClock {
	a.t.Helper()
	now, err := b.Client.Time(a.t.Context()).Result()
	if err != nil {
		a.t.Fatal(err)
	}
	c := &testClock{now: now, b: b}
	a.store.Now = c.Now
	return c
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves the clock, and miniredis's (the real Redis's can't move).
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	if c.b.Mini != nil {
		c.b.Mini.SetTime(c.now)
	}
}

// flowCatalog is the built-in catalog with a made-up app, INSIGHTS, and a
// made-up product, SHARED_PLAN, that serves it, Power Apps and Power
// Automate: one pool that policies of three apps claim from.
func flowCatalog(t testing.TB) *license.Catalog {
	t.Helper()
	cat, err := license.BuiltinCatalog().ExtendWith([]byte(`{
	"apps": [{"id": "INSIGHTS", "displayName": "Insights", "triggers": ["SIGN_IN"]}],
	"products": [{"skuId": "00000000-0000-4000-8000-00000000a001", "skuPartNumber": "SHARED_PLAN", "displayName": "Shared plan",
		"servicePlans": [{"id": "00000000-0000-4000-8000-00000000a002", "name": "SHARED", "displayName": "Shared"}],
		"covers": [
			{"app": "POWER_AUTOMATE", "triggers": ["TRIGGER_PREMIUM_FLOW"], "requiredPlan": "00000000-0000-4000-8000-00000000a002"},
			{"app": "POWER_APPS", "triggers": ["SIGN_IN"], "requiredPlan": "00000000-0000-4000-8000-00000000a002"},
			{"app": "INSIGHTS", "triggers": ["SIGN_IN"], "requiredPlan": "00000000-0000-4000-8000-00000000a002"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

const (
	claimQueued = `mutation($t: ID!, $u: ID!, $a: ID!, $tr: ClaimTrigger!) { claimLicense(input: {tenantId: $t, userId: $u, appId: $a, trigger: $tr}) {
	outcome reason waitlistPosition product { id } } }`
	waitlistQuery = `query($t: ID!, $p: ID!, $after: String) { tenant(id: $t) { policy(id: $p) { waitlist(first: 500, after: $after) {
	totalCount nodes { userId position trigger queuedAt user { id } } edges { cursor } pageInfo { hasNextPage endCursor } } } } }`
	settingsMutation = `mutation($in: UpdateAutoClaimPolicySettingsInput!) { updateAutoClaimPolicySettings(input: $in) {
	id version waitlistEnabled reclaimInactiveAfterDays releaseSupersededLicenses } }`
)

// queuedAnswer is what the tests read of a claim's answer.
type queuedAnswer struct {
	Outcome          string
	Reason           *string
	WaitlistPosition *int
	Product          *struct{ ID string }
}

// claimAs claims for user with the app and trigger, as token.
func (a *testAPI) claimAs(token, tenantID, user, app, trigger string) queuedAnswer {
	a.t.Helper()
	var out struct{ ClaimLicense queuedAnswer }
	a.mustDo(token, claimQueued, map[string]any{"t": tenantID, "u": user, "a": app, "tr": trigger}, &out)
	return out.ClaimLicense
}

// waitlistOrder reads a policy's whole waitlist through the API, a page at
// a time: the users in order, checking each one's position.
func (a *testAPI) waitlistOrder(token, tenantID, policyID string) []string {
	a.t.Helper()
	var users []string
	var after any
	for {
		var out struct {
			Tenant struct {
				Policy struct {
					Waitlist struct {
						TotalCount int
						Nodes      []struct {
							UserID   string
							Position int
							Trigger  string
						}
						PageInfo struct {
							HasNextPage bool
							EndCursor   *string
						}
					}
				}
			}
		}
		a.mustDo(token, waitlistQuery, map[string]any{"t": tenantID, "p": policyID, "after": after}, &out)
		w := out.Tenant.Policy.Waitlist
		for _, n := range w.Nodes {
			if n.Position != len(users)+1 {
				a.t.Fatalf("%s at position %d; want %d", n.UserID, n.Position, len(users)+1)
			}
			users = append(users, n.UserID)
		}
		if !w.PageInfo.HasNextPage {
			if w.TotalCount != len(users) {
				a.t.Fatalf("waitlist totalCount %d; its pages list %d users", w.TotalCount, len(users))
			}
			return users
		}
		after = *w.PageInfo.EndCursor
	}
}

// setSettings changes a policy's settings as token.
func (a *testAPI) setSettings(token string, in map[string]any) {
	a.t.Helper()
	a.mustDo(token, settingsMutation, map[string]any{"in": in}, nil)
}

// TestWaitlistOrderUnderConcurrency: 1,000 users who find no license queue
// up, 64 at a time; 100 licenses then become available, 10 at a time, by
// every route (a quantity raised, licenses removed, reclaimed by an admin
// and by the sweep, a product added to the policy, a product moved after a
// crash left licenses unfilled, the policy and the org setting turned on),
// while the users waiting ask again, 64 at a time. Exactly the first 100
// in queue order get a license, one each; those asking again never get one
// out of turn; the pools add up.
func TestWaitlistOrderUnderConcurrency(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPIOn(t, b.Client, b.Prefix, flowCatalog(t), nil)
		clock := ta.useTestClock(b)
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		work := make(chan struct{})
		go func() { defer close(work); ta.store.Work(ctx) }()
		defer func() { stop(); <-work }()

		const tenant = "order"
		f := ta.newBareFixture(tenant)
		admin, app := f.admin, ta.token("apps", tenant, auth.App)
		if _, err := ta.store.SetPolicyLimit(ctx, tenant, 3); err != nil {
			t.Fatal(err)
		}
		product := func(sku string, n int) string {
			var out struct{ AddProduct struct{ ID string } }
			ta.mustDo(admin, `mutation($t: ID!, $s: String!, $n: Int!) { addProduct(input: {tenantId: $t, skuPartNumber: $s, quantity: $n}) { id } }`,
				map[string]any{"t": tenant, "s": sku, "n": n}, &out)
			return out.AddProduct.ID
		}
		flow, shared, premium := product(skuFlow, 20), product("SHARED_PLAN", 20), product(skuRPA, 10)
		// W, the waitlist's policy; R1 and R2 claim from the shared pool
		// too, for the reclaims to free (by an admin, and by the sweep).
		w := ta.mustPolicy(f, "POWER_AUTOMATE", flow, shared)
		r1, r2 := ta.mustPolicy(f, "POWER_APPS", shared), ta.mustPolicy(f, "INSIGHTS", shared)
		ta.mustDo(admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": tenant}, nil)
		var direct []string
		for i := range 20 {
			direct = append(direct, ta.mustUser(f, fmt.Sprintf("d%02d", i)))
			ta.mustAssign(direct[i], flow)
		}
		for i := range 10 {
			for _, c := range []struct{ user, app string }{{fmt.Sprintf("e%02d", i), "POWER_APPS"}, {fmt.Sprintf("f%02d", i), "INSIGHTS"}} {
				if got := ta.claimAs(app, tenant, c.user, c.app, "SIGN_IN"); got.Outcome != "CLAIMED" {
					t.Fatalf("%s's claim: %+v", c.user, got)
				}
			}
		}
		ta.setSettings(admin, map[string]any{"policyId": w, "waitlistEnabled": true})

		// 1,000 users queue, 64 at a time.
		users := make([]string, 1000)
		positions := make([]int, len(users))
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < len(users); i = int(next.Add(1)) - 1 {
					users[i] = fmt.Sprintf("q%04d", i)
					got := ta.on(t).claimAs(app, tenant, users[i], "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW")
					if got.Outcome != "QUEUED" || got.WaitlistPosition == nil {
						t.Errorf("%s: %+v; want QUEUED", users[i], got)
						return
					}
					positions[i] = *got.WaitlistPosition
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		order := ta.waitlistOrder(admin, tenant, w)
		if len(order) != len(users) {
			t.Fatalf("%d users wait; want %d", len(order), len(users))
		}
		for i, u := range users {
			if order[positions[i]-1] != u {
				t.Fatalf("%s was told position %d; the waitlist has %s there", u, positions[i], order[positions[i]-1])
			}
		}

		// Users waiting ask again while licenses become available.
		asking, askers := make(chan struct{}), sync.WaitGroup{}
		var outOfTurn atomic.Int64
		for g := range 64 {
			askers.Add(1)
			go func() {
				defer askers.Done()
				r := rand.New(rand.NewPCG(uint64(g), 7))
				for {
					select {
					case <-asking:
						return
					default:
					}
					u := users[r.IntN(len(users))]
					got := ta.on(t).claimAs(app, tenant, u, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW")
					switch got.Outcome {
					case "QUEUED", "ALREADY_LICENSED", "DENIED": // DENIED while the policy or the setting is off
					default:
						outOfTurn.Add(1)
						t.Errorf("%s asking again: %+v", u, got)
					}
				}
			}()
		}

		filled := func() int { // users no longer waiting (the licenses they hold are checked at the end)
			page, err := ta.store.Waitlist(ctx, w, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			return len(users) - page.TotalCount
		}
		setQuantity := func(id string, delta int) {
			p, err := ta.store.Product(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			ta.mustDo(admin, `mutation($p: ID!, $n: Int!) { setLicenseQuantity(productId: $p, quantity: $n) { id } }`,
				map[string]any{"p": id, "n": p.TotalLicenses + delta}, nil)
		}
		removeDirect := func(users []string) {
			for _, u := range users {
				ta.mustDo(admin, `mutation($u: ID!, $p: ID!) { removeLicense(userId: $u, productId: $p) { id } }`, map[string]any{"u": u, "p": flow}, nil)
			}
		}
		enabled := func(policy string, on bool) {
			ta.mustDo(admin, `mutation($p: ID!, $on: Boolean!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: $on) { id } }`, map[string]any{"p": policy, "on": on}, nil)
		}
		orgSetting := func(on bool) {
			ta.mustDo(admin, `mutation($t: ID!, $on: Boolean!) { setAutoClaimEnabled(tenantId: $t, enabled: $on) { id } }`, map[string]any{"t": tenant, "on": on}, nil)
		}
		steps := []struct {
			name string
			free func()
		}{
			{"QuantityRaised", func() { setQuantity(flow, 10) }},
			{"LicensesRemoved", func() { removeDirect(direct[:10]) }},
			{"LicensesReclaimed", func() {
				clock.advance(8 * 24 * time.Hour)
				var dry struct {
					Tenant struct {
						Policy struct{ InactiveLicenses struct{ TotalCount int } }
					}
				}
				ta.mustDo(admin, `query($t: ID!, $p: ID!) { tenant(id: $t) { policy(id: $p) { inactiveLicenses(days: 7) { totalCount } } } }`,
					map[string]any{"t": tenant, "p": r1}, &dry)
				var out struct{ ReclaimInactiveLicenses int }
				ta.mustDo(admin, `mutation($p: ID!) { reclaimInactiveLicenses(policyId: $p, days: 7) }`, map[string]any{"p": r1}, &out)
				if out.ReclaimInactiveLicenses != 10 || dry.Tenant.Policy.InactiveLicenses.TotalCount != 10 {
					t.Fatalf("reclaimed %d after a dry run of %d; want 10 and 10", out.ReclaimInactiveLicenses, dry.Tenant.Policy.InactiveLicenses.TotalCount)
				}
			}},
			{"ProductAdded", func() {
				ta.mustDo(admin, `mutation($p: ID!, $x: ID!) { addBackupProduct(policyId: $p, productId: $x) { id } }`, map[string]any{"p": w, "x": premium}, nil)
			}},
			{"PolicyTurnedOn", func() { enabled(w, false); setQuantity(flow, 10); enabled(w, true) }},
			{"OrgSettingTurnedOn", func() { orgSetting(false); setQuantity(flow, 10); orgSetting(true) }},
			{"LicensesSwept", func() {
				ta.setSettings(admin, map[string]any{"policyId": r2, "reclaimInactiveAfterDays": 7})
				await(t, func() bool { return filled() == 70 }, "the sweep's licenses to reach the waitlist")
			}},
			{"ProductMoved", func() {
				// A crash left licenses available and unfilled, and no mark.
				if err := b.Client.HIncrBy(ctx, b.Prefix+"{t:"+tenant+"}:product:"+strings.TrimPrefix(flow, tenant+":product:"), "total", 10).Err(); err != nil {
					t.Fatal(err)
				}
				ta.mustDo(admin, `mutation($p: ID!, $x: ID!) { movePolicyProduct(policyId: $p, productId: $x, direction: UP) { id } }`, map[string]any{"p": w, "x": premium}, nil)
			}},
			{"LicensesRemovedAgain", func() { removeDirect(direct[10:]) }},
			{"QuantityRaisedAgain", func() { setQuantity(flow, 10) }},
		}
		for i, st := range steps {
			st.free()
			if got := filled(); got != 10*(i+1) {
				t.Fatalf("after %s: %d users left the waitlist; want %d", st.name, got, 10*(i+1))
			}
		}
		close(asking)
		askers.Wait()

		for i, u := range order {
			ls, err := ta.store.Licenses(ctx, tenant, u)
			if err != nil {
				t.Fatal(err)
			}
			if want := min(1, max(0, 100-i)); len(ls) != want {
				t.Fatalf("%s, at place %d, holds %d licenses; want %d", u, i+1, len(ls), want)
			}
			if len(ls) == 1 && (ls[0].PolicyID != w || ls[0].Source != license.SourceAutoClaim) {
				t.Fatalf("%s holds %+v; want a license claimed under the waitlist's policy", u, ls[0])
			}
		}
		if rest := ta.waitlistOrder(admin, tenant, w); !slices.Equal(rest, order[100:]) {
			t.Fatalf("the users still waiting are not the last 900 in their order")
		}
		for _, id := range []string{flow, shared, premium} {
			p, err := ta.store.Product(ctx, id)
			if err != nil || p.AssignedLicenses != p.TotalLicenses {
				t.Fatalf("%s: %+v, %v; want every license assigned", id, p, err)
			}
		}
		fills := map[string]int{}
		for _, m := range eventsOf(t, b, tenant) {
			if m.Values["trigger"] == "WAITLIST" {
				fills[m.Values["user"].(string)]++
			}
		}
		for _, u := range order[:100] {
			if fills[u] != 1 {
				t.Fatalf("%s has %d waitlist fill events; want 1", u, fills[u])
			}
		}
		if len(fills) != 100 {
			t.Fatalf("%d users have waitlist fill events; want 100", len(fills))
		}
		for i, u := range order[100:110] {
			if got := ta.claimAs(app, tenant, u, "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW"); got.Outcome != "QUEUED" || *got.WaitlistPosition != i+1 {
				t.Fatalf("%s asking again: %+v; want QUEUED at %d", u, got, i+1)
			}
		}
	})
}

// await waits until cond holds, failing the test after a while.
func await(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventsOf reads a tenant's event stream.
func eventsOf(t *testing.T, b *redistest.Backend, tenantID string) []redis.XMessage {
	t.Helper()
	msgs, err := b.Client.XRange(t.Context(), b.Prefix+"{t:"+tenantID+"}:events", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}
