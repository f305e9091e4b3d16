package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/internal/gqltest"
)

// readmeCall is one `gql "$TOKEN" '<json>'` line of README.md.
var readmeCall = regexp.MustCompile(`^gql "\$([A-Z_]+)" '(.*)'(?:\s+# expect: ([A-Z_ ]+))?$`)

// TestReadmeExamples runs every gql example of README.md, in order, against a
// fresh server started as `go run .` starts it, and checks each answers
// without errors, or as its "# expect:" comment says: an error code, or a
// claim outcome and reason.
func TestReadmeExamples(t *testing.T) {
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := startServer(t, map[string]string{})
	url := env["AUTOCLAIM_URL"]
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for line := 1; sc.Scan(); line++ {
		m := readmeCall.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		n++
		token, ok := env[m[1]]
		if !ok {
			t.Fatalf("README.md:%d uses $%s, which the server does not print", line, m[1])
		}
		var req struct {
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables"`
		}
		if err := json.Unmarshal([]byte(m[2]), &req); err != nil {
			t.Fatalf("README.md:%d: the request is not valid JSON: %v", line, err)
		}
		r := gqltest.Post(t, url, token, req.Query, req.Variables)
		wantCode, wantOutcome := m[3], ""
		if outcome, reason, _ := strings.Cut(m[3], " "); outcome == "CLAIMED" || outcome == "ALREADY_LICENSED" || outcome == "DENIED" || outcome == "QUEUED" || outcome == "PENDING_APPROVAL" {
			wantCode, wantOutcome = "", `"outcome":"`+outcome+`"`
			if reason != "" {
				wantOutcome += `,"reason":"` + reason + `"`
			}
		}
		if r.Code() != wantCode {
			t.Errorf("README.md:%d: error code %q (%+v); want %q", line, r.Code(), r.Errors, wantCode)
		}
		if !strings.Contains(string(r.Data), wantOutcome) {
			t.Errorf("README.md:%d: answer %s; want it to contain %s", line, r.Data, wantOutcome)
		}
	}
	if n < 10 {
		t.Fatalf("found %d gql examples in README.md; the pattern no longer matches them", n)
	}
}
