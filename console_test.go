package main

import (
	"strings"
	"testing"
)

// TestConsoleSmoke signs in and shows the policy tab.
func TestConsoleSmoke(t *testing.T) {
	env := startServer(t, map[string]string{})
	base := strings.TrimSuffix(env["AUTOCLAIM_URL"], "/graphql")
	browser := newBrowser(t)
	shots := screenshotDir(t)
	tb := newTab(t, browser, base, shots, "admin")
	tb.visit("/#token="+env["ADMIN_TOKEN"], `[data-signed-in-as="adele"]`)
	tb.do()
	tb.waitJS(`document.querySelector("[data-policy-list]")`)
	tb.shot("smoke")
}
