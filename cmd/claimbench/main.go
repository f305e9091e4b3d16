// Command claimbench sizes a deployment: it drives claimLicense over HTTP
// with N concurrent clients for D seconds and prints claims/s, latency
// percentiles, outcomes, errors and the CPU each process spent per claim.
// In one run it measures, in turn:
//
//  1. the floor: the same HTTP load against a bare net/http handler (in
//     this command, as a process of its own) that runs one EVALSHA of a
//     minimal claim script on the same Redis;
//  2. new claims through the server, each for a user without a license;
//  3. licensed re-claims: the users of phase 2 again, as apps call at every
//     launch;
//  4. the raw limit: the project's claim script called by EVALSHA straight
//     against the same Redis (store.Claim), the same concurrency;
//  5. new claims paced at half the peak of phase 2, for latency under a
//     normal load;
//
// and prints the ratios to the floor and the targets, met or missed.
//
//	go run ./cmd/claimbench                          # starts a server on the Redis at 127.0.0.1:6379
//	go run ./cmd/claimbench -clients 64 -duration 20s -json
//	go run ./cmd/claimbench -mode dry -pool 20000    # a small pool runs dry mid-run
//	go run ./cmd/claimbench -memory 100000           # Redis bytes per claimed license, and per licensed re-claim
//	go run ./cmd/claimbench -bin /tmp/autoclaim      # measure a server binary built elsewhere (e.g. an older commit)
//	go run ./cmd/claimbench -url http://host:8080/graphql -secret "$AUTOCLAIM_JWT_SECRET" -prefix ac:
//
// Traffic goes to loopback (or the given server) only; keys it creates are
// deleted at the end when it started the server.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/benchkit"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

type phase struct {
	Name         string             `json:"name"`
	Clients      int                `json:"clients"`
	TargetRate   float64            `json:"targetClaimsPerSecond,omitempty"`
	Seconds      float64            `json:"seconds"`
	Claims       int64              `json:"claims"`
	ClaimsPerSec float64            `json:"claimsPerSecond"`
	Latency      benchkit.Latencies `json:"latencyMs"`
	Outcomes     map[string]int64   `json:"outcomes"`
	Errors       int64              `json:"errors"`
	FirstError   string             `json:"firstError,omitempty"`
	// CPU time spent per claim (µs) by each process on the box.
	CPUPerClaimUS map[string]float64 `json:"cpuMicrosecondsPerClaim,omitempty"`
}

type report struct {
	Phases []*phase `json:"phases"`
	// Ratios of claims/s to the floor's, and to the raw script's.
	NewOverFloor      float64  `json:"newOverFloor,omitempty"`
	LicensedOverFloor float64  `json:"licensedOverFloor,omitempty"`
	NewOverRaw        float64  `json:"newOverRaw,omitempty"`
	Targets           []target `json:"targets,omitempty"`
	BytesPerClaim     float64  `json:"redisBytesPerClaimedLicense,omitempty"`
	MemoryClaims      int      `json:"memoryClaims,omitempty"`
	BytesPerReclaim   float64  `json:"redisBytesPerLicensedReclaim,omitempty"`
	Reclaims          int      `json:"licensedReclaims,omitempty"`
}

// target is one of the figures the claim path is held to.
type target struct {
	Name     string  `json:"name"`
	Measured float64 `json:"measured"`
	Limit    float64 `json:"limit"`
	AtLeast  bool    `json:"atLeast"` // measured must be >= limit (else <=)
	Met      bool    `json:"met"`
}

func newTarget(name string, measured, limit float64, atLeast bool) target {
	return target{Name: name, Measured: measured, Limit: limit, AtLeast: atLeast,
		Met: (atLeast && measured >= limit) || (!atLeast && measured <= limit)}
}

func main() {
	url := flag.String("url", "", "GraphQL endpoint of a running server; empty = start one on -redis")
	secret := flag.String("secret", "", "the running server's AUTOCLAIM_JWT_SECRET (with -url)")
	prefix := flag.String("prefix", "ac:", "the running server's AUTOCLAIM_REDIS_PREFIX (with -url)")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "the Redis the server uses")
	cluster := flag.String("cluster", "", "comma-separated Redis Cluster nodes the server uses instead of -redis")
	tenants := flag.Int("tenants", 1, "tenants the claims are spread over (on a cluster, over its shards)")
	clients := flag.Int("clients", 64, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "length of each phase")
	mode := flag.String("mode", "distinct", "distinct: every claim is a new user of a pool that never runs dry; dry: a pool of -pool licenses runs dry mid-run")
	pool := flag.Int("pool", 20000, "licenses in the pool for -mode dry")
	memory := flag.Int("memory", 0, "instead of the load phases, claim this many licenses and report Redis bytes per claimed license")
	cpuProfile := flag.String("cpuprofile", "", "write the server's CPU profile of the new-claims phase to this file (needs a server started here); the licensed phase's goes to the same name with .licensed before the extension")
	bin := flag.String("bin", "", "a server binary to run instead of building one from the repository")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	floorOnly := flag.Bool("serve-floor", false, "serve the floor's handler and nothing else (the floor phase starts this command so)")
	flag.Parse()

	if *floorOnly {
		fail(serveFloor(*redisAddr, *prefix))
	}
	var srv *benchkit.Server
	if *url == "" {
		var err error
		if *cluster != "" {
			srv, err = benchkit.StartCluster(*bin, strings.Split(*cluster, ","))
		} else {
			srv, err = benchkit.Start(*bin, *redisAddr)
		}
		if err != nil {
			fail(err)
		}
		defer srv.Stop()
	} else {
		if *secret == "" {
			fail(fmt.Errorf("-url needs -secret"))
		}
		srv = &benchkit.Server{URL: *url, Secret: []byte(*secret), Prefix: *prefix, Redis: *redisAddr}
		if *cluster != "" {
			srv.Nodes = strings.Split(*cluster, ",")
		}
	}
	rdb := srv.Client(*clients + 16)
	defer rdb.Close()
	run := benchkit.RandomHex(3)

	rep := &report{}
	if *memory > 0 {
		var err error
		rep.BytesPerClaim, rep.BytesPerReclaim, err = measureMemory(srv, rdb, "bench-mem-"+run, *memory)
		if err != nil {
			fail(err)
		}
		rep.MemoryClaims, rep.Reclaims = *memory, *memory
		print(rep, *asJSON)
		return
	}

	quantity := license.MaxQuantity
	if *mode == "dry" {
		quantity = *pool
	}
	ctx := context.Background()
	cpu := &cpuMeter{rdb: rdb}

	// 1. The floor, on the same Redis, under the same HTTP load.
	var floorPhase *phase
	if len(srv.Nodes) == 0 {
		floor, err := startFloor(srv.Redis, srv.Prefix)
		if err != nil {
			fail(err)
		}
		var claimers []func(string) (string, error)
		for i := range *tenants {
			tenant := fmt.Sprintf("bench-floor-%s-%d", run, i)
			if err := setupFloor(ctx, rdb, srv.Prefix, tenant, quantity/2); err != nil {
				fail(err)
			}
			claimers = append(claimers, newHTTPClaimer(floor.URL, "floor", tenant))
		}
		cpu.serverPID = floor.PID()
		floorPhase = load("floor (bare handler)", *clients, *duration, 0, cpu, spread(claimers))
		floor.Stop()
		rep.Phases = append(rep.Phases, floorPhase)
	}

	// 2. New claims through the server; 3. the same users again.
	var claimers []func(string) (string, error)
	for i := range *tenants {
		tenant := fmt.Sprintf("bench-e2e-%s-%d", run, i)
		if _, err := srv.SetupTenant(tenant, quantity); err != nil {
			fail(err)
		}
		claimers = append(claimers, newHTTPClaimer(srv.URL, srv.Token("bench-app", tenant, auth.App), tenant))
	}
	claimHTTP := spread(claimers)
	var licensed claimedUsers
	cpu.serverPID = srv.PID()
	stop := profile(srv, *cpuProfile, *duration)
	e2e := load("new claims", *clients, *duration, 0, cpu, func(user string) (string, error) {
		outcome, err := claimHTTP(user)
		if outcome == "CLAIMED" {
			licensed.add(user)
		}
		return outcome, err
	})
	stop()
	rep.Phases = append(rep.Phases, e2e)
	stop = profile(srv, withSuffix(*cpuProfile, ".licensed"), *duration)
	again := load("licensed re-claims", *clients, *duration, 0, cpu, func(string) (string, error) {
		return claimHTTP(licensed.next())
	})
	stop()
	rep.Phases = append(rep.Phases, again)

	// 4. The raw limit: the same script, by EVALSHA, same Redis, same concurrency.
	st := store.New(rdb, license.BuiltinCatalog(), srv.Prefix)
	if err := st.LoadScripts(ctx); err != nil {
		fail(err)
	}
	var rawTenants []string
	for i := range *tenants {
		rawTenants = append(rawTenants, fmt.Sprintf("bench-raw-%s-%d", run, i))
		if _, err := srv.SetupTenant(rawTenants[i], quantity); err != nil {
			fail(err)
		}
	}
	var turn atomic.Int64
	raw := load("raw EVALSHA (store.Claim)", *clients, *duration, 0, cpu, func(user string) (string, error) {
		tenant := rawTenants[int(turn.Add(1))%len(rawTenants)]
		r, err := st.Claim(ctx, license.ClaimRequest{TenantID: tenant, UserID: user, AppID: "POWER_AUTOMATE", Trigger: license.TriggerTriggerPremiumFlow})
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(r.Outcome) + " " + string(r.Reason)), nil
	})
	rep.Phases = append(rep.Phases, raw)
	if raw.ClaimsPerSec > 0 {
		rep.NewOverRaw = e2e.ClaimsPerSec / raw.ClaimsPerSec
	}

	// 5. Half the peak of new claims.
	half := load("new claims at half the peak", *clients, *duration, e2e.ClaimsPerSec/2, cpu, claimHTTP)
	rep.Phases = append(rep.Phases, half)

	if floorPhase != nil && floorPhase.ClaimsPerSec > 0 {
		rep.NewOverFloor = e2e.ClaimsPerSec / floorPhase.ClaimsPerSec
		rep.LicensedOverFloor = again.ClaimsPerSec / floorPhase.ClaimsPerSec
		rep.Targets = append(rep.Targets,
			newTarget("new claims ÷ floor", rep.NewOverFloor, 0.75, true),
			newTarget("licensed re-claims ÷ floor", rep.LicensedOverFloor, 1.0, true))
	}
	rep.Targets = append(rep.Targets,
		newTarget("server CPU per new claim (µs)", e2e.CPUPerClaimUS["server"], 50, false),
		newTarget("server CPU per licensed re-claim (µs)", again.CPUPerClaimUS["server"], 50, false),
		newTarget("Redis CPU per new claim (µs)", e2e.CPUPerClaimUS["redis"], 25, false),
		newTarget("Redis CPU per licensed re-claim (µs)", again.CPUPerClaimUS["redis"], 10, false),
		newTarget("p99 at half the peak (ms)", half.Latency.P99, 10, false))
	print(rep, *asJSON)
}

// spread sends each claim to the next of claimers (one per tenant) in turn.
func spread(claimers []func(string) (string, error)) func(string) (string, error) {
	var turn atomic.Int64
	return func(user string) (string, error) {
		return claimers[int(turn.Add(1))%len(claimers)](user)
	}
}

// profile starts recording the server's CPU profile for d into file ("":
// none); the function it returns waits for the profile.
func profile(srv *benchkit.Server, file string, d time.Duration) func() {
	if file == "" || srv.Debug == "" {
		return func() {}
	}
	done := make(chan error, 1)
	go func() { done <- srv.SaveProfile(fmt.Sprintf("profile?seconds=%d", int(d.Seconds())), file) }()
	return func() {
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "claimbench: cpu profile:", err)
		}
	}
}

// withSuffix puts suffix before a file name's extension ("" stays "").
func withSuffix(file, suffix string) string {
	if file == "" {
		return ""
	}
	ext := filepath.Ext(strings.TrimSuffix(file, ".gz"))
	if strings.HasSuffix(file, ".gz") {
		ext += ".gz"
	}
	return strings.TrimSuffix(file, ext) + suffix + ext
}

// claimedUsers collects the users who claimed a license, for re-claims.
type claimedUsers struct {
	mu    sync.Mutex
	users []string
	turn  atomic.Int64
}

func (c *claimedUsers) add(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.users) < 1_000_000 {
		c.users = append(c.users, user)
	}
}

// next returns the users in turn, again and again.
func (c *claimedUsers) next() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.users[int(c.turn.Add(1))%len(c.users)]
}

// load runs clients goroutines claiming distinct users for d; with rate > 0
// claims are paced open-loop at rate per second in total.
func load(name string, clients int, d time.Duration, rate float64, cpu *cpuMeter, claim func(user string) (string, error)) *phase {
	p := &phase{Name: name, Clients: clients, TargetRate: rate, Outcomes: map[string]int64{}}
	userPrefix := benchkit.RandomHex(3) // distinct users in every phase
	fmt.Fprintf(os.Stderr, "%s: %d clients for %s\n", name, clients, d)
	var mu sync.Mutex
	var lat []float64
	var next atomic.Int64
	cpuBefore := cpu.read()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []float64
			outcomes := map[string]int64{}
			for k := 0; ; k++ {
				if rate > 0 {
					i := next.Add(1) - 1
					due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					if due.After(deadline) {
						break
					}
					time.Sleep(time.Until(due))
				} else if time.Now().After(deadline) {
					break
				}
				t0 := time.Now()
				outcome, err := claim(fmt.Sprintf("%s-%d-%d", userPrefix, c, k))
				if err != nil {
					mu.Lock()
					p.Errors++
					if p.FirstError == "" {
						p.FirstError = err.Error()
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, float64(time.Since(t0))/float64(time.Millisecond))
				outcomes[outcome]++
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range outcomes {
				p.Outcomes[k] += v
			}
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			mu.Lock()
			errs := p.Errors
			mu.Unlock()
			fmt.Fprintf(os.Stderr, "\r  %4.0fs of %s elapsed, %d errors so far", time.Since(start).Seconds(), d, errs)
		}
	}
	p.Seconds = time.Since(start).Seconds()
	p.Claims = int64(len(lat))
	p.ClaimsPerSec = float64(p.Claims) / p.Seconds
	p.Latency = benchkit.Summarize(lat)
	if p.Claims > 0 {
		p.CPUPerClaimUS = map[string]float64{}
		for k, v := range cpu.read() {
			p.CPUPerClaimUS[k] = (v - cpuBefore[k]) * 1e6 / float64(p.Claims)
		}
	}
	fmt.Fprintf(os.Stderr, "\r  %d claims in %.1fs (%.0f/s), %d errors%s\n", p.Claims, p.Seconds, p.ClaimsPerSec, p.Errors, strings.Repeat(" ", 20))
	return p
}

// measureMemory claims n licenses (each a new user, each with an
// idempotency key, as apps send them) and reads Redis's used_memory before
// and after; then n re-claims by those users, and used_memory again. It
// returns the bytes per claimed license and per re-claim.
func measureMemory(srv *benchkit.Server, rdb redis.UniversalClient, tenant string, n int) (perClaim, perReclaim float64, err error) {
	if _, err := srv.SetupTenant(tenant, n); err != nil {
		return 0, 0, err
	}
	app := srv.Token("bench-app", tenant, auth.App)
	ctx := context.Background()
	user := func(i int64) string { return fmt.Sprintf("3f2a%04x-7b44-4d1e-9a0c-%012x", i%65536, i) }
	claimAll := func(what, trigger, want string) error {
		var next, errs atomic.Int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					var out struct{ ClaimLicense struct{ Outcome string } }
					err := srv.GQL(app, `mutation($t: ID!, $u: ID!, $k: String!, $g: ClaimTrigger!) { claimLicense(input: {tenantId: $t, userId: $u, appId: "POWER_AUTOMATE", trigger: $g, idempotencyKey: $k}) { outcome } }`,
						map[string]any{"t": tenant, "u": user(i), "k": fmt.Sprintf("%s-%d", what, i), "g": trigger}, &out)
					if err != nil || out.ClaimLicense.Outcome != want {
						errs.Add(1)
					}
					if i%5000 == 0 {
						fmt.Fprintf(os.Stderr, "\r  %s: %d/%d", what, i, n)
					}
				}
			}()
		}
		wg.Wait()
		fmt.Fprintln(os.Stderr)
		if errs.Load() > 0 {
			return fmt.Errorf("%d %s failed or were not %s", errs.Load(), what, want)
		}
		return nil
	}
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return 0, 0, err
	}
	if err := claimAll("claims", "TRIGGER_PREMIUM_FLOW", "CLAIMED"); err != nil {
		return 0, 0, err
	}
	claimed, err := usedMemory(ctx, rdb)
	if err != nil {
		return 0, 0, err
	}
	if err := claimAll("re-claims", "SAVE_PREMIUM_FLOW", "ALREADY_LICENSED"); err != nil {
		return 0, 0, err
	}
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return 0, 0, err
	}
	return float64(claimed-before) / float64(n), float64(after-claimed) / float64(n), nil
}

// usedMemory sums used_memory over every Redis node.
func usedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, error) {
	var total int64
	err := benchkit.EachNode(ctx, rdb, func(n *redis.Client) error {
		info, err := n.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				m, err := strconv.ParseInt(v, 10, 64)
				total += m
				return err
			}
		}
		return fmt.Errorf("INFO memory has no used_memory")
	})
	return total, err
}

func print(rep *report, asJSON bool) {
	if asJSON {
		json.NewEncoder(os.Stdout).Encode(rep)
		return
	}
	if rep.MemoryClaims > 0 {
		fmt.Printf("Redis memory per claimed license (%d claims, with idempotency keys and events): %.0f bytes\n", rep.MemoryClaims, rep.BytesPerClaim)
		fmt.Printf("Redis memory per licensed re-claim (%d re-claims, with idempotency keys): %.2f bytes\n", rep.Reclaims, rep.BytesPerReclaim)
		return
	}
	fmt.Printf("\n%-30s %7s %10s %8s %8s %8s %8s %8s %7s  %s\n", "phase", "clients", "claims/s", "claims", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "outcomes")
	for _, p := range rep.Phases {
		fmt.Printf("%-30s %7d %10.0f %8d %8.2f %8.2f %8.2f %8.2f %7d  %v\n", p.Name, p.Clients, p.ClaimsPerSec, p.Claims,
			p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max, p.Errors, p.Outcomes)
		if p.FirstError != "" {
			fmt.Printf("%30s first error: %s\n", "", p.FirstError)
		}
	}
	fmt.Printf("\nCPU per claim (µs):\n")
	for _, p := range rep.Phases {
		fmt.Printf("  %-30s", p.Name)
		for _, k := range []string{"server", "redis", "load generator"} {
			if v, ok := p.CPUPerClaimUS[k]; ok {
				fmt.Printf(" %s %.1f", k, v)
			}
		}
		fmt.Println()
	}
	fmt.Printf("\nnew claims ÷ floor: %.2f   licensed re-claims ÷ floor: %.2f   new claims ÷ raw EVALSHA: %.2f\n",
		rep.NewOverFloor, rep.LicensedOverFloor, rep.NewOverRaw)
	fmt.Printf("\n%-40s %10s %10s  %s\n", "target", "measured", "limit", "")
	for _, t := range rep.Targets {
		op, verdict := "≤", "met"
		if t.AtLeast {
			op = "≥"
		}
		if !t.Met {
			verdict = "MISSED"
		}
		fmt.Printf("%-40s %10.2f %s %8.2f  %s\n", t.Name, t.Measured, op, t.Limit, verdict)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "claimbench:", err)
	os.Exit(1)
}

// cpuMeter reads the CPU seconds used so far by the server process, Redis
// and this load generator.
type cpuMeter struct {
	rdb       redis.UniversalClient
	serverPID int // the process serving the phase: the floor's or the server's
}

func (m *cpuMeter) read() map[string]float64 {
	out := map[string]float64{}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		out["load generator"] = tv(ru.Utime) + tv(ru.Stime)
	}
	if m.serverPID > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.serverPID)); err == nil {
			// Fields after the command name: utime and stime are the 12th and 13th.
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
			if len(f) > 12 {
				u, _ := strconv.ParseFloat(f[11], 64)
				s, _ := strconv.ParseFloat(f[12], 64)
				out["server"] = (u + s) / 100 // clock ticks (USER_HZ)
			}
		}
	}
	var total float64
	err := benchkit.EachNode(context.Background(), m.rdb, func(n *redis.Client) error {
		info, err := n.Info(context.Background(), "cpu").Result()
		for _, line := range strings.Split(info, "\r\n") {
			for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
				if v, ok := strings.CutPrefix(line, k); ok {
					f, _ := strconv.ParseFloat(v, 64)
					total += f
				}
			}
		}
		return err
	})
	if err == nil {
		out["redis"] = total
	}
	return out
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// newHTTPClaimer returns a lean claimLicense client, as an app would run one:
// the request body is prepared once and only the user id changes; the answer
// is read for its outcome and reason without decoding the whole document.
func newHTTPClaimer(url, token, tenant string) func(user string) (string, error) {
	const query = `mutation($t: ID!, $u: ID!) { claimLicense(input: {tenantId: $t, userId: $u, appId: "POWER_AUTOMATE", trigger: TRIGGER_PREMIUM_FLOW}) { outcome reason } }`
	q, _ := json.Marshal(query)
	head := []byte(`{"query":` + string(q) + `,"variables":{"t":"` + tenant + `","u":"`)
	tail := []byte(`"}}`)
	auth := "Bearer " + token
	bufs := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	return func(user string) (string, error) {
		body := bufs.Get().(*bytes.Buffer)
		defer bufs.Put(body)
		body.Reset()
		body.Write(head)
		body.WriteString(user)
		body.Write(tail)
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body.Bytes()))
		req.Header["Content-Type"] = []string{"application/json"}
		req.Header["Authorization"] = []string{auth}
		resp, err := benchkit.HTTP.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		out := bufs.Get().(*bytes.Buffer)
		defer bufs.Put(out)
		out.Reset()
		if _, err := out.ReadFrom(resp.Body); err != nil {
			return "", err
		}
		b := out.Bytes()
		if bytes.Contains(b, []byte(`"errors"`)) {
			return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
		}
		outcome := field(b, `"outcome":"`)
		if reason := field(b, `"reason":"`); reason != "" {
			outcome += " " + reason
		}
		return outcome, nil
	}
}

// field returns the string value after key in a JSON document, or "".
func field(b []byte, key string) string {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return ""
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
