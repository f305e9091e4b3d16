package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines;
// it signals each write.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{wrote: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	select {
	case b.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testArgs are what every test server runs with: free loopback ports for
// the API and the metrics listener.
var testArgs = []string{"-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0"}

// startServer calls run on 127.0.0.1:0 with env, waits until it listens,
// prints its tokens (with the embedded Redis) and answers /healthz, and
// stops it when the test ends. It returns the printed exports
// (AUTOCLAIM_URL, and *_TOKEN with the embedded Redis).
func startServer(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	return launch(t, env).exports
}

// testServer is a server run by launch.
type testServer struct {
	exports    map[string]string // the printed exports
	metricsURL string            // http://host:port/metrics, when printed
	stderr     *syncBuffer       // the log
	stop       func() error      // ends run and returns what it returned
}

// launch is startServer with more to see: the metrics URL, the log, and a
// way to stop the server before the test ends. args follow testArgs.
func launch(t *testing.T, env map[string]string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	done := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	go func() { done <- run(ctx, append(append([]string{}, testArgs...), args...), getenv, stdout, stderr) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run returned %v", err)
		}
	})
	embedded := env["AUTOCLAIM_REDIS_URL"] == "" && env["AUTOCLAIM_REDIS_CLUSTER"] == ""
	srv := &testServer{exports: map[string]string{}, stderr: stderr, stop: stop}
	for srv.exports["AUTOCLAIM_URL"] == "" || (embedded && srv.exports["FABRIKAM_ADMIN_TOKEN"] == "") {
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("run ended early: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
		case <-stdout.wrote:
		case <-t.Context().Done():
			t.Fatal("test ended before the server was up")
		}
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "autoclaim listening on "); ok {
				srv.exports["AUTOCLAIM_URL"] = u
			}
			if u, ok := strings.CutPrefix(sc.Text(), "Metrics: "); ok {
				srv.metricsURL, _, _ = strings.Cut(u, " ")
			}
			if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok && strings.HasPrefix(sc.Text(), "export ") {
				srv.exports[k] = v
			}
		}
	}
	base := strings.TrimSuffix(srv.exports["AUTOCLAIM_URL"], "/graphql")
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %v, %v", resp, err)
	}
	resp.Body.Close()
	return srv
}

// TestEndToEndAdminFlow drives the reference document's admin flow over HTTP
// against a server started by run: turn the setting on, create a policy with
// a backup, reorder, change apps and services, turn it off.
func TestEndToEndAdminFlow(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		adminFlow(t, startServer(t, map[string]string{}))
	})
	t.Run("redis", func(t *testing.T) {
		b := redistest.Real(t)
		secret := "an-e2e-secret-of-at-least-32-bytes-" + b.Prefix
		env := startServer(t, map[string]string{
			"AUTOCLAIM_REDIS_URL":    "redis://" + b.Addr + "/0",
			"AUTOCLAIM_REDIS_PREFIX": b.Prefix,
			"AUTOCLAIM_JWT_SECRET":   secret,
			"AUTOCLAIM_DEMO":         "1",
			"AUTOCLAIM_GRAPHIQL":     "1",
		})
		if env["FABRIKAM_ADMIN_TOKEN"] != "" {
			t.Fatal("demo tokens were printed with a Redis of the operator's own")
		}
		tokens, err := issueDemoTokens([]byte(secret), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokens {
			env[tok.name] = tok.token
		}
		adminFlow(t, env)
	})
}

func adminFlow(t *testing.T, env map[string]string) {
	url, admin := env["AUTOCLAIM_URL"], env["FABRIKAM_ADMIN_TOKEN"]
	base := strings.TrimSuffix(url, "/graphql")
	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /readyz = %v, %v", resp, err)
	}
	resp.Body.Close()

	var tenant struct {
		Tenant struct {
			AutoClaimEnabled bool
			Products         []struct{ ID, SkuPartNumber string }
			Policies         []struct{ ID string }
		}
	}
	gqltest.MustPost(t, url, admin, `{ tenant(id: "fabrikam") { autoClaimEnabled products { id skuPartNumber } policies { id } } }`, nil, &tenant)
	if tenant.Tenant.AutoClaimEnabled || len(tenant.Tenant.Policies) != 0 {
		t.Fatalf("fabrikam starts with auto-claim %v and %d policies; want off and none", tenant.Tenant.AutoClaimEnabled, len(tenant.Tenant.Policies))
	}
	ids := map[string]string{}
	for _, p := range tenant.Tenant.Products {
		ids[p.SkuPartNumber] = p.ID
	}

	var on struct {
		SetAutoClaimEnabled struct{ AutoClaimEnabled bool }
	}
	gqltest.MustPost(t, url, admin, `mutation { setAutoClaimEnabled(tenantId: "fabrikam", enabled: true) { autoClaimEnabled } }`, nil, &on)
	if !on.SetAutoClaimEnabled.AutoClaimEnabled {
		t.Fatal("setting still off after turning it on")
	}

	type policy struct {
		ID       string
		Status   string
		Products []struct {
			Position             int
			Product              struct{ SkuPartNumber string }
			DisabledServicePlans []struct{ Name string }
		}
	}
	const fields = `id status products { position product { skuPartNumber } disabledServicePlans { name } }`
	var created struct{ CreateAutoClaimPolicy policy }
	gqltest.MustPost(t, url, admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { `+fields+` } }`,
		map[string]any{"in": map[string]any{"tenantId": "fabrikam", "name": "Power Automate for makers", "appId": "POWER_AUTOMATE",
			"products": []any{map[string]any{"productId": ids["FLOW_PER_USER"]}, map[string]any{"productId": ids["POWERAUTOMATE_ATTENDED_RPA"]}}}},
		&created)
	p := created.CreateAutoClaimPolicy
	if p.Status != "ON" || len(p.Products) != 2 || p.Products[0].Product.SkuPartNumber != "FLOW_PER_USER" {
		t.Fatalf("created policy %+v; want ON with FLOW_PER_USER then the backup", p)
	}

	var moved struct{ MovePolicyProduct policy }
	gqltest.MustPost(t, url, admin, `mutation($p: ID!, $x: ID!) { movePolicyProduct(policyId: $p, productId: $x, direction: UP) { `+fields+` } }`,
		map[string]any{"p": p.ID, "x": ids["POWERAUTOMATE_ATTENDED_RPA"]}, &moved)
	if got := moved.MovePolicyProduct.Products[0].Product.SkuPartNumber; got != "POWERAUTOMATE_ATTENDED_RPA" {
		t.Fatalf("after move up the primary is %s; want POWERAUTOMATE_ATTENDED_RPA", got)
	}

	var plans struct{ SetPolicyServicePlans policy }
	gqltest.MustPost(t, url, admin, `mutation($p: ID!) { setPolicyServicePlans(policyId: $p, productId: null, disabledServicePlanIds: ["113feb6c-3fe4-4440-bddc-54d774bf0318"]) { `+fields+` } }`,
		map[string]any{"p": p.ID}, &plans)
	for _, pp := range plans.SetPolicyServicePlans.Products {
		if len(pp.DisabledServicePlans) != 1 || pp.DisabledServicePlans[0].Name != "EXCHANGE_S_FOUNDATION" {
			t.Fatalf("product %s disables %+v; want EXCHANGE_S_FOUNDATION", pp.Product.SkuPartNumber, pp.DisabledServicePlans)
		}
	}

	var off struct{ SetAutoClaimPolicyEnabled policy }
	gqltest.MustPost(t, url, admin, `mutation($p: ID!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: false) { `+fields+` } }`,
		map[string]any{"p": p.ID}, &off)
	if off.SetAutoClaimPolicyEnabled.Status != "OFF" {
		t.Fatalf("status %s after turning off; want OFF", off.SetAutoClaimPolicyEnabled.Status)
	}

	// The Contoso admin can't see Fabrikam's policy.
	r := gqltest.Post(t, url, env["ADMIN_TOKEN"], `query($p: ID!) { tenant(id: "fabrikam") { policy(id: $p) { id } } }`, map[string]any{"p": p.ID})
	if r.Code() != "NOT_FOUND" {
		t.Fatalf("other tenant's admin got %q; want NOT_FOUND", r.Code())
	}

	// GraphiQL is served at /graphiql.
	resp, err = http.Get(base + "/graphiql")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(page)), "graphiql") {
		t.Fatalf("GET /graphiql = %d; want the GraphiQL page", resp.StatusCode)
	}
}
