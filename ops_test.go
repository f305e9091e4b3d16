package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
)

// TestHelpAndVersion: -h and -help print the usage, -version the version,
// and run returns nil (autoclaim exits 0).
func TestHelpAndVersion(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), []string{arg}, func(string) string { return "" }, &stdout, &stderr); err != nil {
			t.Errorf("run(%s) = %v; want nil", arg, err)
		}
		if !strings.HasPrefix(stderr.String(), "Usage: autoclaim") || !strings.Contains(stderr.String(), "-metrics-addr") {
			t.Errorf("run(%s) printed %q; want the usage", arg, stderr.String())
		}
	}
	var stdout bytes.Buffer
	// -version answers whatever the environment holds: nothing else is read.
	env := map[string]string{"AUTOCLAIM_REDIS_URL": "redis://127.0.0.1:1/0"}
	if err := run(t.Context(), []string{"-version"}, func(k string) string { return env[k] }, &stdout, io.Discard); err != nil {
		t.Fatalf("run(-version) = %v; want nil", err)
	}
	if !regexp.MustCompile(`^autoclaim \S+ go1\.\S+\n$`).MatchString(stdout.String()) {
		t.Fatalf("run(-version) printed %q; want autoclaim <version> <go version>", stdout.String())
	}
}

// flagsOf returns the flag that stands for each AUTOCLAIM_ variable, read
// from the usage: each flag's line ends with its variable in parentheses.
func flagsOf(t *testing.T) map[string]string {
	t.Helper()
	var usage bytes.Buffer
	if _, err := parseConfig([]string{"-h"}, func(string) string { return "" }, &usage); err == nil {
		t.Fatal("parseConfig(-h) returned no error; want flag.ErrHelp")
	}
	flags := map[string]string{}
	var flag string
	for _, line := range strings.Split(usage.String(), "\n") {
		if m := regexp.MustCompile(`^  (-[a-z-]+)`).FindStringSubmatch(line); m != nil {
			flag = m[1]
		}
		for _, m := range regexp.MustCompile(`\((AUTOCLAIM_[A-Z0-9_]+)\)`).FindAllStringSubmatch(line, -1) {
			flags[m[1]] = flag
		}
	}
	return flags
}

// TestEveryVariableHasAFlag: every AUTOCLAIM_ variable config.go reads has a
// flag, and README's configuration table lists both.
func TestEveryVariableHasAFlag(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	flags := flagsOf(t)
	names := map[string]bool{}
	for _, n := range regexp.MustCompile(`AUTOCLAIM_[A-Z0-9_]+`).FindAllString(string(src), -1) {
		if _, retired := retiredSettings[n]; !retired {
			names[n] = true
		}
	}
	if len(names) < 20 {
		t.Fatalf("found %d variables in config.go; the pattern no longer matches them", len(names))
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		for _, n := range regexp.MustCompile("`(AUTOCLAIM_[A-Z0-9_]+)`").FindAllStringSubmatch(line, -1) {
			if strings.HasPrefix(line, "| ") {
				rows[n[1]] += line
			}
		}
	}
	for n := range names {
		flag, ok := flags[n]
		if !ok {
			t.Errorf("%s has no flag (no flag's usage names it)", n)
			continue
		}
		if !strings.Contains(rows[n], "`"+flag+"`") {
			t.Errorf("README's configuration table lacks a row with `%s` and `%s`", n, flag)
		}
	}
}

// TestOperatorListener: /metrics and the profiles are served on the metrics
// address, not on the API's; start-up and shutdown are logged as structured
// lines.
func TestOperatorListener(t *testing.T) {
	srv := launch(t, map[string]string{}, "-log-format", "json")
	if srv.metricsURL == "" {
		t.Fatal("the server printed no metrics URL")
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	gqltest.MustPost(t, srv.exports["AUTOCLAIM_URL"], srv.exports["READER_TOKEN"], `{ me { subject } }`, nil, nil)
	if code, body := get(srv.metricsURL); code != http.StatusOK || !strings.Contains(body, "autoclaim_build_info{") ||
		!strings.Contains(body, `autoclaim_http_requests_total{code_class="2xx",route="/graphql"} 1`) {
		t.Errorf("GET %s = %d %.300s; want the metrics", srv.metricsURL, code, body)
	}
	opsBase := strings.TrimSuffix(srv.metricsURL, "/metrics")
	if code, body := get(opsBase + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("GET /debug/pprof/ = %d; want the profiles", code)
	}
	apiBase := strings.TrimSuffix(srv.exports["AUTOCLAIM_URL"], "/graphql")
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if _, body := get(apiBase + path); strings.Contains(body, "autoclaim_build_info") || strings.Contains(body, "goroutine?debug") {
			t.Errorf("the API port serves %s", path)
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	var started, stopping, stopped bool
	for _, l := range logLines(t, srv.stderr.String()) {
		switch l["msg"] {
		case "autoclaim started":
			started = l["redis"] == "embedded" && l["version"] != "" && strings.HasPrefix(l["addr"].(string), "127.0.0.1:") &&
				l["metrics_addr"] == strings.TrimPrefix(opsBase, "http://") && l["tracing"] == false
		case "shutting down: finishing requests, ending subscriptions":
			stopping = true
		case "autoclaim stopped":
			stopped = true
		}
	}
	if !started || !stopping || !stopped {
		t.Errorf("log (started %v, stopping %v, stopped %v):\n%s", started, stopping, stopped, srv.stderr)
	}
}

// TestMetricsAddrTaken: a metrics address in use stops the server at start
// with a message naming the setting.
func TestMetricsAddrTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = run(t.Context(), []string{"-addr", "127.0.0.1:0", "-metrics-addr", ln.Addr().String()}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AUTOCLAIM_METRICS_ADDR") {
		t.Fatalf("run = %v; want an error naming AUTOCLAIM_METRICS_ADDR", err)
	}
}

// TestRedisOutageLogsAWarningASecond: with Redis unreachable every claim
// fails, and the log says so about once a second, not once a request.
func TestRedisOutageLogsAWarningASecond(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	srv := launch(t, map[string]string{"AUTOCLAIM_REDIS_URL": "redis://" + dead + "/0", "AUTOCLAIM_JWT_SECRET": secret32}, "-log-format", "json")
	token, err := auth.Issue([]byte(secret32), auth.Caller{Subject: "power-automate", TenantID: "contoso", Roles: []auth.Role{auth.App}}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Twenty callers at once, ten claims each: a failure takes a few hundred
	// milliseconds (go-redis tries to dial five times).
	const callers, each = 20, 10
	const requests = callers * each
	start := time.Now()
	var wg sync.WaitGroup
	codes := make(chan string, requests)
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				req := gqltest.Request(`mutation($u: ID!) { claimLicense(input: {tenantId: "contoso", userId: $u, appId: "POWER_AUTOMATE", trigger: SIGN_IN}) { outcome } }`,
					map[string]any{"u": fmt.Sprintf("user-%d-%d", c, i)}, srv.exports["AUTOCLAIM_URL"], token)
				codes <- answerCode(req)
			}
		})
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != "UNAVAILABLE" {
			t.Fatalf("a claim with Redis down answered %s; want UNAVAILABLE", code)
		}
	}
	// Each kind of warning passes at most once per second of the run, and
	// once more for the second the run started in.
	bound := int(time.Since(start)/time.Second) + 2
	warnings := map[string]int{}
	for _, l := range logLines(t, srv.stderr.String()) {
		if l["level"] == "WARN" || l["level"] == "ERROR" {
			warnings[l["msg"].(string)]++
		}
	}
	if warnings["request failed"] == 0 {
		t.Fatalf("no warning about the failed requests in:\n%s", srv.stderr)
	}
	for msg, n := range warnings {
		if n > bound {
			t.Errorf("%q logged %d times for %d failed requests; want at most %d", msg, n, requests, bound)
		}
	}
}

// answerCode sends a GraphQL request and returns the code of its first
// error, or what went wrong instead (it runs outside the test's goroutine).
func answerCode(req *http.Request) string {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var body struct {
		Errors []struct {
			Extensions struct{ Code string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Errors) == 0 {
		return fmt.Sprintf("HTTP %d without an error (%v)", resp.StatusCode, err)
	}
	return body.Errors[0].Extensions.Code
}
