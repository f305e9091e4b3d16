package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyStoreImportsRedis: go-redis and miniredis are the store's
// business. Outside store/, only test kits (internal/redistest,
// internal/clustertest), the benchmark kit and the benchmark commands may
// import them.
func TestOnlyStoreImportsRedis(t *testing.T) {
	const module = "github.com/autoclaim/autoclaim"
	allowed := map[string]bool{
		module + "/store":                true,
		module + "/internal/redistest":   true,
		module + "/internal/clustertest": true,
		module + "/internal/benchkit":    true,
		module + "/cmd/claimbench":       true,
		module + "/cmd/eventbench":       true,
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		checked++
		for _, imp := range strings.Fields(imports) {
			if (strings.HasPrefix(imp, "github.com/redis/go-redis") || strings.HasPrefix(imp, "github.com/alicebob/miniredis")) && !allowed[pkg] {
				t.Errorf("%s imports %s; only store/ talks to Redis", pkg, imp)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("go list listed %d packages; want the whole module:\n%s", checked, out)
	}
}
