// Package clustertest gives tests a Redis Cluster: three masters and no
// replicas, each a redis-server on a loopback port of its own with its files
// in a temporary directory (redistest.Launch), joined with `redis-cli
// --cluster create`. A test starts one of its own (Start), killed when it
// ends, or the tests of a package share one (Shared, with Main in their
// TestMain). It also moves slots between masters as an operator's resharding
// does, so tests can watch the store work through MOVED, ASK and TRYAGAIN.
//
// Tests skip when redis-server or redis-cli (7.0 or newer) is missing, and
// fail instead when AUTOCLAIM_REQUIRE_REDIS=1, as CI sets.
package clustertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
)

const (
	// Masters is how many masters a cluster has.
	Masters = 3
	// nodeTimeout is cluster-node-timeout (ms): small, for a loopback cluster.
	nodeTimeout = 2000
	// startTimeout bounds forming the cluster once its nodes run.
	startTimeout = 60 * time.Second
	// migrateTimeout is MIGRATE's own timeout (ms) for one batch of keys.
	migrateTimeout = 10000
)

// Cluster is a running Redis Cluster, as one test sees it.
type Cluster struct {
	// Addrs are the masters' host:port, in the order they were started.
	Addrs []string
	tb    testing.TB // the test whose clients are closed when it ends
	nodes []*node
}

// node is one master of the cluster.
type node struct {
	*redistest.Server
	id    string        // cluster node id
	admin *redis.Client // for commands to this node only
}

// Start starts a three-master cluster for the test and stops it when the test
// ends. It skips the test when redis-server or redis-cli is missing, unless
// AUTOCLAIM_REQUIRE_REDIS=1. Tests of a package that need no cluster of
// their own share one: see Shared.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	cli := tools(tb)
	c, stop, err := start(cli, tb.TempDir())
	tb.Cleanup(stop)
	if err != nil {
		tb.Fatalf("clustertest: %v", err)
	}
	c.tb = tb
	return c
}

// start starts the masters, with their files under dir, and forms the
// cluster. stop kills the masters, even when forming the cluster failed.
func start(cli, dir string) (c *Cluster, stop func(), err error) {
	c = &Cluster{}
	stop = func() {
		for _, n := range c.nodes {
			n.admin.Close()
			n.Kill()
		}
	}
	for i := range Masters {
		bus, err := freePort()
		if err != nil {
			return nil, stop, err
		}
		nodeDir := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return nil, stop, err
		}
		srv, err := redistest.Launch(nodeDir, "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", strconv.Itoa(nodeTimeout))
		if err != nil {
			return nil, stop, err
		}
		n := &node{Server: srv, admin: redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, ReadTimeout: 2 * migrateTimeout * time.Millisecond})}
		c.nodes = append(c.nodes, n)
		c.Addrs = append(c.Addrs, srv.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return nil, stop, fmt.Errorf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, n := range c.nodes {
		id, err := n.admin.ClusterMyID(ctx).Result()
		if err != nil {
			return nil, stop, fmt.Errorf("CLUSTER MYID on %s: %v", n.Addr, err)
		}
		n.id = id
	}
	if err := c.WaitHealthy(ctx); err != nil {
		return nil, stop, err
	}
	return c, stop, nil
}

// shared is the cluster the tests of a package share (see Shared).
var shared struct {
	mu      sync.Mutex
	inMain  bool // Main runs the package's tests
	started bool
	cluster *Cluster
	err     error
	stop    func()
}

// Shared returns the cluster the tests of a package share, started by the
// first test that asks for it and stopped by Main once every test of the
// package has run; the package's TestMain must call Main. Each test gets
// its own handle (its clients are closed when it ends). Tests must leave
// the cluster healthy (every slot served) and use keys of their own. It
// skips the test when redis-server or redis-cli is missing, unless
// AUTOCLAIM_REQUIRE_REDIS=1.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	cli := tools(tb)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		tb.Fatalf("clustertest: Shared needs the package's TestMain to call clustertest.Main, which stops the cluster")
	}
	if !shared.started {
		shared.started = true
		dir, err := os.MkdirTemp("", "clustertest")
		if err != nil {
			shared.err = err
		} else {
			var stop func()
			shared.cluster, stop, shared.err = start(cli, dir)
			shared.stop = func() {
				stop()
				os.RemoveAll(dir)
			}
		}
	}
	if shared.err != nil {
		tb.Fatalf("clustertest: the shared cluster did not start: %v", shared.err)
	}
	return &Cluster{Addrs: shared.cluster.Addrs, tb: tb, nodes: shared.cluster.nodes}
}

// Main runs a package's tests and then stops the cluster they shared, if
// any; TestMain returns its result:
//
//	func TestMain(m *testing.M) { os.Exit(clustertest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.stop != nil {
		shared.stop()
	}
	return code
}

// tools finds redis-cli and checks redis-server is 7.0 or newer (which
// brought cluster-port), skipping or failing the test otherwise.
func tools(tb testing.TB) (cli string) {
	tb.Helper()
	missing := func(format string, args ...any) {
		tb.Helper()
		msg := fmt.Sprintf(format, args...)
		if redistest.Required() {
			tb.Fatalf("clustertest: %s (AUTOCLAIM_REQUIRE_REDIS=1)", msg)
		}
		tb.Skipf("clustertest: %s; skipping the Redis Cluster test (install Redis 7+, e.g. apt-get install redis-server, or set AUTOCLAIM_REQUIRE_REDIS=1 to fail instead)", msg)
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		missing("redis-server is not on PATH")
	}
	cli, err = exec.LookPath("redis-cli")
	if err != nil {
		missing("redis-cli is not on PATH")
	}
	out, err := exec.Command(server, "--version").Output()
	if err != nil {
		missing("%s --version: %v", server, err)
	}
	major := 0
	if m := regexp.MustCompile(`v=(\d+)\.`).FindSubmatch(out); m != nil {
		major, _ = strconv.Atoi(string(m[1]))
	}
	if major < 7 {
		missing("%s is %q; the cluster needs Redis 7.0 or newer", server, strings.TrimSpace(string(out)))
	}
	return cli
}

// freePort returns a loopback port that was free a moment ago, for a node's
// cluster bus.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitHealthy waits until every node reports cluster_state:ok with all
// 16384 slots served and every master known.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	want := []string{"cluster_state:ok", "cluster_slots_ok:16384", "cluster_known_nodes:" + strconv.Itoa(len(c.nodes))}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var unhealthy []string
		for _, n := range c.nodes {
			info, err := n.admin.ClusterInfo(ctx).Result()
			if err != nil {
				unhealthy = append(unhealthy, fmt.Sprintf("%s: %v", n.Addr, err))
				continue
			}
			for _, w := range want {
				if !strings.Contains(info, w+"\r\n") {
					unhealthy = append(unhealthy, fmt.Sprintf("%s: no %s in\n%s", n.Addr, w, info))
					break
				}
			}
		}
		if len(unhealthy) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %s", strings.Join(unhealthy, "\n"))
		case <-tick.C:
		}
	}
}

// Options returns new options for a client of the cluster with the retry,
// timeout and pool settings of the server's command client (openRedis in
// server.go): MaxRetries -1, 2-second timeouts, 128 connections per node,
// and MOVED and ASK redirects followed (default MaxRedirects).
func (c *Cluster) Options() *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: c.Addrs, MaxRetries: -1, PoolSize: 128,
		DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, PoolTimeout: 3 * time.Second}
}

// Client returns a new client of the cluster with Options, closed when the
// test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	return c.ClientWith(c.Options())
}

// ClientWith returns a new client of the cluster with opt (from Options,
// changed), closed when the test ends.
func (c *Cluster) ClientWith(opt *redis.ClusterOptions) *redis.ClusterClient {
	rdb := redis.NewClusterClient(opt)
	c.tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// Node returns a plain client of one master, for commands that must go to
// that node (KEYS, INFO, CLUSTER …).
func (c *Cluster) Node(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	n, err := c.node(addr)
	if err != nil {
		tb.Fatalf("clustertest: %v", err)
	}
	return n.admin
}

func (c *Cluster) node(addr string) (*node, error) {
	for _, n := range c.nodes {
		if n.Addr == addr {
			return n, nil
		}
	}
	return nil, fmt.Errorf("%s is not a node of the cluster %v", addr, c.Addrs)
}

// SlotOf returns the hash slot of a key, as CLUSTER KEYSLOT computes it.
func (c *Cluster) SlotOf(tb testing.TB, key string) int {
	tb.Helper()
	slot, err := c.nodes[0].admin.ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		tb.Fatalf("clustertest: CLUSTER KEYSLOT %q: %v", key, err)
	}
	return int(slot)
}

// TenantSlot returns the slot of a tenant's keys: that of its hash tag {t:<id>}.
func (c *Cluster) TenantSlot(tb testing.TB, tenantID string) int {
	tb.Helper()
	return c.SlotOf(tb, "{t:"+tenantID+"}")
}

// Owner returns the address of the master that serves a slot, failing the
// test unless every node names the same one.
func (c *Cluster) Owner(tb testing.TB, slot int) string {
	tb.Helper()
	owner, err := c.owner(context.Background(), slot)
	if err != nil {
		tb.Fatalf("clustertest: %v", err)
	}
	return owner.Addr
}

func (c *Cluster) owner(ctx context.Context, slot int) (*node, error) {
	var owner *node
	for _, n := range c.nodes {
		o, err := c.ownerSeenBy(ctx, n, slot)
		if err != nil {
			return nil, err
		}
		if owner != nil && o != owner {
			return nil, fmt.Errorf("nodes disagree on the owner of slot %d: %s and %s", slot, owner.Addr, o.Addr)
		}
		owner = o
	}
	return owner, nil
}

// ownerSeenBy returns the master that n says serves slot.
func (c *Cluster) ownerSeenBy(ctx context.Context, n *node, slot int) (*node, error) {
	ranges, err := n.admin.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("CLUSTER SLOTS on %s: %w", n.Addr, err)
	}
	for _, r := range ranges {
		if r.Start <= slot && slot <= r.End && len(r.Nodes) > 0 {
			for _, o := range c.nodes {
				if o.id == r.Nodes[0].ID {
					return o, nil
				}
			}
			return nil, fmt.Errorf("%s says slot %d is served by unknown node %s", n.Addr, slot, r.Nodes[0].ID)
		}
	}
	return nil, fmt.Errorf("%s says no node serves slot %d", n.Addr, slot)
}

// TenantOn returns the first tenant id of the form <base><n> whose keys
// ({t:<id>}) hash to a slot that the master at addr serves.
func (c *Cluster) TenantOn(tb testing.TB, addr, base string) string {
	tb.Helper()
	for i := range 1000 {
		id := base + strconv.Itoa(i)
		if c.Owner(tb, c.TenantSlot(tb, id)) == addr {
			return id
		}
	}
	tb.Fatalf("clustertest: no tenant %s<n> has its slot on %s", base, addr)
	return ""
}

// Migration moves one slot from the master that serves it to another, as
// redis-cli --cluster reshard does: the target imports the slot, the source
// migrates it, the keys go over in batches with MIGRATE, then every node is
// told the target serves it. While it runs, the source answers ASK for keys
// it no longer holds, and commands on several keys of the slot get TRYAGAIN
// when only some of them have moved.
type Migration struct {
	Slot     int
	From, To string // addresses of the source and the target
	c        *Cluster
	from, to *node
}

// BeginMigration marks slot as importing on the master at to and as
// migrating on the master that serves it now.
func (c *Cluster) BeginMigration(ctx context.Context, slot int, to string) (*Migration, error) {
	from, err := c.owner(ctx, slot)
	if err != nil {
		return nil, err
	}
	target, err := c.node(to)
	if err != nil {
		return nil, err
	}
	m := &Migration{Slot: slot, From: from.Addr, To: to, c: c, from: from, to: target}
	if m.from == m.to {
		return nil, fmt.Errorf("slot %d is already served by %s", slot, to)
	}
	if err := m.to.admin.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", m.from.id).Err(); err != nil {
		return nil, fmt.Errorf("CLUSTER SETSLOT %d IMPORTING on %s: %w", slot, m.To, err)
	}
	if err := m.from.admin.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", m.to.id).Err(); err != nil {
		return nil, fmt.Errorf("CLUSTER SETSLOT %d MIGRATING on %s: %w", slot, m.From, err)
	}
	return m, nil
}

// MoveKeys moves up to batch keys of the slot from the source to the target
// with one MIGRATE … KEYS, and returns how many it moved (0 when the source
// holds none of the slot's keys any more).
func (m *Migration) MoveKeys(ctx context.Context, batch int) (int, error) {
	keys, err := m.from.admin.ClusterGetKeysInSlot(ctx, m.Slot, batch).Result()
	if err != nil {
		return 0, fmt.Errorf("CLUSTER GETKEYSINSLOT %d on %s: %w", m.Slot, m.From, err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	host, port, _ := net.SplitHostPort(m.To)
	args := []any{"MIGRATE", host, port, "", 0, migrateTimeout, "KEYS"}
	for _, k := range keys {
		args = append(args, k)
	}
	// No REPLACE: a key of the slot on both sides would be a bug worth seeing.
	if err := m.from.admin.Do(ctx, args...).Err(); err != nil {
		return 0, fmt.Errorf("MIGRATE %d keys of slot %d from %s to %s: %w", len(keys), m.Slot, m.From, m.To, err)
	}
	return len(keys), nil
}

// Finish moves the keys left, then assigns the slot to the target on the
// target, the source and the other masters (in that order, as the Redis
// Cluster specification says), and waits until the cluster is healthy with
// every node naming the target.
func (m *Migration) Finish(ctx context.Context) error {
	for {
		n, err := m.MoveKeys(ctx, 100)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	order := []*node{m.to, m.from}
	for _, n := range m.c.nodes {
		if n != m.to && n != m.from {
			order = append(order, n)
		}
	}
	for _, n := range order {
		if err := n.admin.Do(ctx, "CLUSTER", "SETSLOT", m.Slot, "NODE", m.to.id).Err(); err != nil {
			return fmt.Errorf("CLUSTER SETSLOT %d NODE %s on %s: %w", m.Slot, m.To, n.Addr, err)
		}
	}
	if err := m.c.WaitHealthy(ctx); err != nil {
		return err
	}
	owner, err := m.c.owner(ctx, m.Slot)
	if err != nil {
		return err
	}
	if owner != m.to {
		return fmt.Errorf("slot %d is served by %s after the migration; want %s", m.Slot, owner.Addr, m.To)
	}
	return nil
}
