package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Client is an app registered with the provider for the authorization-code
// flow: a public client (a single-page app), which proves with PKCE that
// it is the one that asked for the code, and has no secret.
type Client struct {
	// ID is the client id (the aud of its ID tokens).
	ID string
	// RedirectURIs are where /authorize may send the browser back, compared
	// exactly.
	RedirectURIs []string
	// AccessTokenAudience, when set, makes the access tokens of the client
	// JWTs for this audience (an API's), signed as ID tokens are; else they
	// are opaque strings, as a provider's tokens for its own APIs are.
	AccessTokenAudience string
}

// flow is the provider's state of the authorization-code flow.
type flow struct {
	flowMu       sync.Mutex
	clients      map[string]Client
	user         jwt.MapClaims
	codes        map[string]grant
	lastRedirect string
}

// grant is what a code stands for until it is exchanged.
type grant struct {
	client      Client
	redirectURI string
	challenge   string
	nonce       string
	scope       string
	user        jwt.MapClaims
}

func newFlow() flow {
	return flow{clients: map[string]Client{}, codes: map[string]grant{}}
}

// Register registers (or replaces) a client.
func (p *Provider) Register(c Client) {
	p.flowMu.Lock()
	defer p.flowMu.Unlock()
	p.clients[c.ID] = c
}

// SignInAs makes /authorize approve every request for this user at once,
// without asking, and /token put these claims (sub, tid, roles, oid…) in
// the tokens it issues. Until then /authorize answers access_denied.
func (p *Provider) SignInAs(user jwt.MapClaims) {
	p.flowMu.Lock()
	defer p.flowMu.Unlock()
	p.user = maps.Clone(user)
}

// LastRedirect is the address (with code and state, or an error) that
// /authorize last sent a browser back to.
func (p *Provider) LastRedirect() string {
	p.flowMu.Lock()
	defer p.flowMu.Unlock()
	return p.lastRedirect
}

// authorize is the authorization endpoint: it checks the request as a
// provider does, issues a code bound to the PKCE challenge and sends the
// browser back to the client with the code and the state.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.flowMu.Lock()
	defer p.flowMu.Unlock()
	c, ok := p.clients[q.Get("client_id")]
	redirectURI := q.Get("redirect_uri")
	if !ok || !slices.Contains(c.RedirectURIs, redirectURI) {
		// Never redirect to an address the client did not register.
		http.Error(w, "unknown client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		params.Set("state", q.Get("state"))
		sep := "?"
		if strings.Contains(redirectURI, "?") {
			sep = "&"
		}
		p.lastRedirect = redirectURI + sep + params.Encode()
		if p.Hold.Load() {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!doctype html><title>Consent</title><p><a id="continue" href="` + html.EscapeString(p.lastRedirect) + `">Continue</a></p>`))
			return
		}
		http.Redirect(w, r, p.lastRedirect, http.StatusFound)
	}
	fail := func(code, description string) {
		back(url.Values{"error": {code}, "error_description": {description}})
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		fail("invalid_request", "PKCE with S256 is required")
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "the scope must include openid")
	case q.Get("state") == "" || q.Get("nonce") == "":
		fail("invalid_request", "state and nonce are required")
	case p.user == nil:
		fail("access_denied", "no test user is signed in")
	default:
		code := random()
		p.codes[code] = grant{client: c, redirectURI: redirectURI, challenge: q.Get("code_challenge"),
			nonce: q.Get("nonce"), scope: q.Get("scope"), user: maps.Clone(p.user)}
		back(url.Values{"code": {code}})
	}
}

// token is the token endpoint: it exchanges a code once, for the client
// and redirect URI it was issued to, and only with the PKCE verifier of its
// challenge.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	// Called from the client's pages in browsers.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	p.TokenRequests.Add(1)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	refuse := func(code, description string) {
		p.TokenRefusals.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
	}
	if err := r.ParseForm(); err != nil {
		refuse("invalid_request", err.Error())
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		refuse("unsupported_grant_type", "grant_type must be authorization_code")
		return
	}
	p.flowMu.Lock()
	g, ok := p.codes[f.Get("code")]
	delete(p.codes, f.Get("code")) // a code is good for one try
	p.flowMu.Unlock()
	switch {
	case !ok:
		refuse("invalid_grant", "unknown or used code")
		return
	case f.Get("client_id") != g.client.ID:
		refuse("invalid_grant", "the code was issued to another client")
		return
	case f.Get("redirect_uri") != g.redirectURI:
		refuse("invalid_grant", "redirect_uri differs from the authorization request's")
		return
	case len(f.Get("code_verifier")) < 43 || len(f.Get("code_verifier")) > 128 || challengeOf(f.Get("code_verifier")) != g.challenge:
		refuse("invalid_grant", "PKCE verification failed: the code_verifier does not match the code_challenge")
		return
	}
	now := time.Now()
	claims := func(aud string) jwt.MapClaims {
		c := maps.Clone(g.user)
		c["iss"], c["aud"], c["iat"], c["exp"] = p.URL, aud, now.Unix(), now.Add(time.Hour).Unix()
		return c
	}
	id := claims(g.client.ID)
	id["nonce"] = g.nonce
	if p.WrongNonce.Load() {
		id["nonce"] = random()
	}
	idToken, err := sign(jwt.SigningMethodRS256, p.Key("rsa-1"), "rsa-1", id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	accessToken := random()
	if g.client.AccessTokenAudience != "" {
		at := claims(g.client.AccessTokenAudience)
		at["scp"] = g.scope
		if accessToken, err = sign(jwt.SigningMethodRS256, p.Key("rsa-1"), "rsa-1", at); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": 3600, "scope": g.scope,
		"access_token": accessToken, "id_token": idToken,
	})
}

// challengeOf is the S256 code challenge of a verifier.
func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
