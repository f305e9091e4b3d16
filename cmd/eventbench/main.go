// Command eventbench measures live claim events end to end: it starts the
// autoclaim server as its own process on a real Redis, connects websocket
// dashboards (graphql-transport-ws) to many tenants, drives claims at a fixed
// rate over HTTP, and reports how long each event took from the claim's
// answer to each dashboard, and the server's memory per idle subscriber.
//
//	go run ./cmd/eventbench                      # scenarios a and b
//	go run ./cmd/eventbench -scenario a -duration 20s
//
// Everything runs on loopback. Keys live under a prefix of their own, deleted
// at the end.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/benchkit"
)

var heapProfile string

type scenario struct {
	Name       string
	Tenants    int
	SubsPer    int
	Rate       int // claims per second over all tenants
	Duration   time.Duration
	MeasureMem bool
}

type result struct {
	Scenario             string  `json:"scenario"`
	Tenants              int     `json:"tenants"`
	Subscribers          int     `json:"subscribers"`
	TargetRate           int     `json:"targetClaimsPerSecond"`
	Claims               int64   `json:"claims"`
	ClaimErrors          int64   `json:"claimErrors"`
	AchievedRate         float64 `json:"achievedClaimsPerSecond"`
	Deliveries           int64   `json:"deliveries"`
	Missing              int64   `json:"missing"`
	P50ms                float64 `json:"p50ms"`
	P90ms                float64 `json:"p90ms"`
	P99ms                float64 `json:"p99ms"`
	MaxMs                float64 `json:"maxMs"`
	BytesPerIdleSub      int64   `json:"bytesPerIdleSubscriber,omitempty"`
	HeapBytesPerIdleSub  int64   `json:"heapBytesPerIdleSubscriber,omitempty"`
	GoroutinesPerIdleSub float64 `json:"goroutinesPerIdleSubscriber,omitempty"`
}

func main() {
	which := flag.String("scenario", "ab", "scenarios to run: a (100 tenants x 10 dashboards, 1,000 claims/s), b (1 tenant x 200 dashboards, 100 claims/s)")
	duration := flag.Duration("duration", 10*time.Second, "load duration per scenario")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis the server uses (loopback)")
	asJSON := flag.Bool("json", false, "print results as JSON")
	flag.StringVar(&heapProfile, "heapprofile", "", "write the server's heap profile (and FILE.goroutines.txt) with every dashboard connected and idle (scenario a)")
	flag.Parse()
	scenarios := map[rune]scenario{
		'a': {Name: "a", Tenants: 100, SubsPer: 10, Rate: 1000, Duration: *duration, MeasureMem: true},
		'b': {Name: "b", Tenants: 1, SubsPer: 200, Rate: 100, Duration: *duration},
	}
	var results []result
	for _, c := range *which {
		sc, ok := scenarios[c]
		if !ok {
			fmt.Fprintf(os.Stderr, "eventbench: unknown scenario %q\n", c)
			os.Exit(2)
		}
		r, err := runScenario(sc, *redisAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "eventbench:", err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(results)
		return
	}
	fmt.Printf("\n%-8s %7s %11s %6s %8s %8s %10s %7s %8s %8s %8s %8s %14s\n",
		"scenario", "tenants", "subscribers", "rate", "claims/s", "claims", "deliveries", "missing", "p50 ms", "p90 ms", "p99 ms", "max ms", "B/idle sub")
	for _, r := range results {
		mem := "-"
		if r.BytesPerIdleSub > 0 {
			mem = fmt.Sprintf("%d", r.BytesPerIdleSub)
		}
		fmt.Printf("%-8s %7d %11d %6d %8.0f %8d %10d %7d %8.2f %8.2f %8.2f %8.2f %14s\n",
			r.Scenario, r.Tenants, r.Subscribers, r.TargetRate, r.AchievedRate, r.Claims, r.Deliveries, r.Missing,
			r.P50ms, r.P90ms, r.P99ms, r.MaxMs, mem)
	}
}

// dashboard is one websocket subscriber; it records when each event arrived.
type dashboard struct {
	conn     *websocket.Conn
	mu       sync.Mutex
	received map[string]time.Time
	count    atomic.Int64
}

func connect(ctx context.Context, s *benchkit.Server, tenant string) (*dashboard, error) {
	ws := "ws" + strings.TrimPrefix(s.URL, "http")
	conn, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + s.Token("dashboard", tenant, auth.ReportsReader)})
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": json.RawMessage(init)}); err != nil {
		return nil, err
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		return nil, fmt.Errorf("connection_init: %v %s", err, ack.Type)
	}
	sub, _ := json.Marshal(map[string]any{"query": `subscription($t: ID!) { claimEvents(tenantId: $t, after: "0-0") { id } }`, "variables": map[string]any{"t": tenant}})
	if err := wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": json.RawMessage(sub)}); err != nil {
		return nil, err
	}
	d := &dashboard{conn: conn, received: map[string]time.Time{}}
	go d.read(ctx)
	return d, nil
}

func (d *dashboard) read(ctx context.Context) {
	for {
		var m struct {
			Type    string
			Payload struct {
				Data struct{ ClaimEvents struct{ ID string } }
			}
		}
		if err := wsjson.Read(ctx, d.conn, &m); err != nil {
			return
		}
		switch m.Type {
		case "next":
			now := time.Now()
			d.mu.Lock()
			d.received[m.Payload.Data.ClaimEvents.ID] = now
			d.mu.Unlock()
			d.count.Add(1)
		case "ping":
			wsjson.Write(ctx, d.conn, map[string]string{"type": "pong"})
		}
	}
}

func runScenario(sc scenario, redisAddr string) (result, error) {
	res := result{Scenario: sc.Name, Tenants: sc.Tenants, Subscribers: sc.Tenants * sc.SubsPer, TargetRate: sc.Rate}
	fmt.Fprintf(os.Stderr, "scenario %s: %d tenants x %d dashboards, %d claims/s for %s\n", sc.Name, sc.Tenants, sc.SubsPer, sc.Rate, sc.Duration)
	s, err := benchkit.Start("", redisAddr)
	if err != nil {
		return res, err
	}
	defer s.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tenants := make([]string, sc.Tenants)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("bench-%03d", i)
		if _, err := s.SetupTenant(tenants[i], 1_000_000); err != nil {
			return res, fmt.Errorf("set up %s: %w", tenants[i], err)
		}
	}
	// Grow the server's Redis pool to its working size first: it serves
	// every request, so it is no cost of an idle subscriber.
	warmPool(s, tenants)
	before, err := s.Heap()
	if err != nil {
		return res, err
	}
	dashboards := map[string][]*dashboard{}
	for i, t := range tenants {
		for range sc.SubsPer {
			d, err := connect(ctx, s, t)
			if err != nil {
				return res, fmt.Errorf("connect a dashboard: %w", err)
			}
			dashboards[t] = append(dashboards[t], d)
		}
		if (i+1)%10 == 0 || i == len(tenants)-1 {
			fmt.Fprintf(os.Stderr, "\r  connected %d/%d dashboards", (i+1)*sc.SubsPer, res.Subscribers)
		}
	}
	fmt.Fprintln(os.Stderr)
	// One claim per tenant proves every subscription live before measuring.
	app := map[string]string{}
	for _, t := range tenants {
		app[t] = s.Token("bench-app", t, auth.App)
	}
	for _, t := range tenants {
		if _, err := claim(s, app[t], t, "warm-up"); err != nil {
			return res, err
		}
	}
	if err := waitDeliveries(dashboards, func(string) int64 { return 1 }, 30*time.Second); err != nil {
		return res, fmt.Errorf("subscriptions did not go live: %w", err)
	}
	if sc.MeasureMem {
		idle, err := s.Heap()
		if err != nil {
			return res, err
		}
		n := int64(res.Subscribers)
		res.HeapBytesPerIdleSub = (idle.HeapInuse - before.HeapInuse) / n
		res.BytesPerIdleSub = (idle.HeapInuse - before.HeapInuse + idle.StackInuse - before.StackInuse) / n
		res.GoroutinesPerIdleSub = float64(idle.Goroutines-before.Goroutines) / float64(n)
		if heapProfile != "" {
			if err := s.SaveProfile("heap?gc=1", heapProfile); err != nil {
				return res, err
			}
			if err := s.SaveProfile("goroutine?debug=1", heapProfile+".goroutines.txt"); err != nil {
				return res, err
			}
		}
	}

	// Open-loop load: claim i is due at start + i/rate.
	total := int(sc.Duration.Seconds() * float64(sc.Rate))
	answered := sync.Map{} // event id -> time the claim's answer arrived
	perTenant := make(map[string]*atomic.Int64, len(tenants))
	for _, t := range tenants {
		perTenant[t] = &atomic.Int64{}
		perTenant[t].Store(1) // the warm-up claim
	}
	jobs := make(chan int, 1024)
	var wg sync.WaitGroup
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t := tenants[i%len(tenants)]
				id, err := claim(s, app[t], t, fmt.Sprint("user-", i))
				if err != nil {
					atomic.AddInt64(&res.ClaimErrors, 1)
					continue
				}
				answered.Store(id, time.Now())
				perTenant[t].Add(1)
				atomic.AddInt64(&res.Claims, 1)
			}
		}()
	}
	start := time.Now()
	progress := time.NewTicker(time.Second)
	for i := range total {
		due := start.Add(time.Duration(float64(i) / float64(sc.Rate) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		select {
		case <-progress.C:
			fmt.Fprintf(os.Stderr, "\r  %s: %d/%d claims answered, %d errors", time.Since(start).Truncate(time.Second), atomic.LoadInt64(&res.Claims), total, atomic.LoadInt64(&res.ClaimErrors))
		default:
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	progress.Stop()
	res.AchievedRate = float64(res.Claims) / time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "\r  %d claims answered in %s, %d errors; waiting for deliveries\n", res.Claims, time.Since(start).Truncate(time.Millisecond), res.ClaimErrors)
	waitDeliveries(dashboards, func(t string) int64 { return perTenant[t].Load() }, 30*time.Second)

	var lat []float64
	for t, ds := range dashboards {
		for _, d := range ds {
			d.mu.Lock()
			res.Missing += perTenant[t].Load() - int64(len(d.received))
			for id, at := range d.received {
				v, ok := answered.Load(id)
				if !ok {
					continue // the warm-up claim
				}
				res.Deliveries++
				lat = append(lat, max(0, float64(at.Sub(v.(time.Time)))/float64(time.Millisecond)))
			}
			d.mu.Unlock()
			d.conn.Close(websocket.StatusNormalClosure, "done")
		}
	}
	l := benchkit.Summarize(lat)
	res.P50ms, res.P90ms, res.P99ms, res.MaxMs = l.P50, l.P90, l.P99, l.Max
	return res, nil
}

// warmPool sends concurrent reads, enough to open every connection of the
// server's Redis pool.
func warmPool(s *benchkit.Server, tenants []string) {
	var wg sync.WaitGroup
	for i := range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := tenants[i%len(tenants)]
			s.GQL(s.Token("bench-reader", t, auth.ReportsReader), `query($t: ID!) { tenant(id: $t) { products { id availableLicenses } policies { id } } }`, map[string]any{"t": t}, nil)
		}()
	}
	wg.Wait()
}

// claim claims a license for user and returns the event id of the answer.
func claim(s *benchkit.Server, token, tenant, user string) (string, error) {
	var out struct {
		ClaimLicense struct{ Event struct{ ID string } }
	}
	err := s.GQL(token, `mutation($t: ID!, $u: ID!) { claimLicense(input: {tenantId: $t, userId: $u, appId: "POWER_AUTOMATE", trigger: TRIGGER_PREMIUM_FLOW}) { event { id } } }`,
		map[string]any{"t": tenant, "u": user}, &out)
	return out.ClaimLicense.Event.ID, err
}

// waitDeliveries waits until every dashboard of each tenant has want(tenant) events.
func waitDeliveries(dashboards map[string][]*dashboard, want func(string) int64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		behind := 0
		for t, ds := range dashboards {
			for _, d := range ds {
				if d.count.Load() < want(t) {
					behind++
				}
			}
		}
		if behind == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d dashboards still missing events after %s", behind, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
