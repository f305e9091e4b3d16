package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/api/console"
)

func get(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// TestSecurityHeaders: every answer, the page, an asset and a 404, carries
// the security headers; the policy allows no inline script and no framing.
func TestSecurityHeaders(t *testing.T) {
	h := console.Handler(console.Options{})
	for _, path := range []string{"/", "/js/app.js", "/app.css", "/vendor/preact-10.29.8/preact.module.js", "/no-such-file"} {
		t.Run(path, func(t *testing.T) {
			r := get(t, h, path)
			csp := r.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self';", "frame-ancestors 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q; want it to contain %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP %q allows inline or eval'd code", csp)
			}
			for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
				if got := r.Header.Get(name); got != want {
					t.Errorf("%s = %q; want %q", name, got, want)
				}
			}
		})
	}
}

// TestContentTypesAndCaching: the page and the app's files are revalidated
// (ETag, 304); vendored files, under versioned paths, are cached for good.
func TestContentTypesAndCaching(t *testing.T) {
	h := console.Handler(console.Options{})
	tests := []struct{ path, ctype, cache string }{
		{"/", "text/html; charset=utf-8", "no-cache"},
		{"/js/boot.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/app.css", "text/css; charset=utf-8", "no-cache"},
		{"/favicon.svg", "image/svg+xml", "no-cache"},
		{"/vendor/htm-3.1.1/htm.module.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
	}
	for _, tt := range tests {
		r := get(t, h, tt.path)
		if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != tt.ctype || r.Header.Get("Cache-Control") != tt.cache {
			t.Errorf("GET %s = %d, %q, %q; want 200, %q, %q", tt.path, r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"), tt.ctype, tt.cache)
		}
		etag := r.Header.Get("ETag")
		if etag == "" {
			t.Errorf("GET %s has no ETag", tt.path)
			continue
		}
		if again := get(t, h, tt.path, "If-None-Match", etag); again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag = %d; want 304", tt.path, again.StatusCode)
		}
	}
	if r := get(t, h, "/index.html"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /index.html = %d; want 404 (the page is /)", r.StatusCode)
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d; want 405", rec.Code)
	}
}

// TestPageConfig: the endpoint and the report's CSV export reach the page as
// a JSON data block, never as script.
func TestPageConfig(t *testing.T) {
	r := get(t, console.Handler(console.Options{Endpoint: "/api/graphql", ReportCSV: "/api/report.csv"}), "/")
	body, _ := io.ReadAll(r.Body)
	if !strings.Contains(string(body), `<script type="application/json" id="config">{"endpoint":"/api/graphql","reportCSV":"/api/report.csv"}</script>`) {
		t.Fatalf("the page's config block is missing or wrong:\n%s", body)
	}
	scripts := regexp.MustCompile(`<script([^>]*)>([^<]*)</script>`).FindAllStringSubmatch(string(body), -1)
	for _, s := range scripts {
		if !strings.Contains(s[1], `type="application/json"`) && strings.TrimSpace(s[2]) != "" {
			t.Errorf("the page has an inline script: %s", s[0])
		}
	}
}

// TestOffline: nothing the console ships loads from another host: no
// absolute URL in the page, the styles or the app's modules, and no import
// of one in the vendored modules.
func TestOffline(t *testing.T) {
	h := console.Handler(console.Options{})
	assertOffline(t, h, "/")
}

// assertOffline follows the page's links and its modules' imports, and
// checks each file the browser would load.
func assertOffline(t *testing.T, h http.Handler, page string) {
	t.Helper()
	url := regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'()<>]*`)
	ref := regexp.MustCompile(`(?:src|href)="([^"]+)"|(?:import|from)\s*\(?\s*"([^"]+)"|url\(\s*['"]?([^'")]+)`)
	seen := map[string]bool{}
	queue := []string{page}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		r := get(t, h, path)
		if r.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d; the page needs it", path, r.StatusCode)
			continue
		}
		b, _ := io.ReadAll(r.Body)
		text := string(b)
		vendored := strings.Contains(path, "/vendor/")
		for _, m := range ref.FindAllStringSubmatch(text, -1) {
			target := m[1] + m[2] + m[3]
			switch {
			case strings.HasPrefix(target, "data:"), strings.HasPrefix(target, "#"):
			case url.MatchString(target):
				t.Errorf("%s loads %s from another host", path, target)
			case m[1] != "" && strings.HasSuffix(path, ".js"):
				// src and href in a module's templates are the page's.
				queue = append(queue, resolve(page, target))
			case !vendored || m[2] != "":
				queue = append(queue, resolve(path, target))
			}
		}
		if !vendored {
			for _, u := range url.FindAllString(text, -1) {
				if !strings.Contains(u, "www.w3.org/2000/svg") {
					t.Errorf("%s names %s: the console must not refer to another host", path, u)
				}
			}
		}
	}
	if len(seen) < 10 {
		t.Fatalf("followed only %d files from %s; the walk is broken", len(seen), page)
	}
}

// resolve turns a reference found in the file at base into a path.
func resolve(base, ref string) string {
	if strings.HasPrefix(ref, "/") {
		return ref
	}
	dir := base[:strings.LastIndex(base, "/")+1]
	parts := []string{}
	for _, p := range strings.Split(dir+ref, "/") {
		switch p {
		case "", ".":
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, p)
		}
	}
	return "/" + strings.Join(parts, "/")
}

// TestSignInWithOrganization: with a provider and a client id, the page
// learns the issuer, client id, audience and scopes (openid always among
// them), and may call the issuer's origin; without a client id, neither.
func TestSignInWithOrganization(t *testing.T) {
	h := console.Handler(console.Options{SignIn: console.OIDC{
		Issuer: "https://login.example.com/tenant-1/v2.0", ClientID: "console-id", Audience: "api://autoclaim", Scopes: []string{"api://autoclaim/access"},
	}})
	r := get(t, h, "/")
	body, _ := io.ReadAll(r.Body)
	want := `{"endpoint":"/graphql","reportCSV":"/reports/autoclaim.csv","oidc":{"issuer":"https://login.example.com/tenant-1/v2.0","clientId":"console-id","audience":"api://autoclaim","scopes":"openid api://autoclaim/access"}}`
	if !strings.Contains(string(body), want) {
		t.Errorf("the page's config block is missing or wrong; want %s in:\n%s", want, body)
	}
	for _, path := range []string{"/", "/js/app.js"} {
		if csp := get(t, h, path).Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://login.example.com;") {
			t.Errorf("GET %s: CSP %q; want connect-src to allow the issuer's origin only", path, csp)
		}
	}

	off := console.Handler(console.Options{SignIn: console.OIDC{Issuer: "https://login.example.com/tenant-1/v2.0", Audience: "api://autoclaim"}})
	r = get(t, off, "/")
	body, _ = io.ReadAll(r.Body)
	if strings.Contains(string(body), "oidc") || r.Header.Get("Content-Security-Policy") != console.ContentSecurityPolicy {
		t.Errorf("without a client id the page has %s and CSP %q; want no sign-in and the plain policy", body, r.Header.Get("Content-Security-Policy"))
	}
}
