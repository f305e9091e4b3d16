// Package graphiql serves GraphiQL, the GraphQL IDE, with every asset
// embedded: React, ReactDOM and GraphiQL are vendored from their npm packages
// (see NOTICE.md), so the page works offline and loads nothing from another
// host. Its start-up script is a file of its own: the Content-Security-Policy
// allows no inline script.
package graphiql

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Options configure the GraphiQL page.
type Options struct {
	// Path is where the page is mounted, e.g. "/graphiql"; its assets are
	// served below it ("/graphiql/init.js"). Default "/graphiql".
	Path string
	// Endpoint is the GraphQL endpoint's path. Default "/graphql".
	Endpoint string
}

// ContentSecurityPolicy is the policy every response carries. GraphiQL's
// editors set inline styles, so styles may be inline; scripts may not.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the page at o.Path and its assets below o.Path+"/". Mount
// it at both, e.g. mux.Handle("GET /graphiql", h) and
// mux.Handle("GET /graphiql/", h). Other paths are answered 404.
func Handler(o Options) http.Handler {
	if o.Path == "" {
		o.Path = "/graphiql"
	}
	o.Path = strings.TrimSuffix(o.Path, "/")
	if o.Endpoint == "" {
		o.Endpoint = "/graphql"
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
		files[o.Path+"/"+name] = newAsset(name, data)
		return nil
	})
	if err != nil {
		panic(err)
	}
	t, err := template.ParseFS(sub, "index.html")
	if err != nil {
		panic(err)
	}
	var page bytes.Buffer
	if err := t.Execute(&page, o); err != nil {
		panic(err)
	}
	files[o.Path] = newAsset("index.html", page.Bytes())
	files[o.Path+"/"] = files[o.Path]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
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

// setSecurityHeaders sets the headers every response carries.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
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
	// versioned path and never change; the page and init.js are revalidated.
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

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "application/octet-stream"
}
