package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/internal/gqltest"
)

// TestShutdownCompletesSubscriptions: when run's context ends, the server
// completes every live subscription (clients get "complete") and returns.
func TestShutdownCompletesSubscriptions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stdout := newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, testArgs, func(string) string { return "" }, stdout, newSyncBuffer())
	}()
	var url, token, app string
	for token == "" || app == "" {
		select {
		case <-stdout.wrote:
		case err := <-done:
			t.Fatalf("run ended: %v", err)
		}
		for _, line := range strings.Split(stdout.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "export AUTOCLAIM_URL="); ok {
				url = v
			}
			if v, ok := strings.CutPrefix(line, "export READER_TOKEN="); ok {
				token = v
			}
			if v, ok := strings.CutPrefix(line, "export APP_TOKEN="); ok {
				app = v
			}
		}
	}
	c := gqltest.DialWS(t, url, "graphql-transport-ws")
	c.Init(token)
	gqltest.MustPost(t, url, app, `mutation { claimLicense(input: {tenantId: "contoso", userId: "alex", appId: "POWER_AUTOMATE", trigger: SIGN_IN}) { outcome } }`, nil, nil)
	c.Subscribe("1", `subscription($t: ID!, $after: String) { claimEvents(tenantId: $t, after: $after) { id userId outcome } }`, map[string]any{"t": "contoso", "after": "0-0"})
	if ev := c.NextEvent("claimEvents"); ev["userId"] != "alex" {
		t.Fatalf("replayed %v; want alex's claim", ev)
	}
	cancel() // the subscription is live: shutdown must complete it
	m := c.MustRead("complete")
	if m.ID != "1" {
		t.Fatalf("complete for %q; want the subscription 1", m.ID)
	}
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("run returned %v", err)
	}
}
