package graphiql_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/api/graphiql"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(b)
}

// TestSecurityHeaders: the page and its assets carry the security headers;
// the policy allows no inline script and no framing.
func TestSecurityHeaders(t *testing.T) {
	h := graphiql.Handler(graphiql.Options{})
	for _, path := range []string{"/graphiql", "/graphiql/init.js", "/graphiql/vendor/graphiql-4.1.2/graphiql.min.js", "/graphiql/nope"} {
		r, _ := get(t, h, path)
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP %q; want scripts from self only and no framing", path, csp)
		}
		if strings.Contains(strings.Split(strings.Split(csp, "script-src")[1], ";")[0], "unsafe-inline") {
			t.Errorf("GET %s: CSP %q allows inline script", path, csp)
		}
		for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := r.Header.Get(name); got != want {
				t.Errorf("GET %s: %s = %q; want %q", path, name, got, want)
			}
		}
	}
}

// TestOffline: the page loads every script and style from the server itself,
// each is there with its content type, and no script is inline.
func TestOffline(t *testing.T) {
	h := graphiql.Handler(graphiql.Options{Path: "/graphiql", Endpoint: "/graphql"})
	r, page := get(t, h, "/graphiql")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /graphiql = %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if !strings.Contains(page, `data-endpoint="/graphql"`) {
		t.Error("the page doesn't name the endpoint")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 6 {
		t.Fatalf("the page loads %d files; want React, ReactDOM, GraphiQL's script and style, ours", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/graphiql/") {
			t.Errorf("the page loads %s, not from the server itself", ref)
			continue
		}
		r, body := get(t, h, ref)
		if r.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", ref, r.StatusCode)
		}
		if strings.HasSuffix(ref, ".js") && r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
			strings.HasSuffix(ref, ".css") && r.Header.Get("Content-Type") != "text/css; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", ref, r.Header.Get("Content-Type"))
		}
		if strings.Contains(ref, "/vendor/") != (r.Header.Get("Cache-Control") == "public, max-age=31536000, immutable") {
			t.Errorf("GET %s: Cache-Control %q", ref, r.Header.Get("Cache-Control"))
		}
		// Scripts and styles must not import or fetch from another host.
		for _, bad := range regexp.MustCompile(`(?i)(?:@import\s+url\(|url\(\s*['"]?|import\s*\(\s*['"]|from\s*['"]|fetch\(\s*['"])https?://[^'")\s]+`).FindAllString(body, -1) {
			t.Errorf("%s loads from another host: %s", ref, bad)
		}
	}
	for _, s := range regexp.MustCompile(`<script[^>]*>([^<]*)</script>`).FindAllStringSubmatch(page, -1) {
		if strings.TrimSpace(s[1]) != "" {
			t.Errorf("inline script: %s", s[0])
		}
	}
}
