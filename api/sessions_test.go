package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/autoclaim/autoclaim/api"
	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// shortToken returns a token of the fixture's reports reader that expires
// within two seconds (token expiry has whole-second precision).
func (s *subscriptionFixture) shortToken(t *testing.T) string {
	t.Helper()
	tok, err := auth.Issue(s.ta.secret, auth.Caller{Subject: "reader", TenantID: s.f.tenantID, Roles: []auth.Role{auth.ReportsReader}}, 2*time.Second, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestWebsocketEndsWhenItsTokenExpires: a websocket opened with a token is
// closed with 4403 when the token expires.
func TestWebsocketEndsWhenItsTokenExpires(t *testing.T) {
	sf := newSubscriptionFixture(t, redistest.Mini(t), "ws-expiry")
	c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
	c.Init(sf.shortToken(t))
	c.Subscribe("1", claimEventsSub, map[string]any{"t": sf.f.tenantID})
	for {
		m, err := c.Read()
		if err != nil {
			if code := websocket.CloseStatus(err); code != 4403 {
				t.Fatalf("the socket ended with %v (close code %d); want close 4403", err, code)
			}
			return
		}
		if m.Type != "next" {
			t.Fatalf("message %s %s before the close", m.Type, m.Payload)
		}
	}
}

// TestSSEEndsWhenItsTokenExpires: an event stream opened with a token ends
// with an UNAUTHENTICATED error, then complete, when the token expires.
func TestSSEEndsWhenItsTokenExpires(t *testing.T) {
	sf := newSubscriptionFixture(t, redistest.Mini(t), "sse-expiry")
	resp := openSSE(t, sf.srv.URL, sf.shortToken(t), claimEventsSub, map[string]any{"t": sf.f.tenantID})
	events := readSSE(resp)
	var last string
	for ev := range events {
		if ev.name == "complete" {
			if !strings.Contains(last, `"UNAUTHENTICATED"`) {
				t.Fatalf("the stream completed after %q; want an UNAUTHENTICATED error first", last)
			}
			return
		}
		last = ev.data
	}
	t.Fatalf("the stream ended without complete; last event %q", last)
}

// TestExpiredCallerIsRefusedOnAnOpenConnection: a caller whose token has
// expired is refused, whatever still carries it (an open websocket's
// context): every operation checks the expiry.
func TestExpiredCallerIsRefusedOnAnOpenConnection(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	v := auth.NewVerifier([]byte("a-secret-of-at-least-thirty-two-bytes"), clock)
	tok, _ := auth.Issue([]byte("a-secret-of-at-least-thirty-two-bytes"), auth.Caller{Subject: "s", TenantID: "t", Roles: []auth.Role{auth.GlobalAdmin}}, time.Minute, now)
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithCaller(context.Background(), c, nil)
	if _, err := auth.CallerFrom(ctx); err != nil {
		t.Fatalf("a fresh caller: %v", err)
	}
	now = now.Add(time.Minute)
	if _, err := auth.CallerFrom(ctx); license.ErrorCode(err) != license.EUNAUTHENTICATED {
		t.Fatalf("a caller whose token expired: %v; want UNAUTHENTICATED", err)
	}
}

// TestSubscriptionCaps: a connection holds at most its cap of
// subscriptions, a caller at most its own across connections; the one over
// is refused with RATE_LIMITED, and a place comes back when a subscription ends.
func TestSubscriptionCaps(t *testing.T) {
	b := redistest.Mini(t)
	ta := newTestAPIOn(t, b.Client, b.Prefix, license.BuiltinCatalog(), func(d *api.Deps) {
		d.Limits.MaxSubscriptionsPerConnection, d.Limits.MaxSubscriptionsPerCaller = 2, 3
	})
	srv := httptest.NewServer(ta.handler)
	t.Cleanup(srv.Close)
	f := ta.newFixture("caps")
	ta.mustDo(f.admin, `mutation { setAutoClaimEnabled(tenantId: "caps", enabled: true) { id } }`, nil, nil) // one event to replay
	reader := ta.token("reader", "caps", "REPORTS_READER")
	const sub = `subscription { policyEvents(tenantId: "caps", after: "0-0") { id } }`
	// live subscribes id and waits for the replayed event; refused expects its error.
	// first returns the first message for id (others' replayed events pass).
	first := func(c *gqltest.WS, id string) gqltest.Message {
		t.Helper()
		for {
			m, err := c.Read()
			if err != nil {
				t.Fatalf("waiting for %s: %v", id, err)
			}
			if m.ID == id {
				return m
			}
		}
	}
	live := func(c *gqltest.WS, id string) {
		t.Helper()
		c.Subscribe(id, sub, nil)
		if m := first(c, id); m.Type != "next" || strings.Contains(string(m.Payload), `"errors"`) {
			t.Fatalf("%s %s for %q; want an event", m.Type, m.Payload, id)
		}
	}
	refused := func(c *gqltest.WS, id, want string) {
		t.Helper()
		c.Subscribe(id, sub, nil)
		m := first(c, id)
		if !strings.Contains(string(m.Payload), "RATE_LIMITED") || !strings.Contains(string(m.Payload), want) {
			t.Fatalf("%s %s; want an error RATE_LIMITED for %q about %q", m.Type, m.Payload, id, want)
		}
		if m := first(c, id); m.Type != "complete" {
			t.Fatalf("%s %s after the refusal of %q; want complete", m.Type, m.Payload, id)
		}
	}
	a := gqltest.DialWS(t, srv.URL+"/graphql", "graphql-transport-ws")
	a.Init(reader)
	live(a, "a1")
	live(a, "a2")
	refused(a, "a3", "connection")
	b2 := gqltest.DialWS(t, srv.URL+"/graphql", "graphql-transport-ws")
	b2.Init(reader)
	live(b2, "b1")
	refused(b2, "b2", "caller")
	a.Send(gqltest.Message{ID: "a1", Type: "complete"})
	// The place comes back once the server has ended a1.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		id := fmt.Sprintf("b-retry-%d", i)
		b2.Subscribe(id, sub, nil)
		m := first(b2, id)
		if !strings.Contains(string(m.Payload), `"errors"`) {
			break
		}
		if first(b2, id).Type != "complete" || time.Now().After(deadline) {
			t.Fatalf("after a1 ended: %s %s; want a place back", m.Type, m.Payload)
		}
	}
}

// TestSSEKeepAliveAndSlowReaders: an idle event stream carries keep-alive
// comments; a reader that stops reading is dropped once a write outlasts
// its deadline, and its subscription ends.
func TestSSEKeepAliveAndSlowReaders(t *testing.T) {
	b := redistest.Mini(t)
	ta := newTestAPIOn(t, b.Client, b.Prefix, license.BuiltinCatalog(), func(d *api.Deps) {
		d.StreamKeepAlive, d.StreamWriteTimeout = 50*time.Millisecond, 200*time.Millisecond
	})
	f := ta.newFixture("slow")
	reader := ta.token("reader", "slow", "REPORTS_READER")
	// Small socket buffers on both ends, so that a reader that stops
	// reading stalls the server's writes soon.
	srv := httptest.NewUnstartedServer(ta.handler)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if tc, ok := c.(*net.TCPConn); ok && s == http.StateNew {
			tc.SetWriteBuffer(4096)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	t.Run("KeepAlive", func(t *testing.T) {
		resp := openSSE(t, srv.URL, reader, `subscription { policyEvents(tenantId: "slow") { id } }`, nil)
		for ev := range readSSE(resp) {
			if ev.comment == "keep-alive" {
				return
			}
		}
		t.Fatal("the stream ended without a keep-alive comment")
	})
	t.Run("SlowReaderDropped", func(t *testing.T) {
		for i := range 200 { // events enough to fill both sockets' buffers
			ta.mustDo(f.admin, `mutation($q: Int!) { setLicenseQuantity(productId: "slow:product:1", quantity: $q) { id } }`, map[string]any{"q": 10 + i}, nil)
		}
		waitLive := func(want int) {
			t.Helper()
			deadline := time.Now().Add(15 * time.Second)
			for ta.store.LiveSubscriptions() != want {
				if time.Now().After(deadline) {
					t.Fatalf("%d live subscriptions; want %d", ta.store.LiveSubscriptions(), want)
				}
				time.Sleep(20 * time.Millisecond) // polling a count the server changes on its own
			}
		}
		waitLive(0) // the keep-alive stream has ended
		client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				c.(*net.TCPConn).SetReadBuffer(4096)
			}
			return c, err
		}}}
		body, _ := json.Marshal(map[string]any{"query": `subscription { policyEvents(tenantId: "slow", after: "0-0") { id kind productId totalLicenses assignedLicenses at } }`})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+reader)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close() // never read
		waitLive(1)
		waitLive(0) // dropped: a write outlasted its deadline
	})
}

// openSSE starts a subscription over server-sent events.
func openSSE(t *testing.T, base, token, query string, vars map[string]any) *http.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE: HTTP %d", resp.StatusCode)
	}
	return resp
}

// sseEvent is one event (or comment) of a stream.
type sseEvent struct{ name, data, comment string }

// readSSE yields a stream's events until it ends.
func readSSE(resp *http.Response) <-chan sseEvent {
	out := make(chan sseEvent)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				out <- sseEvent{comment: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data:"):
				ev.data = strings.TrimSpace(line[len("data:"):])
			}
		}
	}()
	return out
}
