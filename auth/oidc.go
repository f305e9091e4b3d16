package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/autoclaim/autoclaim/license"
)

// OIDC configures the tokens of an OpenID Connect provider (Microsoft Entra
// ID, Okta, Google, Keycloak…): RS256 or ES256, signed by a key of the
// provider's JWKS, with its issuer and the API's audience.
type OIDC struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// <Issuer>/.well-known/openid-configuration.
	Issuer string
	// Audience is the aud a token must carry (the API's client id or URI).
	Audience string
	// SubjectClaim names the claim that identifies the caller ("sub" when
	// empty; "oid" for Entra ID's object ids).
	SubjectClaim string
	// Client fetches the discovery document and the keys (nil: a client
	// with a 10 s timeout).
	Client *http.Client
	// Log reports failures to reach the provider (nil: discarded).
	Log *slog.Logger
	// RetryMax is the longest wait between attempts to reach a provider
	// that did not answer; waits start at a quarter second and double
	// (0: 30 s).
	RetryMax time.Duration
}

// OIDC token rules.
const (
	oidcLeeway = 60 * time.Second // clock skew allowed on exp and nbf
	// keyRefresh is how often the provider's keys are read again, and
	// unknownKIDRefresh how often at most a token naming a key the
	// verifier doesn't know makes it read them at once.
	keyRefresh        = time.Hour
	unknownKIDRefresh = 10 * time.Second
)

// oidcVerifier checks one provider's tokens once its keys are loaded.
type oidcVerifier struct {
	cfg    OIDC
	parser *jwt.Parser
	keys   keyfunc.Keyfunc
}

// UseOIDC makes the verifier accept the provider's tokens besides its own
// HS256 ones. It reads the provider's discovery document and keys in the
// background, retrying until it can (Ready says when), and refreshes the
// keys until ctx ends.
func (v *Verifier) UseOIDC(ctx context.Context, cfg OIDC) {
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "sub"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	v.oidcOn.Store(true)
	go func() {
		for wait := 250 * time.Millisecond; ; wait = min(2*wait, cfg.RetryMax) {
			o, err := loadOIDC(ctx, cfg, v.now)
			if err == nil {
				v.oidc.Store(o)
				return
			}
			cfg.Log.WarnContext(ctx, "the identity provider can't be read yet; its tokens are refused until it can", "issuer", cfg.Issuer, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
}

// Ready returns nil when the verifier can check every kind of token it
// accepts. Returns EUNAVAILABLE while an identity provider's keys are not
// loaded.
func (v *Verifier) Ready(context.Context) error {
	if v.oidcOn.Load() && v.oidc.Load() == nil {
		return license.Errorf(license.EUNAVAILABLE, "The identity provider's keys are not loaded yet.")
	}
	return nil
}

// loadOIDC reads the discovery document and the keys it names.
func loadOIDC(ctx context.Context, cfg OIDC, now func() time.Time) (*oidcVerifier, error) {
	url := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if doc.Issuer != cfg.Issuer {
		return nil, fmt.Errorf("%s names the issuer %q, not %q", url, doc.Issuer, cfg.Issuer)
	}
	if doc.JWKSURI == "" {
		return nil, fmt.Errorf("%s names no jwks_uri", url)
	}
	firstFetchFails := false
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{doc.JWKSURI}, keyfunc.Override{
		Client:                    &http.Client{Timeout: cfg.Client.Timeout, Transport: usableKeys{base: cfg.Client.Transport, log: cfg.Log}},
		HTTPTimeout:               10 * time.Second,
		NoErrorReturnFirstHTTPReq: &firstFetchFails,
		RefreshInterval:           keyRefresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(unknownKIDRefresh), 1),
		RateLimitWaitMax:          100 * time.Millisecond, // a request waits for a refresh briefly, if at all
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				cfg.Log.WarnContext(ctx, "could not refresh the identity provider's keys", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return &oidcVerifier{cfg: cfg, keys: keys, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "ES256"}), jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(), jwt.WithLeeway(oidcLeeway), jwt.WithTimeFunc(now),
	)}, nil
}

// verify checks a provider's token and reads its caller's claims.
func (o *oidcVerifier) verify(token string) (*tokenClaims, error) {
	claims := jwt.MapClaims{}
	if _, err := o.parser.ParseWithClaims(token, claims, o.keys.Keyfunc); err != nil {
		return nil, err
	}
	tc := &tokenClaims{}
	tc.Subject, _ = claims[o.cfg.SubjectClaim].(string)
	tc.TenantID, _ = claims["tid"].(string)
	tc.App, _ = claims["app"].(string)
	if roles, ok := claims["roles"].([]any); ok {
		for _, r := range roles {
			s, ok := r.(string)
			if !ok {
				return nil, errors.New("roles must be a list of role names")
			}
			tc.Roles = append(tc.Roles, Role(s))
		}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, jwt.ErrTokenRequiredClaimMissing
	}
	tc.Expires = exp.Time.Add(oidcLeeway) // the caller stays valid through the leeway the parser allowed
	if o.cfg.SubjectClaim != "sub" && tc.Subject == "" {
		return nil, fmt.Errorf("the token has no %s claim", o.cfg.SubjectClaim)
	}
	return tc, nil
}

// usableKeys passes on a JWKS response without the keys that can't be
// read, so that one malformed key of a provider doesn't stop the verifier
// from trusting the others. Each key dropped is logged.
type usableKeys struct {
	base http.RoundTripper
	log  *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (u usableKeys) RoundTrip(r *http.Request) (*http.Response, error) {
	base := u.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("the provider's key set is not JSON: %w", err)
	}
	kept := make([]json.RawMessage, 0, len(set.Keys))
	for _, raw := range set.Keys {
		if _, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{}); err != nil && !errors.Is(err, jwkset.ErrUnsupportedKey) {
			var k struct {
				KID string `json:"kid"`
			}
			json.Unmarshal(raw, &k)
			u.log.WarnContext(r.Context(), "the identity provider's key set holds a key that can't be read; it is skipped", "kid", k.KID, "err", err)
			continue
		}
		kept = append(kept, raw)
	}
	out, _ := json.Marshal(map[string]any{"keys": kept})
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Del("Content-Length")
	return resp, nil
}
