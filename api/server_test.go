package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
)

func TestReadyz(t *testing.T) {
	b := redistest.Mini(t)
	ta := newTestAPI(t, b)
	get := func() int {
		rec := httptest.NewRecorder()
		ta.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("/readyz = %d with Redis up; want 200", code)
	}
	// An emptied script cache (a Redis restart) is reloaded by the readiness check.
	if err := b.Client.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("/readyz = %d after a script flush; want 200 (scripts reloaded)", code)
	}
	b.Mini.Close()
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d with Redis down; want 503", code)
	}
	r := ta.do(ta.token("op", "", "OPERATOR"), `{ tenant(id: "gone") { id } }`, nil)
	if r.Code() != "UNAVAILABLE" {
		t.Fatalf("query with Redis down: code %q; want UNAVAILABLE", r.Code())
	}
}

func TestInternalErrorsAreHiddenAndLogged(t *testing.T) {
	b := redistest.Mini(t)
	ta := newTestAPI(t, b)
	// A tenant hash whose policy list points at a policy with malformed products.
	f := ta.newFixture("broken")
	b.Client.HSet(t.Context(), b.Prefix+"{t:broken}:policy:1", "app", "POWER_APPS", "products", "garbage", "version", "1")
	b.Client.ZAdd(t.Context(), b.Prefix+"{t:broken}:policies", redisZ(1, "1"))
	r := ta.do(f.admin, `{ tenant(id: "broken") { policies { id } } }`, nil)
	if r.Code() != "INTERNAL" || r.Errors[0].Message != "internal error" {
		t.Fatalf("errors %+v; want INTERNAL with the message \"internal error\"", r.Errors)
	}
	if !strings.Contains(ta.logs.String(), "malformed products") {
		t.Fatalf("the cause was not logged; logs: %s", ta.logs.String())
	}
}
