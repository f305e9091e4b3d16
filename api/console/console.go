// Package console is autoclaim's admin console: a single-page app in the
// browser, embedded in the binary with go:embed and served with security
// headers. It needs nothing at run time but the server that serves it: its
// libraries (Preact, htm) are vendored ES modules, so it works offline.
//
// The page signs in with a bearer token (pasted, or opened as /#token=<jwt>),
// or with the organization's account at an OpenID provider (the
// authorization-code flow with PKCE, run by the page as a public client),
// and talks to the GraphQL endpoint over HTTP and graphql-transport-ws.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Options configure the console.
type Options struct {
	// Endpoint is the GraphQL endpoint's path, as the page's fetch and
	// websocket URLs use it. Default "/graphql".
	Endpoint string
	// ReportCSV is the path of the report's CSV export on the same server
	// (GET ?tenantId=…&days=… with the bearer token), which the report's
	// Download CSV fetches. Default "/reports/autoclaim.csv".
	ReportCSV string
	// SignIn, when it names an issuer and a client id, makes the sign-in
	// page offer "Sign in with your organization" at that provider.
	SignIn OIDC
}

// OIDC is the OpenID provider the page signs in with. The page is a public
// client: it runs the authorization-code flow with PKCE and exchanges the
// code at the provider's token endpoint itself, with no secret.
type OIDC struct {
	// Issuer is the provider's issuer URL; the page reads its discovery
	// document (<Issuer>/.well-known/openid-configuration) and calls its
	// token endpoint, which must be on the issuer's origin.
	Issuer string
	// ClientID is the console's client id at the provider: an app
	// registration whose redirect URIs (of a single-page app) include the
	// console's URL.
	ClientID string
	// Audience is the aud the API accepts. The page calls the API with the
	// provider's access token when it is a JWT for this audience, else with
	// the ID token (whose aud is ClientID).
	Audience string
	// Scopes the page asks for ("openid" is added when missing; none:
	// "openid profile").
	Scopes []string
}

// on reports whether the page may offer the provider's sign-in.
func (o OIDC) on() bool { return o.Issuer != "" && o.ClientID != "" }

// origin is the issuer's scheme and host, as a CSP source.
func (o OIDC) origin() string {
	u, err := url.Parse(o.Issuer)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// scopes is the space-separated scope parameter of the page's requests.
func (o OIDC) scopes() string {
	if len(o.Scopes) == 0 {
		return "openid profile"
	}
	for _, s := range o.Scopes {
		if s == "openid" {
			return strings.Join(o.Scopes, " ")
		}
	}
	return "openid " + strings.Join(o.Scopes, " ")
}

// ContentSecurityPolicy is the policy every response of the console carries:
// scripts and styles only from the server itself (no inline script, no eval),
// requests only to the server itself (the report's CSV too, which the page
// fetches and hands to the browser as a download of a blob: URL), and the
// page never framed. With a provider to sign in with, the page may also call
// the provider's origin (its discovery document and token endpoint): see
// Policy.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Policy returns the Content-Security-Policy of a console with these
// options: ContentSecurityPolicy, with the sign-in provider's origin added to
// connect-src when there is one.
func Policy(o Options) string {
	if !o.SignIn.on() || o.SignIn.origin() == "" {
		return ContentSecurityPolicy
	}
	return strings.Replace(ContentSecurityPolicy, "connect-src 'self'", "connect-src 'self' "+o.SignIn.origin(), 1)
}

// Handler serves the console: the page at "/" and its assets below it. It
// answers 404 to any other path and 405 to methods other than GET and HEAD.
// Mount it at the root of the server (or strip a prefix first): the page
// loads its assets by relative URLs.
func Handler(o Options) http.Handler {
	if o.Endpoint == "" {
		o.Endpoint = "/graphql"
	}
	if o.ReportCSV == "" {
		o.ReportCSV = "/reports/autoclaim.csv"
	}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	files := map[string]asset{}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "index.html" {
			return err
		}
		data, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		files["/"+name] = newAsset(name, data)
		return nil
	})
	if err != nil {
		panic(err)
	}
	page, err := renderIndex(sub, o)
	if err != nil {
		panic(err)
	}
	files["/"] = newAsset("index.html", page)
	csp := Policy(o)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header(), csp)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		a, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		a.serve(w, r)
	})
}

// pageConfig is what the page learns from the server.
type pageConfig struct {
	Endpoint  string      `json:"endpoint"`
	ReportCSV string      `json:"reportCSV"`
	SignIn    *pageSignIn `json:"oidc,omitempty"`
}

type pageSignIn struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	Audience string `json:"audience"`
	Scopes   string `json:"scopes"`
}

// renderIndex fills the page's configuration (a JSON data block, not script).
func renderIndex(sub fs.FS, o Options) ([]byte, error) {
	t, err := template.ParseFS(sub, "index.html")
	if err != nil {
		return nil, err
	}
	cfg := pageConfig{Endpoint: o.Endpoint, ReportCSV: o.ReportCSV}
	if o.SignIn.on() {
		cfg.SignIn = &pageSignIn{Issuer: o.SignIn.Issuer, ClientID: o.SignIn.ClientID, Audience: o.SignIn.Audience, Scopes: o.SignIn.scopes()}
	}
	var b bytes.Buffer
	if err := t.Execute(&b, map[string]any{"Config": cfg}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// setSecurityHeaders sets the headers every console response carries.
func setSecurityHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// asset is one file as it is served.
type asset struct {
	name        string
	data        []byte
	contentType string
	etag        string
	// cache is the Cache-Control value: vendored files live under a
	// versioned path and never change; the app's own files are revalidated.
	cache string
}

func newAsset(name string, data []byte) asset {
	sum := sha256.Sum256(data)
	a := asset{name: name, data: data, contentType: contentType(name), etag: `"` + hex.EncodeToString(sum[:12]) + `"`, cache: "no-cache"}
	if strings.HasPrefix(name, "vendor/") {
		a.cache = "public, max-age=31536000, immutable"
	}
	return a
}

func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", a.cache)
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.data))
}

// contentType names the type of the files the console ships.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".json", ".webmanifest":
		return "application/json"
	}
	return "application/octet-stream"
}
