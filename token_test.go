package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/oidctest"
)

// TestTokenSubcommand: autoclaim token mints a token, printed alone, that a
// server with the same secret accepts; bad input is refused with a message.
func TestTokenSubcommand(t *testing.T) {
	env := map[string]string{"AUTOCLAIM_JWT_SECRET": secret32}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "-role", "GLOBAL_ADMIN", "-tenant", "contoso", "-sub", "adele", "-ttl", "1h"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("token: %v", err)
	}
	token := strings.TrimSuffix(out.String(), "\n")
	if strings.Count(token, ".") != 2 || strings.ContainsAny(token, " \n") {
		t.Fatalf("token printed %q; want the token alone", out.String())
	}
	srv := startServer(t, env)
	var me struct {
		Me struct{ Subject, TenantID string }
	}
	gqltest.MustPost(t, srv["AUTOCLAIM_URL"], token, `{ me { subject tenantId } }`, nil, &me)
	if me.Me.Subject != "adele" || me.Me.TenantID != "contoso" {
		t.Fatalf("me = %+v; want adele of contoso", me.Me)
	}

	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"ErrNoSecret":      {[]string{"-role", "OPERATOR", "-sub", "ops"}, nil, "AUTOCLAIM_JWT_SECRET is not set"},
		"ErrShortSecret":   {[]string{"-role", "OPERATOR", "-sub", "ops"}, map[string]string{"AUTOCLAIM_JWT_SECRET": "short"}, "under 32"},
		"ErrUnknownRole":   {[]string{"-role", "ROOT", "-sub", "ops"}, env, `unknown role "ROOT"`},
		"ErrNoRole":        {[]string{"-sub", "ops"}, env, "-role is required"},
		"ErrNoSubject":     {[]string{"-role", "OPERATOR"}, env, "-sub is required"},
		"ErrNoTenant":      {[]string{"-role", "GLOBAL_ADMIN", "-sub", "adele"}, env, "-tenant must be a tenant id"},
		"ErrBadTTL":        {[]string{"-role", "OPERATOR", "-sub", "ops", "-ttl", "-1h"}, env, "-ttl must be"},
		"ErrUnknownApp":    {[]string{"-role", "APP", "-tenant", "contoso", "-sub", "pa", "-app", "NOPE"}, env, `no app "NOPE"`},
		"ErrAppWithoutApp": {[]string{"-role", "USER", "-tenant", "contoso", "-sub", "megan", "-app", "POWER_AUTOMATE"}, env, "add -role APP"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"token"}, tc.args...), func(k string) string { return tc.env[k] }, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) || out.Len() != 0 {
				t.Fatalf("token %v = %v (stdout %q); want an error containing %q and no token", tc.args, err, out.String(), tc.want)
			}
		})
	}
}

// TestRunWithAnIdentityProvider: with AUTOCLAIM_OIDC_ISSUER set and the
// provider down at start, the server starts and /readyz answers 503; once
// the provider answers, it is ready and takes the provider's tokens (and,
// with no secret, no HS256 ones).
func TestRunWithAnIdentityProvider(t *testing.T) {
	p := oidctest.New(t)
	p.Down.Store(true)
	srv := startServer(t, map[string]string{"AUTOCLAIM_OIDC_ISSUER": p.URL, "AUTOCLAIM_OIDC_AUDIENCE": "api://autoclaim", "AUTOCLAIM_OIDC_SUBJECT_CLAIM": "oid"})
	readyz := strings.TrimSuffix(srv["AUTOCLAIM_URL"], "/graphql") + "/readyz"
	status := func() int {
		resp, err := http.Get(readyz)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the provider down = %d; want 503", got)
	}
	p.Down.Store(false)
	deadline := time.Now().Add(15 * time.Second)
	for status() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz never turned 200 after the provider came up")
		}
		time.Sleep(50 * time.Millisecond) // the server retries the provider on its own
	}
	token := p.Sign(t, "ec-1", jwt.MapClaims{"iss": p.URL, "aud": "api://autoclaim", "sub": "pairwise", "oid": "adele",
		"tid": "contoso", "roles": []string{"GLOBAL_ADMIN"}, "exp": time.Now().Add(time.Hour).Unix()})
	var me struct{ Me struct{ Subject string } }
	gqltest.MustPost(t, srv["AUTOCLAIM_URL"], token, `{ me { subject } }`, nil, &me)
	if me.Me.Subject != "adele" {
		t.Fatalf("me.subject = %q; want the oid claim, adele", me.Me.Subject)
	}
}
