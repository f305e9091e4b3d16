// Package auth verifies bearer tokens, carries the caller through the request
// context, and enforces roles and tenant scoping.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/autoclaim/autoclaim/license"
)

// Role is a caller's role, as named in tokens.
type Role string

// The roles a bearer token may name; the schema's Role enum lists the same.
const (
	Operator      Role = "OPERATOR"
	GlobalAdmin   Role = "GLOBAL_ADMIN"
	LicenseAdmin  Role = "LICENSE_ADMIN"
	ReportsReader Role = "REPORTS_READER"
	App           Role = "APP"
	User          Role = "USER"
)

// AllRoles lists every role.
var AllRoles = []Role{Operator, GlobalAdmin, LicenseAdmin, ReportsReader, App, User}

// Caller is who makes a request.
type Caller struct {
	Subject  string // a user id or an app client id
	TenantID string // empty for operators
	Roles    []Role
	// App, when set, is the one app an APP token may claim licenses for.
	App string
	// Expires is when the caller's token expires (zero: never, for callers
	// made in process); from then on the caller is refused.
	Expires time.Time

	now func() time.Time // the verifier's clock
}

// Expired reports whether the caller's token has expired.
func (c *Caller) Expired() bool {
	if c.Expires.IsZero() {
		return false
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	return !now().Before(c.Expires)
}

// Has reports whether the caller holds any of roles.
func (c *Caller) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(c.Roles, r) {
			return true
		}
	}
	return false
}

// Claims are the claims of autoclaim's own (HS256) tokens.
type Claims struct {
	TenantID string `json:"tid,omitempty"`
	Roles    []Role `json:"roles"`
	// App, on an APP token, is the one app it may claim licenses for.
	App string `json:"app,omitempty"`
	jwt.RegisteredClaims
}

// tokenClaims are what a verified token says of its caller, whoever signed it.
type tokenClaims struct {
	Subject, TenantID, App string
	Roles                  []Role
	Expires                time.Time
}

// Verifier checks bearer tokens and remembers the ones it has checked until
// they expire, so a caller's repeated requests cost one map lookup. A
// token's alg decides which key checks it: HS256 the shared secret (when
// there is one), RS256 and ES256 the identity provider's keys (when one is
// configured with UseOIDC); anything else is refused.
type Verifier struct {
	secret []byte // nil: no HS256 tokens
	hs     *jwt.Parser
	now    func() time.Time

	oidcOn atomic.Bool                  // UseOIDC was called
	oidc   atomic.Pointer[oidcVerifier] // set once the provider's keys load

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	caller *Caller
	exp    time.Time
}

// maxCached bounds the verified-token cache; it is emptied when full.
const maxCached = 50_000

// NewVerifier returns a Verifier for tokens signed with secret (none when
// secret is empty). now is the clock (time.Now when nil).
func NewVerifier(secret []byte, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	if len(secret) == 0 {
		secret = nil
	}
	return &Verifier{
		secret: secret,
		now:    now,
		hs:     jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(now)),
		cache:  map[string]cached{},
	}
}

// Verify checks a token and returns its caller. Returns EUNAUTHENTICATED for a
// token that is malformed, badly signed, expired, of an algorithm this
// server doesn't take, or lacks sub or roles; EUNAVAILABLE for a provider's
// token while the provider's keys are not loaded.
func (v *Verifier) Verify(token string) (*Caller, error) {
	now := v.now()
	v.mu.Lock()
	c, ok := v.cache[token]
	v.mu.Unlock()
	if ok && now.Before(c.exp) {
		return c.caller, nil
	}
	tc, err := v.claims(token)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, errExpired()
	case license.ErrorCode(err) == license.EUNAVAILABLE:
		return nil, err
	case err != nil:
		return nil, license.Errorf(license.EUNAUTHENTICATED, "The bearer token is not valid: %s.", tokenProblem(err))
	case tc.Subject == "" || len(tc.Roles) == 0:
		return nil, license.Errorf(license.EUNAUTHENTICATED, "The bearer token must name a subject and at least one role (roles).")
	}
	for _, r := range tc.Roles {
		if !slices.Contains(AllRoles, r) {
			return nil, license.Errorf(license.EUNAUTHENTICATED, "The bearer token names an unknown role %q.", r)
		}
	}
	if tc.TenantID == "" && !slices.Contains(tc.Roles, Operator) {
		return nil, license.Errorf(license.EUNAUTHENTICATED, "The bearer token must name a tenant (tid) unless it is an operator's.")
	}
	caller := &Caller{Subject: tc.Subject, TenantID: tc.TenantID, Roles: tc.Roles, App: tc.App, Expires: tc.Expires, now: v.now}
	v.mu.Lock()
	if len(v.cache) >= maxCached {
		clear(v.cache)
	}
	v.cache[token] = cached{caller: caller, exp: tc.Expires}
	v.mu.Unlock()
	return caller, nil
}

// claims verifies a token with the key its alg names and reads its claims.
func (v *Verifier) claims(token string) (*tokenClaims, error) {
	head, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		return nil, err
	}
	switch alg := head.Method.Alg(); {
	case alg == "HS256" && v.secret != nil:
		var claims Claims
		if _, err := v.hs.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return v.secret, nil }); err != nil {
			return nil, err
		}
		return &tokenClaims{Subject: claims.Subject, TenantID: claims.TenantID, App: claims.App, Roles: claims.Roles,
			Expires: claims.ExpiresAt.Time}, nil
	case (alg == "RS256" || alg == "ES256") && v.oidcOn.Load():
		o := v.oidc.Load()
		if o == nil {
			return nil, license.Errorf(license.EUNAVAILABLE, "The identity provider's keys are not loaded yet; try again shortly.")
		}
		return o.verify(token)
	default:
		return nil, fmt.Errorf("this server doesn't accept %s tokens", alg)
	}
}

// tokenProblem says in a few words what is wrong with a token, without
// the libraries' inner workings.
func tokenProblem(err error) string {
	for _, p := range []struct {
		err  error
		text string
	}{
		{jwt.ErrTokenMalformed, "it is not a JWT"},
		{jwt.ErrTokenSignatureInvalid, "its signature doesn't match"},
		{jwt.ErrTokenUnverifiable, "no key this server trusts signed it"},
		{jwt.ErrTokenNotValidYet, "it is not valid yet (nbf)"},
		{jwt.ErrTokenInvalidIssuer, "it is not from the configured issuer (iss)"},
		{jwt.ErrTokenInvalidAudience, "it is not for this API (aud)"},
		{jwt.ErrTokenRequiredClaimMissing, "it lacks a required claim (exp)"},
		{jwt.ErrTokenInvalidClaims, "its claims are not valid"},
	} {
		if errors.Is(err, p.err) {
			return p.text
		}
	}
	return err.Error()
}

func errExpired() error {
	return license.Errorf(license.EUNAUTHENTICATED, "The bearer token has expired; get a new one.")
}

// Issue signs a token for c valid for ttl.
func Issue(secret []byte, c Caller, ttl time.Duration, now time.Time) (string, error) {
	claims := Claims{
		TenantID: c.TenantID,
		Roles:    c.Roles,
		App:      c.App,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

type ctxKey struct{}

type identity struct {
	caller *Caller
	err    error
}

// WithCaller returns a context carrying the caller, or the error of a token
// that failed verification (so that fields needing a caller can say why).
func WithCaller(ctx context.Context, c *Caller, err error) context.Context {
	return context.WithValue(ctx, ctxKey{}, identity{caller: c, err: err})
}

// CallerFrom returns the request's caller. Returns EUNAUTHENTICATED when the
// request carried no valid token.
func CallerFrom(ctx context.Context) (*Caller, error) {
	id, _ := ctx.Value(ctxKey{}).(identity)
	if id.err != nil {
		return nil, id.err
	}
	if id.caller == nil {
		return nil, license.Errorf(license.EUNAUTHENTICATED, "This request needs a bearer token (Authorization: Bearer <token>).")
	}
	if id.caller.Expired() {
		return nil, errExpired()
	}
	return id.caller, nil
}
