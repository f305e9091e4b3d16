// Package oidctest is an in-process OpenID Connect provider for tests: a
// discovery document and a JWKS of RSA and EC keys that a test can rotate
// or take down, a signer of tokens with any of them, and the
// authorization-code flow with PKCE for public clients (authorize.go).
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Provider is an OpenID provider on a loopback port. Its issuer is its URL.
type Provider struct {
	*httptest.Server
	// Mux serves the provider's endpoints; tests may add more.
	Mux *http.ServeMux
	// Down, when set, makes the discovery document answer 503.
	Down atomic.Bool
	// KeyReads counts requests for the JWKS.
	KeyReads atomic.Int64
	// Hold makes /authorize answer with a page that links to the redirect
	// (as a provider does while it asks for consent) instead of redirecting
	// at once; LastRedirect names the link.
	Hold atomic.Bool
	// WrongNonce makes the ID tokens /token issues carry another nonce than
	// the authorization request's, as a replayed token would.
	WrongNonce atomic.Bool
	// TokenRequests counts requests to /token, and TokenRefusals those
	// it refused.
	TokenRequests, TokenRefusals atomic.Int64

	mu     sync.Mutex
	keys   map[string]any      // kid -> *rsa.PrivateKey or *ecdsa.PrivateKey
	broken []map[string]string // keys of the JWKS that can't be read
	flow
}

// AddBrokenKey adds to the JWKS a key that can't be read (its modulus is
// not base64url).
func (p *Provider) AddBrokenKey(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.broken = append(p.broken, map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": "!!", "e": "AQAB"})
}

// New starts a provider with an RSA key "rsa-1" and an EC key "ec-1"; it
// stops when the test ends.
func New(tb testing.TB) *Provider {
	tb.Helper()
	p := &Provider{keys: map[string]any{}, Mux: http.NewServeMux(), flow: newFlow()}
	p.AddRSA(tb, "rsa-1")
	p.AddEC(tb, "ec-1")
	p.Mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if p.Down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		// Browsers read it from the pages of the provider's clients.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.URL, "jwks_uri": p.URL + "/keys",
			"authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
			"response_types_supported": []string{"code"}, "grant_types_supported": []string{"authorization_code"},
			"code_challenge_methods_supported": []string{"S256"}, "scopes_supported": []string{"openid", "profile"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	p.Mux.HandleFunc("GET /authorize", p.authorize)
	p.Mux.HandleFunc("POST /token", p.token)
	p.Mux.HandleFunc("OPTIONS /token", p.token)
	p.Mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		p.KeyReads.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		set := []map[string]string{}
		for kid, k := range p.keys {
			set = append(set, PublicJWK(kid, k))
		}
		set = append(set, p.broken...)
		json.NewEncoder(w).Encode(map[string]any{"keys": set})
	})
	p.Server = httptest.NewServer(p.Mux)
	tb.Cleanup(p.Close)
	return p
}

// AddRSA adds an RSA key to the JWKS and returns it.
func (p *Provider) AddRSA(tb testing.TB, kid string) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	p.setKey(kid, k)
	return k
}

// AddEC adds a P-256 key to the JWKS and returns it.
func (p *Provider) AddEC(tb testing.TB, kid string) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	p.setKey(kid, k)
	return k
}

func (p *Provider) setKey(kid string, k any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[kid] = k
}

// Key returns the private key of kid.
func (p *Provider) Key(kid string) any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[kid]
}

// Sign signs claims with the provider's key kid (RS256 for RSA keys,
// ES256 for EC keys).
func (p *Provider) Sign(tb testing.TB, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	key := p.Key(kid)
	m := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		m = jwt.SigningMethodES256
	}
	return Sign(tb, m, key, kid, claims)
}

// Sign makes a token with any method, key and kid ("" for none).
func Sign(tb testing.TB, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	s, err := sign(m, key, kid, claims)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func sign(m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	return tok.SignedString(key)
}

// PublicJWK writes a key's public part as a JWK.
func PublicJWK(kid string, k any) map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PrivateKey:
		pub, _ := k.PublicKey.ECDH()
		raw := pub.Bytes() // 0x04 || X || Y
		return map[string]string{"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
			"x": b64(raw[1:33]), "y": b64(raw[33:])}
	}
	panic("oidctest: unknown key type")
}
