package store_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/clustertest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// replyWatch is a go-redis hook on every node client of a cluster client. It
// records every error reply that mentions CROSSSLOT (a command or script
// touching keys of two slots, which a test must fail on) and counts error
// replies by their first word: MOVED, ASK, TRYAGAIN, NOSCRIPT…
type replyWatch struct {
	mu        sync.Mutex
	crossSlot []string
	counts    map[string]int
}

func (w *replyWatch) DialHook(next redis.DialHook) redis.DialHook { return next }

func (w *replyWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		w.see(cmd, err) // cmd.Err() may not be set yet on a node client
		return err
	}
}

func (w *replyWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			w.see(cmd, cmd.Err())
		}
		return err
	}
}

func (w *replyWatch) see(cmd redis.Cmder, err error) {
	if err == nil || err == redis.Nil {
		return
	}
	kind, _, _ := strings.Cut(err.Error(), " ")
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.counts == nil {
		w.counts = map[string]int{}
	}
	w.counts[kind]++
	if strings.Contains(err.Error(), "CROSSSLOT") {
		args := fmt.Sprint(cmd.Args())
		if len(args) > 300 {
			args = args[:300] + "…"
		}
		w.crossSlot = append(w.crossSlot, fmt.Sprintf("%s: %v", args, err))
	}
}

func (w *replyWatch) count(kind string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[kind]
}

func (w *replyWatch) crossSlotReplies() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.crossSlot...)
}

// watch hooks w into every node client of rdb.
func (w *replyWatch) watch(rdb *redis.ClusterClient) {
	rdb.OnNewNode(func(node *redis.Client) { node.AddHook(w) })
}

// watchedCluster returns the package's shared cluster with a replyWatch that
// fails the test, when it ends, if any reply was a CROSSSLOT error.
func watchedCluster(t *testing.T) (*clustertest.Cluster, *replyWatch) {
	t.Helper()
	cl := clustertest.Shared(t)
	w := &replyWatch{}
	t.Cleanup(func() {
		for _, r := range w.crossSlotReplies() {
			t.Errorf("CROSSSLOT reply: %s", r)
		}
	})
	return cl, w
}

// clusterStore opens a store on a new client of the cluster, watched by w,
// with its scripts loaded on every master.
func clusterStore(tb testing.TB, cl *clustertest.Cluster, w *replyWatch, prefix string) *store.Store {
	tb.Helper()
	rdb := cl.Client()
	w.watch(rdb)
	s := store.New(rdb, license.BuiltinCatalog(), prefix)
	if err := s.LoadScripts(context.Background()); err != nil {
		tb.Fatalf("LoadScripts: %v", err)
	}
	return s
}

// tenantPerMaster returns, for each master, a tenant id of the form
// <base><n> whose slot that master serves.
func tenantPerMaster(t *testing.T, cl *clustertest.Cluster, base string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, addr := range cl.Addrs {
		out[addr] = cl.TenantOn(t, addr, base)
	}
	return out
}

// tenantTag finds the tenant id in a key's hash tag.
var tenantTag = regexp.MustCompile(`\{t:([^}]*)\}`)

// TestCluster runs the store on a three-master Redis Cluster, with tenants on
// every master: the claim rules, concurrency, subscriptions and reports, every
// key of a tenant in its one slot, no CROSSSLOT reply and the scripts loaded
// on every master.
func TestCluster(t *testing.T) {
	cl, w := watchedCluster(t)
	prefix := redistest.Prefix()
	s := clusterStore(t, cl, w, prefix)
	ctx := context.Background()

	t.Run("WatchSeesCrossSlot", func(t *testing.T) {
		// The watch must catch what it guards against: a script given keys of two slots.
		other := &replyWatch{}
		rdb := cl.Client()
		other.watch(rdb)
		a, b := "{a}", "{b}"
		if cl.SlotOf(t, a) == cl.SlotOf(t, b) {
			t.Fatalf("%s and %s share a slot", a, b)
		}
		err := rdb.Eval(ctx, "return redis.call('EXISTS', KEYS[1], KEYS[2])", []string{a, b}).Err()
		if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
			t.Fatalf("script on two slots: err = %v; want CROSSSLOT", err)
		}
		if got := other.crossSlotReplies(); len(got) == 0 {
			t.Fatalf("the watch recorded no CROSSSLOT reply")
		}
	})

	t.Run("TenantsOnEveryMaster", func(t *testing.T) {
		// Create tenants until each master serves at least one; each one's
		// keys are on its master only.
		onMaster := map[string][]string{}
		for i := 0; len(onMaster) < len(cl.Addrs); i++ {
			if i == 100 {
				t.Fatalf("100 tenants and only masters %v serve any", onMaster)
			}
			id := fmt.Sprint("spread", i)
			tenantWithProducts(t, s, id, 1)
			owner := cl.Owner(t, cl.TenantSlot(t, id))
			onMaster[owner] = append(onMaster[owner], id)
		}
		for _, addr := range cl.Addrs {
			for _, n := range cl.Addrs {
				for _, id := range onMaster[addr] {
					keys, err := cl.Node(t, n).Keys(ctx, prefix+"*{t:"+id+"}*").Result()
					if err != nil {
						t.Fatal(err)
					}
					if (n == addr) != (len(keys) > 0) {
						t.Fatalf("master %s holds %d keys of tenant %s, whose slot %s serves", n, len(keys), id, addr)
					}
				}
			}
		}
	})

	t.Run("ClaimRules", func(t *testing.T) {
		for addr, id := range tenantPerMaster(t, cl, "rules") {
			t.Run(addr, func(t *testing.T) { claimRules(t, s, id) })
		}
		_, err := claim(s, "nosuchtenant", "u")
		wantCode(t, err, license.ENOTFOUND)
	})

	t.Run("ConcurrentClaimsNeverOversell", func(t *testing.T) {
		// A tenant on each master, all at once.
		tenants := tenantPerMaster(t, cl, "rush")
		products := map[string]map[string]string{}
		for _, id := range tenants {
			products[id] = tenantWithProducts(t, s, id, 0)
			for sku, n := range map[string]int{"FLOW_PER_USER": 500, "POWERAUTOMATE_ATTENDED_RPA": 200} {
				if _, err := s.SetLicenseQuantity(ctx, products[id][sku], n); err != nil {
					t.Fatal(err)
				}
			}
			automatePolicy(t, s, id, products[id])
		}
		var wg sync.WaitGroup
		for _, id := range tenants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(id, func(t *testing.T) {
					rushTenant(t, s, id, products[id]["FLOW_PER_USER"], products[id]["POWERAUTOMATE_ATTENDED_RPA"])
				})
			}()
		}
		wg.Wait()
	})

	t.Run("Subscriptions", func(t *testing.T) {
		// Claims through one instance reach a subscriber on another, for a
		// tenant on each master at once; a subscriber resumes after the last
		// event it saw.
		sub := clusterStore(t, cl, w, prefix)
		tenants := tenantPerMaster(t, cl, "live")
		live := map[string]*collector{}
		stops := map[string]context.CancelFunc{}
		for _, id := range tenants {
			automatePolicy(t, s, id, tenantWithProducts(t, s, id, 100))
			live[id], stops[id] = subscribe(t, sub, id, "")
		}
		for _, id := range tenants {
			claimN(t, s, id, 0, 3)
		}
		last := map[string]string{}
		for addr, id := range tenants {
			got := live[id].waitFor(t, 3)
			if users := fmt.Sprint(claimUsers(got)); users != "[user-0 user-1 user-2]" || len(got) != 3 {
				t.Fatalf("tenant %s (on %s) subscriber got %v; want user-0..2 in order", id, addr, users)
			}
			for _, e := range got {
				if e.Claim.TenantID != id || e.Claim.Outcome != license.Claimed {
					t.Fatalf("tenant %s subscriber got %+v; want its own CLAIMED events", id, e.Claim)
				}
			}
			last[id] = got[2].ID()
			stops[id]()
			<-live[id].done
		}
		for _, id := range tenants {
			claimN(t, s, id, 3, 2)
		}
		resumed := map[string]*collector{}
		for _, id := range tenants {
			resumed[id], _ = subscribe(t, sub, id, last[id])
		}
		for _, id := range tenants {
			claimN(t, s, id, 5, 1)
		}
		for addr, id := range tenants {
			if got := fmt.Sprint(claimUsers(resumed[id].waitFor(t, 3))); got != "[user-3 user-4 user-5]" {
				t.Fatalf("tenant %s (on %s) resumed with %v; want user-3..5 (no gap, no repeat)", id, addr, got)
			}
		}
	})

	t.Run("Reports", func(t *testing.T) {
		for addr, id := range tenantPerMaster(t, cl, "report") {
			products := tenantWithProducts(t, s, id, 2)
			pol := automatePolicy(t, s, id, products)
			for _, u := range []string{"a", "b", "c", "a", "d", "e"} {
				if _, err := claim(s, id, u); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := s.Report(ctx, id, 7)
			if err != nil {
				t.Fatalf("Report of %s (on %s): %v", id, addr, err)
			}
			if rep.TotalClaims != 4 || len(rep.Policies) != 1 || rep.Policies[0].Policy.ID != pol.ID {
				t.Fatalf("report of %s (on %s): %d claims over %d policies; want 4 claims of policy %s", id, addr, rep.TotalClaims, len(rep.Policies), pol.ID)
			}
			want := fmt.Sprint([]license.ProductClaims{{ProductID: products["FLOW_PER_USER"], Claims: 2}, {ProductID: products["POWERAUTOMATE_ATTENDED_RPA"], Claims: 2}})
			if got := fmt.Sprint(rep.Policies[0].Products); got != want {
				t.Fatalf("report of %s per product %s; want %s", id, got, want)
			}
		}
	})

	t.Run("FlowBack", func(t *testing.T) {
		// The waitlist, a sweep by the worker that feeds it, and a low-license
		// alert, with a tenant on each master.
		c := &clock{now: time.Now()}
		s.Now = c.Now
		defer func() { s.Now = time.Now }()
		for addr, id := range tenantPerMaster(t, cl, "flow") {
			t.Run(addr, func(t *testing.T) {
				products := claimTenant(t, s, id, map[string]int{flowSKU: 2})
				p := mustCreatePolicy(t, s, id, powerAutomate, true, skuProducts(products, flowSKU)...)
				waitlistOn(t, s, p.ID)
				if _, err := s.SetLowLicenseThreshold(ctx, products[flowSKU], 1); err != nil {
					t.Fatal(err)
				}
				for _, u := range []string{"a", "b"} {
					wantOutcome(t, mustClaim(t, s, claimRequest(id, u, powerAutomate, cloudFlow)), license.Claimed, "", products[flowSKU])
				}
				for i, u := range []string{"w1", "w2"} {
					wantQueued(t, mustClaim(t, s, claimRequest(id, u, powerAutomate, cloudFlow)), i+1)
				}
				setReclaim(t, s, p.ID, 7)
				c.now = c.now.Add(8 * day)
				if err := s.Tick(ctx); err != nil {
					t.Fatal(err)
				}
				for u, want := range map[string]int{"a": 0, "b": 0, "w1": 1, "w2": 1} {
					if got := len(heldProducts(t, s, id, u)); got != want {
						t.Fatalf("%s holds %d licenses after the sweep; want %d", u, got, want)
					}
				}
				if got := waitlist(t, s, p.ID); len(got) != 0 {
					t.Fatalf("waitlist after the sweep: %v", got)
				}
				rep, err := s.Report(ctx, id, 1)
				if err != nil || rep.Policies[0].Reclaimed != 2 || rep.Policies[0].WaitlistFills != 2 {
					t.Fatalf("report of %s (on %s): %+v, %v; want 2 reclaimed and 2 fills", id, addr, rep, err)
				}
			})
		}
	})

	t.Run("KeysShareOneSlot", func(t *testing.T) {
		// Every operation on a tenant on each master, then: every key under
		// the prefix, on every master, carries a tenant's hash tag, hashes
		// (CLUSTER KEYSLOT) to that tenant's slot, and lives on its master;
		// but the set of tenants with background work, which lists tenant
		// ids only and no script touches.
		for _, id := range tenantPerMaster(t, cl, "keys") {
			everyOperation(t, s, id)
		}
		perTenant := map[string]int{}
		tenantSlots, owners := map[string]int{}, map[string]string{} // by tenant id
		for _, addr := range cl.Addrs {
			node := cl.Node(t, addr)
			keys, err := node.Keys(ctx, prefix+"*").Result()
			if err != nil {
				t.Fatal(err)
			}
			slots := make([]*redis.IntCmd, len(keys))
			if _, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					slots[i] = p.ClusterKeySlot(ctx, k)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for i, k := range keys {
				if k == prefix+"flow" {
					ids, err := node.SMembers(ctx, k).Result()
					for _, id := range ids {
						if license.ValidateTenantID(id) != nil {
							t.Errorf("%s lists %q, not a tenant id (%v)", k, id, err)
						}
					}
					continue
				}
				m := tenantTag.FindStringSubmatch(k)
				if m == nil {
					t.Errorf("key %q on %s carries no tenant hash tag", k, addr)
					continue
				}
				id := m[1]
				perTenant[id]++
				if _, ok := owners[id]; !ok {
					tenantSlots[id] = cl.TenantSlot(t, id)
					owners[id] = cl.Owner(t, tenantSlots[id])
				}
				want := tenantSlots[id]
				if got := int(slots[i].Val()); got != want {
					t.Errorf("CLUSTER KEYSLOT %q = %d; want %d, the slot of {t:%s}", k, got, want, id)
				}
				if owners[id] != addr {
					t.Errorf("key %q is on %s; its tenant's slot %d is served by %s", k, addr, want, owners[id])
				}
			}
		}
		for addr, id := range tenantPerMaster(t, cl, "keys") {
			if perTenant[id] < 10 {
				t.Errorf("tenant %s (on %s) has %d keys; want the keys of every operation", id, addr, perTenant[id])
			}
		}
	})

	t.Run("ClaimWhoseReplyIsLostRunsOnce", func(t *testing.T) {
		// A claim whose reply is lost has run. The client must not run it
		// again by itself (a second run answers ALREADY_LICENSED for the
		// license the first one gave, and the CLAIMED answer is lost): as
		// on one Redis, the caller gets UNAVAILABLE and retries with an
		// idempotency key.
		lose := &atomic.Bool{}
		opt := cl.Options()
		opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &replyLosingConn{Conn: c, lose: lose}, nil
		}
		rdb := cl.ClientWith(opt)
		w.watch(rdb)
		lossy := store.New(rdb, license.BuiltinCatalog(), prefix)
		for addr, id := range tenantPerMaster(t, cl, "lost") {
			automatePolicy(t, s, id, tenantWithProducts(t, s, id, 5))
			if _, err := claim(lossy, id, "first"); err != nil { // reads the policy: the next claim is one script call
				t.Fatal(err)
			}
			lose.Store(true)
			r, err := claim(lossy, id, "u1")
			if lose.Load() {
				t.Fatalf("the claim made no script call")
			}
			if err == nil {
				t.Fatalf("claim on %s whose reply was lost answered %s from %q; want UNAVAILABLE (the client ran the claim script twice)", addr, r.Outcome, r.ProductID)
			}
			wantCode(t, err, license.EUNAVAILABLE)
			if ls, err := s.Licenses(ctx, id, "u1"); err != nil || len(ls) != 1 {
				t.Fatalf("u1 holds %d licenses (%v); want the one the lost claim gave", len(ls), err)
			}
		}
	})

	t.Run("ScriptsOnEveryMaster", func(t *testing.T) {
		// Everything so far went by EVALSHA: LoadScripts loaded the scripts on every master.
		if n := w.count("NOSCRIPT"); n != 0 {
			t.Fatalf("%d NOSCRIPT replies; want none once LoadScripts ran", n)
		}
		// A master that lost its scripts answers NOSCRIPT (go-redis falls back
		// to EVAL) until LoadScripts runs again.
		tenants := tenantPerMaster(t, cl, "flush")
		addr := cl.Addrs[len(cl.Addrs)-1]
		for _, id := range tenants {
			automatePolicy(t, s, id, tenantWithProducts(t, s, id, 5))
		}
		if err := cl.Node(t, addr).ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if r, err := claim(s, tenants[addr], "u1"); err != nil || r.Outcome != license.Claimed {
			t.Fatalf("claim on %s after SCRIPT FLUSH = %+v, %v; want CLAIMED", addr, r, err)
		}
		flushed := w.count("NOSCRIPT")
		if flushed == 0 {
			t.Fatalf("no NOSCRIPT reply from %s after SCRIPT FLUSH: the watch can't see a missing script", addr)
		}
		if err := s.LoadScripts(ctx); err != nil {
			t.Fatal(err)
		}
		for _, id := range tenants {
			if r, err := claim(s, id, "u2"); err != nil || r.Outcome != license.Claimed {
				t.Fatalf("claim for %s = %+v, %v; want CLAIMED", id, r, err)
			}
		}
		if n := w.count("NOSCRIPT"); n != flushed {
			t.Fatalf("%d NOSCRIPT replies after LoadScripts ran again; want none", n-flushed)
		}
	})
}

// replyLosingConn is a connection that loses the reply of one script call
// when lose is set: it lets the call reach Redis, waits for the reply (the
// script has run), then closes the connection and reports EOF.
type replyLosingConn struct {
	net.Conn
	lose  *atomic.Bool
	armed bool // the call whose reply to lose was written on this connection
}

func (c *replyLosingConn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("\r\nevalsha\r\n")) && c.lose.CompareAndSwap(true, false) {
		c.armed = true
	}
	return c.Conn.Write(b)
}

func (c *replyLosingConn) Read(b []byte) (int, error) {
	if !c.armed {
		return c.Conn.Read(b)
	}
	c.Conn.Read(b)
	c.Conn.Close()
	return 0, io.EOF
}

// claimRules checks the claim rules on one tenant: products in the policy's
// order, denials, an existing license, the org and policy switches and
// idempotency keys.
func claimRules(t *testing.T, s *store.Store, id string) {
	ctx := context.Background()
	products := tenantWithProducts(t, s, id, 1)
	primary, backup := products["FLOW_PER_USER"], products["POWERAUTOMATE_ATTENDED_RPA"]
	want := func(user string, outcome license.Outcome, reason license.Reason, productID string) *license.ClaimResult {
		t.Helper()
		r, err := claim(s, id, user)
		if err != nil {
			t.Fatalf("claim for %s: %v", user, err)
		}
		if r.Outcome != outcome || r.Reason != reason || r.ProductID != productID {
			t.Fatalf("claim for %s = %s %q from %q; want %s %q from %q", user, r.Outcome, r.Reason, r.ProductID, outcome, reason, productID)
		}
		return r
	}
	want("ann", license.Denied, license.ReasonAutoClaimDisabled, "")
	if _, err := s.SetAutoClaimEnabled(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	want("ann", license.Denied, license.ReasonNoPolicy, "")
	pol := automatePolicy(t, s, id, products)

	want("ann", license.Claimed, "", primary)
	want("bob", license.Claimed, "", backup)
	want("cat", license.Denied, license.ReasonNoLicenses, "")
	want("ann", license.AlreadyLicensed, "", primary)

	if _, err := s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error {
		p.Enabled = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want("cat", license.Denied, license.ReasonPolicyDisabled, "")
	if _, err := s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error {
		p.Enabled = true
		return p.Reorder([]string{backup, primary})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLicenseQuantity(ctx, backup, 3); err != nil {
		t.Fatal(err)
	}
	want("cat", license.Claimed, "", backup)

	keyed := license.ClaimRequest{TenantID: id, UserID: "dan", AppID: "POWER_AUTOMATE", Trigger: license.TriggerTriggerPremiumFlow, IdempotencyKey: "dan-1"}
	first, err := s.Claim(ctx, keyed)
	if err != nil || first.Outcome != license.Claimed || first.Replayed {
		t.Fatalf("keyed claim = %+v, %v; want a fresh CLAIMED", first, err)
	}
	again, err := s.Claim(ctx, keyed)
	if err != nil || !again.Replayed || again.Event.ID != first.Event.ID || again.ProductID != first.ProductID {
		t.Fatalf("retried keyed claim = %+v, %v; want the first answer (event %s) replayed", again, err, first.Event.ID)
	}
	other := keyed
	other.UserID = "eve"
	_, err = s.Claim(ctx, other)
	wantCode(t, err, license.EINVALID)

	apps, err := s.Claim(ctx, license.ClaimRequest{TenantID: id, UserID: "ann", AppID: "POWER_APPS", Trigger: license.TriggerLaunchPremiumApp})
	if err != nil || apps.Outcome != license.Denied || apps.Reason != license.ReasonNoPolicy {
		t.Fatalf("claim for Power Apps = %+v, %v; want DENIED NO_POLICY", apps, err)
	}
	for _, pid := range []string{primary, backup} {
		p, err := s.Product(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{primary: 1, backup: 3}[pid]; p.AssignedLicenses != want {
			t.Fatalf("product %s: %d assigned; want %d", pid, p.AssignedLicenses, want)
		}
	}
}

// rushTenant claims for 2,000 distinct users of one tenant from 64 goroutines, over
// pools of 500 (primary) and 200 (backup): exactly 700 claimed, the primary's
// before any of the backup's, nobody holding two.
func rushTenant(t *testing.T, s *store.Store, id, primary, backup string) {
	ctx := context.Background()
	const users, workers = 2000, 64
	results := make([]*license.ClaimResult, users)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < users; i = next.Add(1) - 1 {
				r, err := claim(s, id, fmt.Sprint("user-", i))
				if err != nil {
					t.Errorf("claim %d: %v", i, err)
					return
				}
				results[i] = r
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	outcomes, byProduct := map[string]int{}, map[string]int{}
	var lastPrimary, firstBackup license.EventID
	for _, r := range results {
		outcomes[string(r.Outcome)+" "+string(r.Reason)]++
		byProduct[r.ProductID]++
		ev, err := license.ParseEventID(r.Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.ProductID == primary && ev.After(lastPrimary):
			lastPrimary = ev
		case r.ProductID == backup && (firstBackup == license.EventID{} || firstBackup.After(ev)):
			firstBackup = ev
		}
	}
	if want := map[string]int{"CLAIMED ": 700, "DENIED NO_LICENSES_AVAILABLE": 1300}; fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v; want %v", outcomes, want)
	}
	if byProduct[primary] != 500 || byProduct[backup] != 200 {
		t.Fatalf("claims per product %v; want 500 from the primary %s and 200 from the backup %s", byProduct, primary, backup)
	}
	if lastPrimary.After(firstBackup) {
		t.Fatalf("a primary claim (event %s) came after a backup claim (event %s); want the primary used up first", lastPrimary, firstBackup)
	}
	for _, pid := range []string{primary, backup} {
		p, err := s.Product(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if p.AvailableLicenses() != 0 || p.AssignedLicenses != p.TotalLicenses {
			t.Fatalf("product %s: total %d assigned %d; want the pool used up exactly", pid, p.TotalLicenses, p.AssignedLicenses)
		}
	}
	for i := range users {
		ls, err := s.Licenses(ctx, id, fmt.Sprint("user-", i))
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) > 1 || (len(ls) == 1) != (results[i].Outcome == license.Claimed) {
			t.Fatalf("user-%d holds %d licenses after a %s answer", i, len(ls), results[i].Outcome)
		}
	}
}

// everyOperation writes every kind of key a tenant has: products, users,
// direct and claimed licenses, a policy and its edits, idempotency keys,
// report counters and events.
func everyOperation(t *testing.T, s *store.Store, id string) {
	ctx := context.Background()
	products := tenantWithProducts(t, s, id, 5)
	if _, err := s.CreateUser(ctx, license.NewUser{TenantID: id, ID: "u1", UserPrincipalName: "u1@" + id + ".example", DisplayName: "U1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignLicense(ctx, "u1", products["POWERAPPS_PER_USER"], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignLicense(ctx, "u1", products["FLOW_PER_USER"], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveLicense(ctx, "u1", products["POWERAPPS_PER_USER"]); err != nil {
		t.Fatal(err)
	}
	pol := automatePolicy(t, s, id, products)
	if _, err := s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error {
		return p.Reorder([]string{p.Products[1].ProductID, p.Products[0].ProductID})
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Claim(ctx, license.ClaimRequest{TenantID: id, UserID: fmt.Sprint("new-", i), AppID: "POWER_AUTOMATE",
			Trigger: license.TriggerTriggerPremiumFlow, IdempotencyKey: fmt.Sprint("key-", i),
			UserPrincipalName: fmt.Sprintf("new%d@%s.example", i, id), DisplayName: "New"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveLicense(ctx, "new-0", products["POWERAUTOMATE_ATTENDED_RPA"]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLicenseQuantity(ctx, products["FLOW_PER_USER"], 9); err != nil {
		t.Fatal(err)
	}
	// The flow back: settings, a threshold, pools run dry, users queue, one
	// is taken off, a reclaim and its dry run, a fill, the worker's tick.
	days := 7
	if _, err := s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error {
		return p.ApplySettings(license.PolicySettings{WaitlistEnabled: license.Update[bool]{Set: true, Value: true},
			ReclaimInactiveAfterDays: license.Update[*int]{Set: true, Value: &days}})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLowLicenseThreshold(ctx, products["FLOW_PER_USER"], 2); err != nil {
		t.Fatal(err)
	}
	for _, sku := range []string{"FLOW_PER_USER", "POWERAUTOMATE_ATTENDED_RPA"} {
		p, err := s.Product(ctx, products[sku])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetLicenseQuantity(ctx, products[sku], p.AssignedLicenses); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"waiter", "waiter2"} {
		if res, err := s.Claim(ctx, license.ClaimRequest{TenantID: id, UserID: u, AppID: "POWER_AUTOMATE", Trigger: license.TriggerTriggerPremiumFlow}); err != nil || res.Outcome != license.Queued {
			t.Fatalf("claim for %s: %+v, %v; want QUEUED", u, res, err)
		}
	}
	if err := s.RemoveFromWaitlist(ctx, pol.ID, "waiter2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InactiveLicenses(ctx, pol.ID, days, 10, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReclaimInactiveLicenses(ctx, pol.ID, days); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLicenseQuantity(ctx, products["FLOW_PER_USER"], 10); err != nil {
		t.Fatal(err)
	}
	if page, err := s.Waitlist(ctx, pol.ID, 10, ""); err != nil || page.TotalCount != 0 {
		t.Fatalf("waitlist after a fill: %+v, %v; want none waiting", page, err)
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Report(ctx, id, 30); err != nil {
		t.Fatal(err)
	}
	// Approval: requests made, one approved, one denied, one expired and
	// swept, the lists read.
	if _, err := s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error {
		return p.ApplySettings(license.PolicySettings{ApprovalRequired: license.Update[bool]{Set: true, Value: true}})
	}); err != nil {
		t.Fatal(err)
	}
	var requests []string
	for _, u := range []string{"asker1", "asker2", "asker3"} {
		res, err := s.Claim(ctx, license.ClaimRequest{TenantID: id, UserID: u, AppID: "POWER_AUTOMATE", Trigger: license.TriggerTriggerPremiumFlow})
		if err != nil || res.Outcome != license.PendingApproval {
			t.Fatalf("claim for %s: %+v, %v; want PENDING_APPROVAL", u, res, err)
		}
		requests = append(requests, res.Request.ID)
	}
	if _, err := s.ApproveRequest(ctx, requests[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DenyRequest(ctx, requests[1], "no"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LicenseRequests(ctx, id, license.RequestQuery{Status: license.RequestPending, First: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LicenseRequests(ctx, id, license.RequestQuery{UserID: "asker3", First: 10}); err != nil {
		t.Fatal(err)
	}
	now := s.Now
	defer func() { s.Now = now }()
	for _, tt := range []struct {
		later   time.Duration
		expired int
		left    int
	}{{license.RequestExpiry + time.Hour, 1, 3}, {license.RequestExpiry + license.RequestRetention + time.Hour, 0, 0}} {
		s.Now = func() time.Time { return now().Add(tt.later) }
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		page, err := s.LicenseRequests(ctx, id, license.RequestQuery{First: 10})
		expired, _ := s.LicenseRequests(ctx, id, license.RequestQuery{Status: license.RequestExpired, First: 10})
		if err != nil || page.TotalCount != tt.left || expired.TotalCount != tt.expired {
			t.Fatalf("requests %v on: %+v (%d expired), %v; want %d, %d expired", tt.later, page, expired.TotalCount, err, tt.left, tt.expired)
		}
	}
}

// TestClusterReshardUnderLoad moves the slot of a busy tenant to another
// master while 16 goroutines claim for it. Claims that meet the move are
// refused (TRYAGAIN, or a redirect once go-redis has followed three) and
// answer UNAVAILABLE; the test retries them with the same idempotency key,
// as the answer asks. Afterwards every pool adds up, nobody holds two
// licenses and every CLAIMED answer is one license held.
func TestClusterReshardUnderLoad(t *testing.T) {
	cl, w := watchedCluster(t)
	s := clusterStore(t, cl, w, redistest.Prefix())
	ctx := context.Background()
	tenant := cl.TenantOn(t, cl.Addrs[0], "busy")
	products := tenantWithProducts(t, s, tenant, 0)
	primary, backup := products["FLOW_PER_USER"], products["POWERAUTOMATE_ATTENDED_RPA"]
	for pid, n := range map[string]int{primary: 500, backup: 200} {
		if _, err := s.SetLicenseQuantity(ctx, pid, n); err != nil {
			t.Fatal(err)
		}
	}
	automatePolicy(t, s, tenant, products)

	const users = 1200
	results := claimWhileMoving(t, cl, w, s, tenant, cl.Addrs[1], users)
	outcomes, claimedFrom := map[string]int{}, map[string]int{}
	for _, r := range results {
		outcomes[string(r.Outcome)+" "+string(r.Reason)]++
		if r.Outcome == license.Claimed {
			claimedFrom[r.ProductID]++
		}
	}
	held := map[string]int{}
	for i := range users {
		ls, err := s.Licenses(ctx, tenant, fmt.Sprint("user-", i))
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) > 1 {
			t.Errorf("user-%d holds %d licenses", i, len(ls))
		}
		for _, l := range ls {
			held[l.ProductID]++
		}
	}
	for _, pid := range []string{primary, backup} {
		p, err := s.Product(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if p.AssignedLicenses != held[pid] || p.TotalLicenses != p.AssignedLicenses+p.AvailableLicenses() || p.AvailableLicenses() < 0 {
			t.Errorf("product %s: total %d, assigned %d, available %d, held %d; want assigned == held and total == assigned + available",
				pid, p.TotalLicenses, p.AssignedLicenses, p.AvailableLicenses(), held[pid])
		}
		if claimedFrom[pid] != held[pid] {
			t.Errorf("product %s: %d CLAIMED answers, %d licenses held; want one license per CLAIMED answer", pid, claimedFrom[pid], held[pid])
		}
	}
	if want := map[string]int{"CLAIMED ": 700, "DENIED NO_LICENSES_AVAILABLE": users - 700}; fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Errorf("outcomes %v; want %v", outcomes, want)
	}
}

// TestClusterSubscriberFollowsReshard: a subscriber on another instance
// follows a busy tenant while its slot moves to another master. Its stream
// reader finds the stream on the new master and the subscriber gets every
// decision once, in order, each as its claim answered it.
func TestClusterSubscriberFollowsReshard(t *testing.T) {
	cl, w := watchedCluster(t)
	prefix := redistest.Prefix()
	s := clusterStore(t, cl, w, prefix)
	tenant := cl.TenantOn(t, cl.Addrs[0], "followed")
	automatePolicy(t, s, tenant, tenantWithProducts(t, s, tenant, 400))
	// A subscriber ended for falling behind while the slot moves resumes
	// after its last event, as clients do: it still sees every claim once.
	events := follow(t, clusterStore(t, cl, w, prefix), tenant)

	const users = 1200
	results := claimWhileMoving(t, cl, w, s, tenant, cl.Addrs[2], users)
	got := events.waitFor(t, users)
	if len(got) != users {
		t.Fatalf("subscriber got %d events; want %d, one per claim answered", len(got), users)
	}
	var last license.EventID
	for i, e := range got {
		if e.Claim == nil {
			t.Fatalf("event #%d is %+v; want only claims", i, e)
		}
		id, err := license.ParseEventID(e.ID())
		if err != nil || !id.After(last) {
			t.Fatalf("event #%d has id %s after %s; want ids in increasing order (%v)", i, e.ID(), last, err)
		}
		last = id
		var n int
		if _, err := fmt.Sscanf(e.Claim.UserID, "user-%d", &n); err != nil || n < 0 || n >= users {
			t.Fatalf("event #%d for user %q; want one of the claimants", i, e.Claim.UserID)
		}
		if r := results[n].Event; e.ID() != r.ID || e.Claim.Outcome != r.Outcome || e.Claim.ProductID != r.ProductID {
			t.Fatalf("event %s for %s: %s from %q; the claim answered event %s: %s from %q", e.ID(), e.Claim.UserID, e.Claim.Outcome, e.Claim.ProductID, r.ID, r.Outcome, r.ProductID)
		}
	}
}

// claimWhileMoving claims once for each of users distinct users of tenant
// from 16 goroutines, and meanwhile moves the tenant's slot to the master at
// to: it starts once 100 claims are answered, moves a first batch of keys,
// holds the slot half-moved until a claim has answered UNAVAILABLE, then
// moves the rest. Claims answered UNAVAILABLE are retried with the same
// idempotency key: a refused claim did not run; one whose reply was lost
// may have, and its retry replays the first answer. It returns each user's
// answer, and fails the test unless the move met claims before and after it
// and the slot ends up on to with nothing left behind.
func claimWhileMoving(t *testing.T, cl *clustertest.Cluster, w *replyWatch, s *store.Store, tenant, to string, users int) []*license.ClaimResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	slot := cl.TenantSlot(t, tenant)
	from := cl.Owner(t, slot)
	results := make([]*license.ClaimResult, users)
	var next, answered, unavailable, replayed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(users); i = next.Add(1) - 1 {
				req := license.ClaimRequest{TenantID: tenant, UserID: fmt.Sprint("user-", i), AppID: "POWER_AUTOMATE",
					Trigger: license.TriggerTriggerPremiumFlow, IdempotencyKey: fmt.Sprint("claim-", i)}
				for {
					r, err := s.Claim(ctx, req)
					if ctx.Err() != nil {
						return // the test failed or timed out; it says why
					}
					if license.ErrorCode(err) == license.EUNAVAILABLE {
						unavailable.Add(1)
						continue
					}
					if err != nil {
						t.Errorf("claim for user-%d: %v", i, err)
						return
					}
					if r.Replayed {
						replayed.Add(1)
					}
					results[i] = r
					answered.Add(1)
					break
				}
			}
		}()
	}
	stopped := make(chan struct{})
	go func() {
		wg.Wait()
		close(stopped)
	}()
	defer func() {
		cancel()
		<-stopped // no claimant outlives the test, even one that failed
	}()

	awaitWhileClaiming(t, ctx, stopped, "the hundredth answer", func() bool { return answered.Load() >= 100 })
	m, err := cl.BeginMigration(ctx, slot, to)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := m.MoveKeys(ctx, 10); err != nil || n == 0 {
		t.Fatalf("first batch: %d keys moved, %v", n, err)
	}
	awaitWhileClaiming(t, ctx, stopped, "a claim answering UNAVAILABLE while the slot is half-moved", func() bool { return unavailable.Load() > 0 })
	for {
		n, err := m.MoveKeys(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if err := m.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	atMove := answered.Load()
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatalf("claims still running at the deadline: %d of %d answered", answered.Load(), users)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("claims answered before the slot moved: %d of %d; UNAVAILABLE answers retried: %d, of which replayed: %d; replies MOVED %d, ASK %d, TRYAGAIN %d",
		atMove, users, unavailable.Load(), replayed.Load(), w.count("MOVED"), w.count("ASK"), w.count("TRYAGAIN"))
	if atMove == int64(users) {
		t.Fatalf("every claim was answered before the slot moved; the move met no load")
	}
	if got := cl.Owner(t, slot); got != to {
		t.Fatalf("slot %d served by %s; want %s", slot, got, to)
	}
	if n, err := cl.Node(t, from).ClusterCountKeysInSlot(ctx, slot).Result(); err != nil || n != 0 {
		t.Fatalf("%s holds %d keys of the moved slot (%v); want 0", from, n, err)
	}
	return results
}

// awaitWhileClaiming polls cond until it holds, failing the test if the
// claims stopped first or the deadline passed.
func awaitWhileClaiming(t *testing.T, ctx context.Context, stopped <-chan struct{}, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-stopped:
			if cond() {
				return
			}
			t.Fatalf("the claims ended before %s", what)
		case <-ctx.Done():
			t.Fatalf("still waiting for %s at the deadline", what)
		case <-tick.C:
		}
	}
}
