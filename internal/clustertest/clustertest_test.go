package clustertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestSharedIsOneClusterPerPackage: every test that asks gets the same
// cluster, each with clients of its own that end with it.
func TestSharedIsOneClusterPerPackage(t *testing.T) {
	ctx := context.Background()
	var first []string
	t.Run("First", func(t *testing.T) {
		c := Shared(t)
		first = c.Addrs
		if err := c.Client().Set(ctx, "{shared}:k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Second", func(t *testing.T) {
		c := Shared(t)
		if fmt.Sprint(c.Addrs) != fmt.Sprint(first) {
			t.Fatalf("Shared = %v, then %v; want one cluster", first, c.Addrs)
		}
		if v, err := c.Client().Get(ctx, "{shared}:k").Result(); err != nil || v != "v" {
			t.Fatalf("GET of the first test's key = %q, %v; want v", v, err)
		}
	})
}

// TestStartServesEverySlotAndStops: the cluster serves keys on every master,
// TenantOn finds a tenant on each, and once the test has ended no node
// answers any more.
func TestStartServesEverySlotAndStops(t *testing.T) {
	var addrs []string
	t.Run("Run", func(t *testing.T) {
		c := Start(t)
		addrs = c.Addrs
		ctx := context.Background()
		if len(c.Addrs) != Masters {
			t.Fatalf("Addrs = %v; want %d masters", c.Addrs, Masters)
		}
		for _, a := range c.Addrs {
			if host, _, _ := net.SplitHostPort(a); host != "127.0.0.1" {
				t.Fatalf("node address %s is not on loopback", a)
			}
		}
		rdb := c.Client()
		for _, addr := range c.Addrs {
			id := c.TenantOn(t, addr, "t")
			if got := c.Owner(t, c.TenantSlot(t, id)); got != addr {
				t.Fatalf("TenantOn(%s) = %s, whose slot is served by %s", addr, id, got)
			}
			if a, b := c.SlotOf(t, "x{t:"+id+"}"), c.SlotOf(t, "{t:"+id+"}:y"); a != b {
				t.Fatalf("keys with the hash tag {t:%s} hash to slots %d and %d", id, a, b)
			}
			key := "k{t:" + id + "}"
			if err := rdb.Set(ctx, key, addr, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if n, err := c.Node(t, addr).Exists(ctx, key).Result(); err != nil || n != 1 {
				t.Fatalf("EXISTS %s on %s = %d, %v; want the key there", key, addr, n, err)
			}
		}
	})
	if len(addrs) == 0 {
		t.Skip("no cluster was started")
	}
	for _, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after the test ended", a)
		}
	}
}

// TestMigrationMovesEveryKey moves a slot holding 500 keys in batches while
// reading through a cluster client: reads follow ASK during the move and
// MOVED after it, a multi-key script in a half-moved slot is refused with
// TRYAGAIN (never run on half the keys), and every key arrives intact.
func TestMigrationMovesEveryKey(t *testing.T) {
	c := Shared(t)
	ctx := context.Background()
	rdb := c.Client()
	const n = 500
	key := func(i int) string { return fmt.Sprintf("{mv}:%d", i) }
	for i := range n {
		if err := rdb.Set(ctx, key(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	slot := c.SlotOf(t, "{mv}")
	from := c.Owner(t, slot)
	to := c.Addrs[0]
	if to == from {
		to = c.Addrs[1]
	}
	m, err := c.BeginMigration(ctx, slot, to)
	if err != nil {
		t.Fatal(err)
	}
	if m.From != from || m.To != to {
		t.Fatalf("migration from %s to %s; want from %s to %s", m.From, m.To, from, to)
	}
	moved, err := m.MoveKeys(ctx, 10)
	if err != nil || moved != 10 {
		t.Fatalf("MoveKeys = %d, %v; want 10 keys moved", moved, err)
	}
	for i := range n {
		if v, err := rdb.Get(ctx, key(i)).Int(); err != nil || v != i {
			t.Fatalf("GET %s during the migration = %d, %v; want %d", key(i), v, err, i)
		}
	}
	// One key moved and one not: a script on both can run on neither node.
	moved0, err := c.Node(t, to).ClusterGetKeysInSlot(ctx, slot, 1).Result()
	if err != nil || len(moved0) != 1 {
		t.Fatalf("keys of slot %d on the target: %v, %v", slot, moved0, err)
	}
	left, err := c.Node(t, from).ClusterGetKeysInSlot(ctx, slot, 1).Result()
	if err != nil || len(left) != 1 {
		t.Fatalf("keys of slot %d on the source: %v, %v", slot, left, err)
	}
	err = rdb.Eval(ctx, "return redis.call('MGET', KEYS[1], KEYS[2])", []string{moved0[0], left[0]}).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "TRYAGAIN") {
		t.Fatalf("script over a moved and a not yet moved key: err = %v; want TRYAGAIN", err)
	}
	if err := m.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.Owner(t, slot); got != to {
		t.Fatalf("slot %d served by %s after the migration; want %s", slot, got, to)
	}
	if k, err := c.Node(t, from).ClusterCountKeysInSlot(ctx, slot).Result(); err != nil || k != 0 {
		t.Fatalf("source %s holds %d keys of slot %d (%v); want 0", from, k, slot, err)
	}
	if k, err := c.Node(t, to).ClusterCountKeysInSlot(ctx, slot).Result(); err != nil || k != n {
		t.Fatalf("target %s holds %d keys of slot %d (%v); want %d", to, k, slot, err, n)
	}
	for i := range n {
		if v, err := rdb.Get(ctx, key(i)).Int(); err != nil || v != i {
			t.Fatalf("GET %s after the migration = %d, %v; want %d", key(i), v, err, i)
		}
	}
	if _, err := c.BeginMigration(ctx, slot, to); err == nil {
		t.Fatalf("BeginMigration to the node that already serves the slot: no error")
	}
}
