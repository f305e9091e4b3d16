// Package benchkit is what the benchmark commands share: an autoclaim server
// started as its own process on a real Redis, tokens for it, GraphQL calls,
// tenant set-up, and latency percentiles.
package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/auth"
)

// Server is an autoclaim server under test.
type Server struct {
	URL    string // http://host:port/graphql
	Debug  string // http://host:port of the debug endpoints, when started here
	Secret []byte
	Prefix string   // Redis key prefix
	Redis  string   // Redis address (single Redis)
	Nodes  []string // Redis Cluster nodes (cluster)
	cmd    *exec.Cmd
}

// Client returns a client of the server's Redis (or Redis Cluster).
func (s *Server) Client(poolSize int) redis.UniversalClient {
	if len(s.Nodes) > 0 {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: s.Nodes, PoolSize: poolSize, MaxRetries: -1})
	}
	return redis.NewClient(&redis.Options{Addr: s.Redis, PoolSize: poolSize, MaxRetries: -1})
}

// EachNode calls f with a client of every Redis the server uses: the single
// Redis, or every master of a cluster.
func EachNode(ctx context.Context, c redis.UniversalClient, f func(*redis.Client) error) error {
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return f(c.(*redis.Client))
	}
	var mu sync.Mutex
	var nodes []*redis.Client
	if err := cc.ForEachMaster(ctx, func(_ context.Context, n *redis.Client) error {
		mu.Lock()
		nodes = append(nodes, n)
		mu.Unlock()
		return nil
	}); err != nil {
		return err
	}
	for _, n := range nodes { // one at a time: f need not be safe for concurrent use
		if err := f(n); err != nil {
			return err
		}
	}
	return nil
}

// Start runs the server binary bin (when "", one built from the current
// directory, the repository root) on the Redis at redisAddr under a fresh
// key prefix.
func Start(bin, redisAddr string, env ...string) (*Server, error) {
	return start(&Server{Redis: redisAddr}, bin, append([]string{"AUTOCLAIM_REDIS_URL=redis://" + redisAddr + "/0"}, env...))
}

// StartCluster is Start on a Redis Cluster.
func StartCluster(bin string, nodes []string, env ...string) (*Server, error) {
	return start(&Server{Nodes: nodes}, bin, append([]string{"AUTOCLAIM_REDIS_CLUSTER=" + strings.Join(nodes, ",")}, env...))
}

func start(s *Server, bin string, env []string) (*Server, error) {
	if bin == "" {
		dir, err := os.MkdirTemp("", "autoclaim-bench")
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(dir, "autoclaim")
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build the server (run from the repository root): %w", err)
		}
	}
	s.Secret, s.Prefix = []byte(RandomHex(16)), "bench-"+RandomHex(4)+":"
	s.cmd = exec.Command(bin)
	s.cmd.Env = append(append(os.Environ(),
		"AUTOCLAIM_ADDR=127.0.0.1:0", "AUTOCLAIM_METRICS_ADDR=127.0.0.1:0", "AUTOCLAIM_REDIS_PREFIX="+s.Prefix,
		"AUTOCLAIM_JWT_SECRET="+string(s.Secret), "AUTOCLAIM_DEMO=0", "AUTOCLAIM_CLAIM_RATE=0"), env...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = io.Discard
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	lines := bufio.NewScanner(out)
	for (s.URL == "" || s.Debug == "") && lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "autoclaim listening on "); ok {
			s.URL = v
		}
		if v, ok := strings.CutPrefix(lines.Text(), "Metrics: "); ok {
			s.Debug, _, _ = strings.Cut(v, "/metrics")
		}
	}
	if s.URL == "" {
		s.cmd.Process.Kill()
		return nil, errors.New("the server did not print its address")
	}
	go io.Copy(io.Discard, out)
	return s, nil
}

// Stop ends a server started here and deletes its keys.
func (s *Server) Stop() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	c := s.Client(4)
	defer c.Close()
	ctx := context.Background()
	EachNode(ctx, c, func(n *redis.Client) error {
		iter := n.Scan(ctx, 0, s.Prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			n.Del(ctx, iter.Val())
		}
		return iter.Err()
	})
}

// PID is the server process's id (0 when not started here).
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Token signs a token for the server.
func (s *Server) Token(subject, tenant string, role auth.Role) string {
	t, err := auth.Issue(s.Secret, auth.Caller{Subject: subject, TenantID: tenant, Roles: []auth.Role{role}}, 4*time.Hour, time.Now())
	if err != nil {
		panic(err)
	}
	return t
}

// HTTP is the client benchmarks send requests with.
var HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}, Timeout: 30 * time.Second}

// GQL posts one operation and decodes its data into out. A GraphQL error is
// returned as an error whose text starts with the error's code.
func (s *Server) GQL(token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("%s: %s", r.Errors[0].Extensions.Code, r.Errors[0].Message)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// HeapStats is the server's memory after a GC, as /debug/heap reports it.
type HeapStats struct{ HeapInuse, StackInuse, Goroutines int64 }

// Heap reads the server's /debug/heap.
func (s *Server) Heap() (HeapStats, error) {
	var h HeapStats
	resp, err := http.Get(s.Debug + "/debug/heap")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&h)
	return h, err
}

// SaveProfile writes one of the server's pprof profiles (e.g. "heap?gc=1",
// "profile?seconds=10") to file.
func (s *Server) SaveProfile(name, file string) error {
	resp, err := http.Get(s.Debug + "/debug/pprof/" + name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// SetupTenant creates a tenant with one FLOW_PER_USER pool of quantity
// licenses and an on Power Automate policy. It returns the product id.
func (s *Server) SetupTenant(id string, quantity int) (string, error) {
	op := s.Token("bench-operator", "", auth.Operator)
	var created struct {
		CreateTenant struct{ Admin struct{ ID string } }
	}
	if err := s.GQL(op, `mutation($id: ID!, $name: String!) { createTenant(input: {id: $id, name: $name, adminUserPrincipalName: "admin@bench.example", adminDisplayName: "Admin"}) { admin { id } } }`,
		map[string]any{"id": id, "name": id}, &created); err != nil {
		return "", err
	}
	admin := s.Token(created.CreateTenant.Admin.ID, id, auth.GlobalAdmin)
	var p struct{ AddProduct struct{ ID string } }
	if err := s.GQL(admin, `mutation($t: ID!, $q: Int!) { addProduct(input: {tenantId: $t, skuPartNumber: "FLOW_PER_USER", quantity: $q}) { id } }`,
		map[string]any{"t": id, "q": quantity}, &p); err != nil {
		return "", err
	}
	if err := s.GQL(admin, `mutation($t: ID!, $p: ID!) { createAutoClaimPolicy(input: {tenantId: $t, name: "Flows", appId: "POWER_AUTOMATE", products: [{productId: $p}]}) { id } }`,
		map[string]any{"t": id, "p": p.AddProduct.ID}, nil); err != nil {
		return "", err
	}
	return p.AddProduct.ID, s.GQL(admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": id}, nil)
}

// Latencies summarizes durations.
type Latencies struct {
	P50, P90, P99, Max float64 // milliseconds
}

// Summarize sorts ms and reads its percentiles.
func Summarize(ms []float64) Latencies {
	if len(ms) == 0 {
		return Latencies{}
	}
	slices.Sort(ms)
	at := func(p float64) float64 { return ms[min(len(ms)-1, int(p*float64(len(ms))))] }
	return Latencies{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms[len(ms)-1]}
}

// RandomHex returns 2n random hex digits.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
