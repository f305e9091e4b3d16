package oidctest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/autoclaim/autoclaim/internal/oidctest"
)

const redirect = "http://127.0.0.1:1/"

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize asks for a code as a browser would and returns where the
// provider sent it back.
func authorize(t *testing.T, p *oidctest.Provider, params url.Values) (*http.Response, url.Values) {
	t.Helper()
	resp, err := noRedirects.Get(p.URL + "/authorize?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil {
		return resp, nil
	}
	return resp, loc.Query()
}

// exchange posts the code to /token and decodes the answer.
func exchange(t *testing.T, p *oidctest.Provider, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(p.URL+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func newProvider(t *testing.T) *oidctest.Provider {
	p := oidctest.New(t)
	p.Register(oidctest.Client{ID: "console", RedirectURIs: []string{redirect}, AccessTokenAudience: "api://autoclaim"})
	p.SignInAs(jwt.MapClaims{"sub": "nina", "tid": "northwind", "roles": []string{"GLOBAL_ADMIN"}})
	return p
}

func request(verifier string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {"console"}, "redirect_uri": {redirect}, "scope": {"openid profile"},
		"state": {"s1"}, "nonce": {"n1"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
}

// TestAuthorizationCodeWithPKCE: a code comes back with the state, and
// buys tokens once, with the verifier of its challenge.
func TestAuthorizationCodeWithPKCE(t *testing.T) {
	p := newProvider(t)
	verifier := strings.Repeat("v", 43)
	resp, back := authorize(t, p, request(verifier))
	if resp.StatusCode != http.StatusFound || back.Get("state") != "s1" || back.Get("code") == "" {
		t.Fatalf("authorize = %d, back with %v; want 302 with a code and state s1", resp.StatusCode, back)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "redirect_uri": {redirect},
		"client_id": {"console"}, "code_verifier": {verifier}}
	status, body := exchange(t, p, form)
	if status != http.StatusOK {
		t.Fatalf("token = %d %v; want 200", status, body)
	}
	id, _, err := jwt.NewParser().ParseUnverified(body["id_token"].(string), jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	c := id.Claims.(jwt.MapClaims)
	if c["iss"] != p.URL || c["aud"] != "console" || c["nonce"] != "n1" || c["tid"] != "northwind" || c["sub"] != "nina" {
		t.Errorf("ID token claims %v; want the issuer, aud console, nonce n1 and the user's claims", c)
	}
	at, _, err := jwt.NewParser().ParseUnverified(body["access_token"].(string), jwt.MapClaims{})
	if err != nil || at.Claims.(jwt.MapClaims)["aud"] != "api://autoclaim" {
		t.Errorf("access token %v, %v; want a JWT for api://autoclaim", at, err)
	}
	if status, body := exchange(t, p, form); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("the same code again = %d %v; want 400 invalid_grant", status, body)
	}
}

// TestTokenRefusals: a code is refused with another verifier, redirect URI
// or client, and gone after a refused try.
func TestTokenRefusals(t *testing.T) {
	p := newProvider(t)
	verifier := strings.Repeat("v", 43)
	tests := []struct {
		name, field, value string
	}{
		{"WrongVerifier", "code_verifier", strings.Repeat("w", 43)},
		{"ShortVerifier", "code_verifier", "v"},
		{"WrongRedirect", "redirect_uri", "http://127.0.0.1:2/"},
		{"WrongClient", "client_id", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, back := authorize(t, p, request(verifier))
			form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "redirect_uri": {redirect},
				"client_id": {"console"}, "code_verifier": {verifier}}
			form.Set(tt.field, tt.value)
			if status, body := exchange(t, p, form); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Fatalf("token with a wrong %s = %d %v; want 400 invalid_grant", tt.field, status, body)
			}
			form.Set(tt.field, url.Values{"code_verifier": {verifier}, "redirect_uri": {redirect}, "client_id": {"console"}}.Get(tt.field))
			if status, _ := exchange(t, p, form); status != http.StatusBadRequest {
				t.Fatalf("the code after a refused try = %d; want 400", status)
			}
		})
	}
}

// TestAuthorizeRefusals: an unregistered redirect URI gets no redirect;
// other bad requests go back to the client with an error and the state.
func TestAuthorizeRefusals(t *testing.T) {
	p := newProvider(t)
	verifier := strings.Repeat("v", 43)
	bad := request(verifier)
	bad.Set("redirect_uri", "http://evil.example/")
	if resp, _ := authorize(t, p, bad); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("an unregistered redirect_uri = %d to %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	tests := []struct{ field, value, want string }{
		{"code_challenge_method", "plain", "invalid_request"},
		{"code_challenge", "", "invalid_request"},
		{"scope", "profile", "invalid_scope"},
		{"nonce", "", "invalid_request"},
		{"response_type", "token", "unsupported_response_type"},
	}
	for _, tt := range tests {
		req := request(verifier)
		req.Set(tt.field, tt.value)
		if _, back := authorize(t, p, req); back.Get("error") != tt.want || back.Get("state") != "s1" || back.Get("code") != "" {
			t.Errorf("authorize with %s=%q sent back %v; want error %s with the state and no code", tt.field, tt.value, back, tt.want)
		}
	}
}
