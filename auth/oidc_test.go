package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/oidctest"
	"github.com/autoclaim/autoclaim/license"
)

const audience = "api://autoclaim"

// readyVerifier returns a verifier with a shared secret that also takes the
// provider's tokens, once their keys have loaded.
func readyVerifier(t *testing.T, p *oidctest.Provider, now func() time.Time, subjectClaim string) *auth.Verifier {
	t.Helper()
	v := auth.NewVerifier([]byte("a-shared-secret-of-thirty-two-bytes!"), now)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v.UseOIDC(ctx, auth.OIDC{Issuer: p.URL, Audience: audience, SubjectClaim: subjectClaim, RetryMax: 50 * time.Millisecond})
	waitReady(t, v)
	return v
}

func waitReady(t *testing.T, v *auth.Verifier) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the provider's keys never loaded")
		}
		time.Sleep(10 * time.Millisecond) // the loader retries on its own
	}
}

func TestOIDCTokens(t *testing.T) {
	p := oidctest.New(t)
	now := time.Now()
	v := readyVerifier(t, p, func() time.Time { return now }, "")
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": p.URL, "aud": audience, "sub": "adele", "tid": "contoso",
			"roles": []string{"GLOBAL_ADMIN"}, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	rsaKey, ecKey := p.Key("rsa-1").(*rsa.PrivateKey), p.Key("ec-1").(*ecdsa.PrivateKey)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubPEM, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubPEM})
	jwkBytes, _ := json.Marshal(oidctest.PublicJWK("rsa-1", rsaKey))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256", oidctest.Sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(nil)), true},
		{"ES256", oidctest.Sign(t, jwt.SigningMethodES256, ecKey, "ec-1", claims(nil)), true},
		{"WithinLeeway", oidctest.Sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-30 * time.Second).Unix() })), true},
		{"ErrWrongIssuer", oidctest.Sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), false},
		{"ErrWrongAudience", oidctest.Sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(func(c jwt.MapClaims) { c["aud"] = "api://other" })), false},
		{"ErrExpired", oidctest.Sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() })), false},
		{"ErrNotYetValid", oidctest.Sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() })), false},
		{"ErrNoExpiry", oidctest.Sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(func(c jwt.MapClaims) { delete(c, "exp") })), false},
		{"ErrProvidersKidOtherKey", oidctest.Sign(t, jwt.SigningMethodRS256, otherRSA, "rsa-1", claims(nil)), false},
		{"ErrAlgNone", none, false},
		{"ErrHS256WithThePublicKeyPEM", oidctest.Sign(t, jwt.SigningMethodHS256, pemBytes, "rsa-1", claims(nil)), false},
		{"ErrHS256WithThePublicJWK", oidctest.Sign(t, jwt.SigningMethodHS256, jwkBytes, "rsa-1", claims(nil)), false},
		{"ErrRS384", oidctest.Sign(t, jwt.SigningMethodRS384, rsaKey, "rsa-1", claims(nil)), false},
		{"ErrUnknownRole", oidctest.Sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(func(c jwt.MapClaims) { c["roles"] = []string{"ROOT"} })), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(tt.token)
			if tt.ok {
				if err != nil || c.Subject != "adele" || c.TenantID != "contoso" || !c.Has(auth.GlobalAdmin) {
					t.Fatalf("Verify = %+v, %v; want adele, a Global admin of contoso", c, err)
				}
				return
			}
			if license.ErrorCode(err) != license.EUNAUTHENTICATED {
				t.Fatalf("Verify = %+v, %v; want UNAUTHENTICATED", c, err)
			}
		})
	}
}

// TestOIDCSubjectClaimAndApp: the caller is named by the configured claim
// (Entra ID's oid), and an APP token's app claim binds it to one app.
func TestOIDCSubjectClaimAndApp(t *testing.T) {
	p := oidctest.New(t)
	v := readyVerifier(t, p, nil, "oid")
	key := p.Key("rsa-1").(*rsa.PrivateKey)
	base := jwt.MapClaims{"iss": p.URL, "aud": audience, "sub": "pairwise-subject", "oid": "6f1e-user-object-id", "tid": "contoso",
		"roles": []string{"APP"}, "app": "POWER_AUTOMATE", "exp": time.Now().Add(time.Hour).Unix()}
	c, err := v.Verify(oidctest.Sign(t, jwt.SigningMethodRS256, key, "rsa-1", base))
	if err != nil || c.Subject != "6f1e-user-object-id" || c.App != "POWER_AUTOMATE" {
		t.Fatalf("Verify = %+v, %v; want the oid as subject and the app binding", c, err)
	}
	if err := c.MayClaim("contoso", "anyone", "POWER_APPS"); license.ErrorCode(err) != license.EFORBIDDEN {
		t.Fatalf("an app-bound token claiming for another app: %v; want FORBIDDEN", err)
	}
	delete(base, "oid")
	if _, err := v.Verify(oidctest.Sign(t, jwt.SigningMethodRS256, key, "rsa-1", base)); license.ErrorCode(err) != license.EUNAUTHENTICATED {
		t.Fatalf("a token without the subject claim: %v; want UNAUTHENTICATED", err)
	}
}

// TestOIDCKeyRotation: a token signed by a key the provider added after the
// verifier read its keys works: an unknown kid makes the verifier read them
// again (at most once every 10 s).
func TestOIDCKeyRotation(t *testing.T) {
	p := oidctest.New(t)
	v := readyVerifier(t, p, nil, "")
	fetches := p.KeyReads.Load()
	key := p.AddRSA(t, "rsa-2")
	claims := jwt.MapClaims{"iss": p.URL, "aud": audience, "sub": "adele", "tid": "contoso", "roles": []string{"GLOBAL_ADMIN"}, "exp": time.Now().Add(time.Hour).Unix()}
	if _, err := v.Verify(oidctest.Sign(t, jwt.SigningMethodRS256, key, "rsa-2", claims)); err != nil {
		t.Fatalf("a token of the rotated-in key: %v", err)
	}
	if got := p.KeyReads.Load() - fetches; got != 1 {
		t.Fatalf("the keys were read %d times for the new kid; want once", got)
	}
	// Another unknown kid within 10 s doesn't send the verifier back to the provider.
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	claims["sub"] = "mallory"
	if _, err := v.Verify(oidctest.Sign(t, jwt.SigningMethodRS256, stranger, "rsa-unknown", claims)); license.ErrorCode(err) != license.EUNAUTHENTICATED {
		t.Fatalf("a token of an unknown key: %v; want UNAUTHENTICATED", err)
	}
	if got := p.KeyReads.Load() - fetches; got != 1 {
		t.Fatalf("the keys were read %d times in all; want no second read within 10 s", got)
	}
}

// TestOIDCIssuerDownAtStart: with the provider down, the verifier is not
// ready and refuses its tokens as unavailable; once it answers, the keys
// load and it is ready.
func TestOIDCIssuerDownAtStart(t *testing.T) {
	p := oidctest.New(t)
	p.Down.Store(true)
	v := auth.NewVerifier(nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v.UseOIDC(ctx, auth.OIDC{Issuer: p.URL, Audience: audience, RetryMax: 50 * time.Millisecond})
	if err := v.Ready(ctx); license.ErrorCode(err) != license.EUNAVAILABLE {
		t.Fatalf("Ready with the provider down = %v; want UNAVAILABLE", err)
	}
	key := p.Key("rsa-1").(*rsa.PrivateKey)
	tok := oidctest.Sign(t, jwt.SigningMethodRS256, key, "rsa-1", jwt.MapClaims{"iss": p.URL, "aud": audience, "sub": "adele", "tid": "contoso", "roles": []string{"GLOBAL_ADMIN"}, "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := v.Verify(tok); license.ErrorCode(err) != license.EUNAVAILABLE {
		t.Fatalf("a provider's token before its keys load: %v; want UNAVAILABLE", err)
	}
	// HS256 tokens are refused outright without a secret.
	hs, _ := auth.Issue([]byte("whatever-secret-of-thirty-two-bytes"), auth.Caller{Subject: "x", TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}, time.Hour, time.Now())
	if _, err := v.Verify(hs); license.ErrorCode(err) != license.EUNAUTHENTICATED {
		t.Fatalf("an HS256 token on a provider-only verifier: %v; want UNAUTHENTICATED", err)
	}
	p.Down.Store(false)
	waitReady(t, v)
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("the provider's token once its keys loaded: %v", err)
	}
}

// TestOIDCSkipsKeysItCantRead: one malformed key in the provider's key set
// is skipped; the others still verify tokens.
func TestOIDCSkipsKeysItCantRead(t *testing.T) {
	p := oidctest.New(t)
	p.AddBrokenKey("broken")
	v := readyVerifier(t, p, nil, "")
	tok := p.Sign(t, "rsa-1", jwt.MapClaims{"iss": p.URL, "aud": audience, "sub": "adele", "tid": "contoso", "roles": []string{"GLOBAL_ADMIN"}, "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("a token of a good key beside a broken one: %v", err)
	}
}

// TestOIDCLeewayOutlastsExpiry: a provider's token within its 60 s of
// leeway past exp is a valid caller, not one refused as expired.
func TestOIDCLeewayOutlastsExpiry(t *testing.T) {
	p := oidctest.New(t)
	now := time.Now()
	v := readyVerifier(t, p, func() time.Time { return now }, "")
	tok := p.Sign(t, "rsa-1", jwt.MapClaims{"iss": p.URL, "aud": audience, "sub": "adele", "tid": "contoso", "roles": []string{"GLOBAL_ADMIN"}, "exp": now.Add(-30 * time.Second).Unix()})
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.CallerFrom(auth.WithCaller(context.Background(), c, nil)); err != nil {
		t.Fatalf("a caller within the leeway: %v", err)
	}
}
