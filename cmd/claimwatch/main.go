// Command claimwatch is a minimal dashboard: it subscribes to a tenant's
// claim events (or admin changes) over a websocket (graphql-transport-ws)
// and prints each as a line of JSON. When the connection drops it reconnects
// and resumes after the last event it printed, so nothing is lost or repeated.
//
//	go run ./cmd/claimwatch -tenant contoso            # uses $AUTOCLAIM_URL and $READER_TOKEN
//	go run ./cmd/claimwatch -tenant contoso -changes   # policy events instead
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

const (
	claimQuery = `subscription($t: ID!, $p: ID, $after: String) { claimEvents(tenantId: $t, policyId: $p, after: $after) {
  id at outcome reason userId trigger productId policyId availableAfter app { id } } }`
	changeQuery = `subscription($t: ID!, $after: String) { policyEvents(tenantId: $t, after: $after) {
  id at kind enabled policyId productIds version productId userId totalLicenses assignedLicenses } }`
)

func main() {
	url := flag.String("url", os.Getenv("AUTOCLAIM_URL"), "GraphQL endpoint (http://…/graphql)")
	token := flag.String("token", os.Getenv("READER_TOKEN"), "bearer token of an admin or reports reader")
	tenant := flag.String("tenant", "", "tenant id")
	policy := flag.String("policy", "", "only claims under this policy")
	after := flag.String("after", "", "resume after this event id (default: from now)")
	changes := flag.Bool("changes", false, "watch admin changes (policyEvents) instead of claims")
	flag.Parse()
	if *url == "" || *token == "" || *tenant == "" {
		fmt.Fprintln(os.Stderr, "claimwatch: -url, -token and -tenant are required (or $AUTOCLAIM_URL and $READER_TOKEN)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	last := *after
	for {
		err := watch(ctx, *url, *token, *tenant, *policy, *changes, &last)
		if ctx.Err() != nil {
			return
		}
		var fatal fatalError
		if errors.As(err, &fatal) {
			fmt.Fprintln(os.Stderr, "claimwatch:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "claimwatch: %v; reconnecting after %q\n", err, last)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// fatalError is an answer that retrying won't change (a refused token, a bad argument).
type fatalError struct{ msg string }

func (e fatalError) Error() string { return e.msg }

type message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// watch runs one connection until it ends; last tracks the newest event printed.
func watch(ctx context.Context, url, token, tenant, policy string, changes bool, last *string) error {
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := wsjson.Write(ctx, conn, message{Type: "connection_init", Payload: init}); err != nil {
		return err
	}
	query, field := claimQuery, "claimEvents"
	vars := map[string]any{"t": tenant}
	if changes {
		query, field = changeQuery, "policyEvents"
	} else if policy != "" {
		vars["p"] = policy
	}
	if *last != "" {
		vars["after"] = *last
	}
	sub, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	for {
		var m message
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			if websocket.CloseStatus(err) == 4403 {
				return fatalError{"the server refused the token: " + err.Error()}
			}
			return err
		}
		switch m.Type {
		case "connection_ack":
			if err := wsjson.Write(ctx, conn, message{ID: "1", Type: "subscribe", Payload: sub}); err != nil {
				return err
			}
		case "ping":
			wsjson.Write(ctx, conn, message{Type: "pong"})
		case "next":
			var p struct {
				Data   map[string]json.RawMessage
				Errors []struct {
					Message    string
					Extensions struct{ Code string }
				}
			}
			json.Unmarshal(m.Payload, &p)
			if len(p.Errors) > 0 {
				e := p.Errors[0]
				if e.Extensions.Code == "UNAVAILABLE" {
					return errors.New(e.Message)
				}
				return fatalError{fmt.Sprintf("%s: %s", e.Extensions.Code, e.Message)}
			}
			ev := p.Data[field]
			var id struct{ ID string }
			json.Unmarshal(ev, &id)
			*last = id.ID
			fmt.Println(string(ev))
		case "error":
			return fatalError{string(m.Payload)}
		case "complete":
			return errors.New("the server ended the subscription")
		}
	}
}
