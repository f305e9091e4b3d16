package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
)

// graphqlHTTPVersion is the graphql-http package whose server audit runs.
const graphqlHTTPVersion = "1.23.1"

// auditScript runs graphql-http's server audit against URL, as a caller with
// TOKEN, and prints each result that is not "ok" as a JSON line.
const auditScript = `
import { auditServer } from 'graphql-http';
const token = process.env.TOKEN;
const fetchFn = (url, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('Authorization', 'Bearer ' + token);
  return fetch(url, { ...init, headers });
};
const results = await auditServer({ url: process.env.URL, fetchFn });
console.log(JSON.stringify({ total: results.length }));
for (const r of results) {
  if (r.status !== 'ok') console.log(JSON.stringify({ id: r.id, status: r.status, name: r.name, reason: r.reason }));
}
`

// TestGraphQLOverHTTPAudit runs the server audit of the npm package
// graphql-http (the GraphQL over HTTP specification's reference checks)
// against the real handler: no MUST (error), SHOULD (warn) or MAY (notice)
// check may fail. It needs node and npm; it skips without them unless CI
// is set.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	node, errNode := exec.LookPath("node")
	npm, errNPM := exec.LookPath("npm")
	if errNode != nil || errNPM != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node and npm are needed for the GraphQL over HTTP audit (CI is set)")
		}
		t.Skip("node or npm is not installed; skipping graphql-http's server audit")
	}
	dir := auditPackageDir(t, npm)
	script := filepath.Join(dir, "audit.mjs")
	if err := os.WriteFile(script, []byte(auditScript), 0o644); err != nil {
		t.Fatal(err)
	}

	ta := newTestAPI(t, redistest.Mini(t))
	f := ta.newFixture("audit")
	srv := httptest.NewServer(ta.handler)
	t.Cleanup(srv.Close)
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "URL="+srv.URL+"/graphql", "TOKEN="+f.admin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the audit did not run: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var head struct{ Total int }
	if err := json.Unmarshal([]byte(lines[0]), &head); err != nil || head.Total < 50 {
		t.Fatalf("the audit ran %d checks (%v); want the full audit\n%s", head.Total, err, out)
	}
	for _, l := range lines[1:] {
		t.Errorf("audit check failed: %s", l)
	}
}

// auditPackageDir installs graphql-http once into the user's cache and
// returns its directory.
func auditPackageDir(t *testing.T, npm string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "autoclaim-test", "graphql-http-"+graphqlHTTPVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql-http", "package.json")); err == nil {
		return dir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pkg := `{"name": "autoclaim-audit", "private": true, "type": "module"}`
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "graphql-http@"+graphqlHTTPVersion, "graphql@16")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install graphql-http: %v\n%s", err, out)
	}
	return dir
}
