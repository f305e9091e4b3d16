package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/autoclaim/autoclaim/api"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// subscriptionFixture is a tenant with an on Power Automate policy, served by
// a real handler over a real listener.
type subscriptionFixture struct {
	ta     *testAPI
	srv    *httptest.Server
	f      *fixture
	reader string // REPORTS_READER token
	app    string // APP token
	policy string
}

func newSubscriptionFixture(t *testing.T, b *redistest.Backend, tenantID string) *subscriptionFixture {
	t.Helper()
	return newSubscriptionFixtureOn(t, newTestAPI(t, b), tenantID)
}

// newSubscriptionFixtureOn is newSubscriptionFixture on a test API of the caller's.
func newSubscriptionFixtureOn(t *testing.T, ta *testAPI, tenantID string) *subscriptionFixture {
	t.Helper()
	srv := httptest.NewServer(ta.handler)
	t.Cleanup(srv.Close)
	f := ta.newFixture(tenantID)
	var created struct{ CreateAutoClaimPolicy struct{ ID string } }
	ta.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"tenantId": tenantID, "name": "PA", "appId": "POWER_AUTOMATE",
			"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"]}, map[string]any{"productId": f.products["POWERAUTOMATE_ATTENDED_RPA"]}}}}, &created)
	ta.mustDo(f.admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": tenantID}, nil)
	return &subscriptionFixture{ta: ta, srv: srv, f: f, policy: created.CreateAutoClaimPolicy.ID,
		reader: ta.token("reader", tenantID, "REPORTS_READER"), app: ta.token("app", tenantID, "APP")}
}

func (s *subscriptionFixture) claim(t *testing.T, user, app, trigger string) {
	t.Helper()
	s.ta.mustDo(s.app, `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { outcome } }`,
		map[string]any{"in": map[string]any{"tenantId": s.f.tenantID, "userId": user, "appId": app, "trigger": trigger}}, nil)
}

const claimEventsSub = `subscription($t: ID!, $p: ID, $after: String) { claimEvents(tenantId: $t, policyId: $p, after: $after) {
	id policyId userId app { id } productId trigger outcome reason availableAfter user { id } } }`

func TestWebsocketClaimEvents(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
			t.Run(protocol, func(t *testing.T) {
				sf := newSubscriptionFixture(t, b, "ws-"+strings.ReplaceAll(protocol, "graphql-", ""))
				c := gqltest.DialWS(t, sf.srv.URL+"/graphql", protocol)
				c.Init(sf.reader)
				if protocol == "graphql-ws" {
					payload, _ := json.Marshal(map[string]any{"query": claimEventsSub, "variables": map[string]any{"t": sf.f.tenantID, "after": "0-0"}})
					c.Send(gqltest.Message{ID: "1", Type: "start", Payload: payload})
				} else {
					c.Subscribe("1", claimEventsSub, map[string]any{"t": sf.f.tenantID, "after": "0-0"})
				}
				// after "0-0" replays the whole stream, so the claim is seen whether
				// it lands before or after the subscription goes live.
				sf.claim(t, "alex", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW")
				msgType := map[string]string{"graphql-ws": "data", "graphql-transport-ws": "next"}[protocol]
				m := c.MustRead(msgType)
				var p struct {
					Data struct{ ClaimEvents map[string]any }
				}
				json.Unmarshal(m.Payload, &p)
				ev := p.Data.ClaimEvents
				if ev["userId"] != "alex" || ev["outcome"] != "CLAIMED" || ev["productId"] != sf.f.products["FLOW_PER_USER"] ||
					ev["policyId"] != sf.policy || ev["availableAfter"] != float64(7) || ev["trigger"] != "TRIGGER_PREMIUM_FLOW" {
					t.Fatalf("event %v; want alex CLAIMED from FLOW_PER_USER under %s, 7 left", ev, sf.policy)
				}
			})
		}
	})
}

func TestWebsocketRefusesBadTokens(t *testing.T) {
	b := redistest.Mini(t)
	sf := newSubscriptionFixture(t, b, "wsauth")
	wrongSecret := newTestAPI(t, redistest.Mini(t)).token("reader", "wsauth", "REPORTS_READER")
	for name, payload := range map[string]string{
		"Missing":     `{}`,
		"Garbage":     `{"Authorization": "Bearer not-a-token"}`,
		"WrongSecret": `{"Authorization": "Bearer ` + wrongSecret + `"}`,
		"Basic":       `{"Authorization": "Basic dXNlcjpwYXNz"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
			c.Send(gqltest.Message{Type: "connection_init", Payload: json.RawMessage(payload)})
			var err error
			for err == nil {
				_, err = c.Read()
			}
			if code := websocket.CloseStatus(err); code != 4403 {
				t.Fatalf("close status %d (%v); want 4403", code, err)
			}
		})
	}
}

func TestWebsocketSubscribeBeforeAck(t *testing.T) {
	b := redistest.Mini(t)
	sf := newSubscriptionFixture(t, b, "wsearly")
	c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
	c.Subscribe("1", claimEventsSub, map[string]any{"t": sf.f.tenantID})
	m, err := c.Read()
	if err == nil {
		t.Fatalf("got %s %s before connection_init; want the socket closed", m.Type, m.Payload)
	}
	if code := websocket.CloseStatus(err); code != websocket.StatusProtocolError && code != 4401 {
		t.Fatalf("close status %d (%v); want 1002 (protocol error) or 4401", code, err)
	}
}

func TestWebsocketOtherTenantAndFilter(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "wsfilter")
		c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		c.Init(sf.ta.token("stranger", "elsewhere", "GLOBAL_ADMIN"))
		c.Subscribe("1", claimEventsSub, map[string]any{"t": sf.f.tenantID})
		m, err := c.Read()
		if err != nil || !strings.Contains(string(m.Payload), `"code":"NOT_FOUND"`) {
			t.Fatalf("another tenant's stream: %s %s, %v; want NOT_FOUND", m.Type, m.Payload, err)
		}
		c.MustRead("complete")

		// A policy the tenant never had is NOT_FOUND, at its argument.
		n := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		n.Init(sf.reader)
		n.Subscribe("1", claimEventsSub, map[string]any{"t": sf.f.tenantID, "p": sf.f.tenantID + ":policy:99"})
		m, err = n.Read()
		if err != nil || !strings.Contains(string(m.Payload), `"code":"NOT_FOUND"`) || !strings.Contains(string(m.Payload), `"field":"policyId"`) {
			t.Fatalf("a policy the tenant never had: %s %s, %v; want NOT_FOUND on policyId", m.Type, m.Payload, err)
		}
		n.MustRead("complete")

		// policyId filter: a Power Apps policy's claims don't reach a Power Automate subscriber.
		var apps struct{ CreateAutoClaimPolicy struct{ ID string } }
		sf.ta.mustDo(sf.ta.token("op", "", "OPERATOR"), `mutation($t: ID!) { setTenantPolicyLimit(tenantId: $t, limit: 2) { id } }`, map[string]any{"t": sf.f.tenantID}, nil)
		sf.ta.mustDo(sf.f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"tenantId": sf.f.tenantID, "name": "Apps", "appId": "POWER_APPS",
				"products": []any{map[string]any{"productId": sf.f.products["POWERAPPS_PER_USER"]}}}}, &apps)
		r := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		r.Init(sf.reader)
		r.Subscribe("1", claimEventsSub, map[string]any{"t": sf.f.tenantID, "p": sf.policy, "after": "0-0"})
		sf.claim(t, "megan", "POWER_APPS", "LAUNCH_PREMIUM_APP")
		sf.claim(t, "lee", "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW")
		if ev := r.NextEvent("claimEvents"); ev["userId"] != "lee" || ev["policyId"] != sf.policy {
			t.Fatalf("filtered event %v; want lee's claim under %s only", ev, sf.policy)
		}
	})
}

func TestWebsocketResumeAfterDisconnect(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "wsresume")
		c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		c.Init(sf.reader)
		c.Subscribe("1", claimEventsSub, map[string]any{"t": sf.f.tenantID, "after": "0-0"})
		sf.claim(t, "u1", "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW")
		last := c.NextEvent("claimEvents")["id"].(string)
		c.Conn.Close(websocket.StatusNormalClosure, "bye")

		for _, u := range []string{"u2", "u3", "u4"} {
			sf.claim(t, u, "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW")
		}
		again := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		again.Init(sf.reader)
		again.Subscribe("1", claimEventsSub, map[string]any{"t": sf.f.tenantID, "after": last})
		var got []string
		for range 3 {
			got = append(got, again.NextEvent("claimEvents")["userId"].(string))
		}
		sf.claim(t, "u5", "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW")
		got = append(got, again.NextEvent("claimEvents")["userId"].(string))
		if fmt.Sprint(got) != "[u2 u3 u4 u5]" {
			t.Fatalf("after resuming: %v; want [u2 u3 u4 u5]", got)
		}
	})
}

func TestPolicyEventsOverWebsocket(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "wspolicy")
		c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
		c.Init(sf.reader)
		c.Subscribe("1", `subscription($t: ID!) { policyEvents(tenantId: $t, after: "0-0") { id kind enabled policyId productIds version policy { status } } }`,
			map[string]any{"t": sf.f.tenantID})
		sf.ta.mustDo(sf.f.admin, `mutation($p: ID!) { setAutoClaimPolicyEnabled(policyId: $p, enabled: false) { id } }`, map[string]any{"p": sf.policy}, nil)
		// The replay brings the fixture's changes first: products added, policy created, setting on.
		var kinds []any
		ev := c.NextEvent("policyEvents")
		for ev["kind"] != "POLICY_UPDATED" {
			kinds = append(kinds, ev["kind"])
			ev = c.NextEvent("policyEvents")
		}
		if want := "[PRODUCT_ADDED PRODUCT_ADDED PRODUCT_ADDED POLICY_CREATED AUTO_CLAIM_SETTING_CHANGED]"; fmt.Sprint(kinds) != want {
			t.Fatalf("replayed changes %v; want %s", kinds, want)
		}
		if ev["kind"] != "POLICY_UPDATED" || ev["enabled"] != false || ev["policyId"] != sf.policy || ev["version"] != float64(2) {
			t.Fatalf("event %v; want POLICY_UPDATED, enabled false, version 2", ev)
		}
		if st := ev["policy"].(map[string]any)["status"]; st != "OFF" {
			t.Fatalf("policy status %v; want OFF", st)
		}
	})
}

func TestSSEClaimEvents(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "sse")
		body, _ := json.Marshal(map[string]any{"query": claimEventsSub, "variables": map[string]any{"t": sf.f.tenantID, "after": "0-0"}})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, sf.srv.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+sf.reader)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("Content-Type %q; want text/event-stream", ct)
		}
		lines := bufio.NewScanner(resp.Body)
		// after "0-0" replays the stream, so the claim is seen even if it lands
		// before the subscription is live.
		sf.claim(t, "diego", "POWER_AUTOMATE", "TURN_ON_PREMIUM_FLOW")
		for lines.Scan() {
			data, ok := strings.CutPrefix(lines.Text(), "data: ")
			if !ok {
				continue
			}
			var p struct {
				Data struct{ ClaimEvents map[string]any }
			}
			if err := json.Unmarshal([]byte(data), &p); err != nil {
				t.Fatalf("data %s: %v", data, err)
			}
			if p.Data.ClaimEvents["userId"] != "diego" || p.Data.ClaimEvents["outcome"] != "CLAIMED" {
				t.Fatalf("SSE event %v; want diego CLAIMED", p.Data.ClaimEvents)
			}
			return
		}
		t.Fatalf("stream ended without an event: %v", lines.Err())
	})
}

// TestWebsocketAllowedOrigins: a browser page of another origin may open a
// websocket only when AUTOCLAIM_ALLOWED_ORIGINS lists it.
func TestWebsocketAllowedOrigins(t *testing.T) {
	b := redistest.Mini(t)
	ta := newTestAPIOn(t, b.Client, b.Prefix, license.BuiltinCatalog(), func(d *api.Deps) {
		d.AllowedOrigins = []string{"admin.example.com"}
	})
	srv := httptest.NewServer(ta.handler)
	t.Cleanup(srv.Close)
	for origin, allowed := range map[string]bool{"https://admin.example.com": true, "https://evil.example": false} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql", &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{"Origin": {origin}}})
		cancel()
		if (err == nil) != allowed {
			t.Fatalf("websocket from %s: err %v; want allowed %v", origin, err, allowed)
		}
		if err == nil {
			conn.CloseNow()
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("websocket from %s refused with %v; want HTTP 403", origin, resp)
		}
	}
}
