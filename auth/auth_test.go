package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

var (
	secret = []byte("test-secret-0123456789abcdef")
	// t0 is whole seconds: JWT times have second precision.
	t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
)

// clock is a settable time source for NewVerifier.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newVerifier(tb testing.TB) (*auth.Verifier, *clock) {
	tb.Helper()
	c := &clock{t: t0}
	return auth.NewVerifier(secret, c.now), c
}

func mustIssue(tb testing.TB, c auth.Caller, ttl time.Duration) string {
	tb.Helper()
	tok, err := auth.Issue(secret, c, ttl, t0)
	if err != nil {
		tb.Fatalf("Issue(%+v) = %v", c, err)
	}
	return tok
}

// rawToken builds a compact JWT from any header and claims, signed with HMAC-SHA256
// over key whatever the header says.
func rawToken(tb testing.TB, header, claims map[string]any, key []byte) string {
	tb.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatalf("json.Marshal: %v", err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func validClaims() map[string]any {
	return map[string]any{"sub": "alice", "tid": "contoso", "roles": []string{"GLOBAL_ADMIN"}, "exp": t0.Add(time.Hour).Unix()}
}

// checkErr fails t unless err has the code want and a message holding each of parts.
func checkErr(t *testing.T, call string, err error, want string, parts ...string) {
	t.Helper()
	if got := license.ErrorCode(err); got != want {
		t.Fatalf("%s: code = %q (err %v); want %q", call, got, err, want)
	}
	if err == nil {
		return
	}
	msg := license.ErrorMessage(err)
	if strings.TrimSpace(msg) == "" || msg == "internal error" {
		t.Errorf("%s: message = %q; want one that says what is wrong", call, msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("%s: message %q does not mention %q", call, msg, p)
		}
	}
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		caller auth.Caller
	}{
		{"GlobalAdmin", auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}},
		{"App", auth.Caller{Subject: "app-client-1", TenantID: "contoso", Roles: []auth.Role{auth.App}}},
		{"ManyRoles", auth.Caller{Subject: "bob", TenantID: "fabrikam", Roles: []auth.Role{auth.LicenseAdmin, auth.ReportsReader, auth.User}}},
		{"OperatorWithoutTenant", auth.Caller{Subject: "ops", Roles: []auth.Role{auth.Operator}}},
		{"OperatorWithTenant", auth.Caller{Subject: "ops", TenantID: "contoso", Roles: []auth.Role{auth.Operator}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newVerifier(t)
			tok := mustIssue(t, tt.caller, time.Hour)
			got, err := v.Verify(tok)
			if err != nil {
				t.Fatalf("Verify(Issue(%+v)) = %v; want nil", tt.caller, err)
			}
			if got.Subject != tt.caller.Subject || got.TenantID != tt.caller.TenantID || !slices.Equal(got.Roles, tt.caller.Roles) {
				t.Errorf("Verify(Issue(%+v)) = %+v; want the same caller", tt.caller, *got)
			}
		})
	}
}

func TestIssueClaims(t *testing.T) {
	tok := mustIssue(t, auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.User}}, 15*time.Minute)
	var claims auth.Claims
	if _, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return secret, nil }, jwt.WithTimeFunc(func() time.Time { return t0 })); err != nil {
		t.Fatalf("jwt.ParseWithClaims(Issue()) = %v", err)
	}
	if got, want := claims.ExpiresAt.Time, t0.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("Issue(ttl 15m).exp = %v; want %v", got, want)
	}
	if claims.IssuedAt == nil || !claims.IssuedAt.Time.Equal(t0) {
		t.Errorf("Issue().iat = %v; want %v", claims.IssuedAt, t0)
	}
	if claims.Subject != "alice" || claims.TenantID != "contoso" || !slices.Equal(claims.Roles, []auth.Role{auth.User}) {
		t.Errorf("Issue() claims = %+v; want sub alice, tid contoso, roles [USER]", claims)
	}
	header, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil || !strings.Contains(string(b), `"alg":"HS256"`) {
		t.Errorf("Issue() header = %s (%v); want alg HS256", b, err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	admin := auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}
	issueWith := func(key []byte, c auth.Caller, ttl time.Duration) func(testing.TB) string {
		return func(tb testing.TB) string {
			tok, err := auth.Issue(key, c, ttl, t0)
			if err != nil {
				tb.Fatalf("Issue() = %v", err)
			}
			return tok
		}
	}
	withClaims := func(edit func(map[string]any)) func(testing.TB) string {
		return func(tb testing.TB) string {
			c := validClaims()
			edit(c)
			return rawToken(tb, map[string]any{"alg": "HS256", "typ": "JWT"}, c, secret)
		}
	}
	tests := []struct {
		name  string
		token func(testing.TB) string
		parts []string
	}{
		{"Empty", func(testing.TB) string { return "" }, []string{"not valid"}},
		{"Garbage", func(testing.TB) string { return "not.a.jwt" }, []string{"not valid"}},
		{"TwoParts", func(testing.TB) string { return "abc.def" }, []string{"not valid"}},
		{"Expired", issueWith(secret, admin, -time.Minute), []string{"has expired"}},
		{"ExpiresNow", issueWith(secret, admin, 0), []string{"has expired"}},
		{"WrongSecret", issueWith([]byte("another-secret"), admin, time.Hour), []string{"not valid"}},
		{"TamperedPayload", func(tb testing.TB) string {
			tok := mustIssue(tb, admin, time.Hour)
			parts := strings.Split(tok, ".")
			c := validClaims()
			c["roles"] = []string{"OPERATOR"}
			b, _ := json.Marshal(c)
			parts[1] = base64.RawURLEncoding.EncodeToString(b)
			return strings.Join(parts, ".")
		}, []string{"not valid"}},
		{"AlgNone", func(tb testing.TB) string {
			tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(validClaims())).SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				tb.Fatalf("sign alg none: %v", err)
			}
			return tok
		}, []string{"not valid"}},
		{"AlgNoneHMACSigned", func(tb testing.TB) string {
			return rawToken(tb, map[string]any{"alg": "none", "typ": "JWT"}, validClaims(), secret)
		}, []string{"not valid"}},
		{"AlgRS256HMACSigned", func(tb testing.TB) string {
			return rawToken(tb, map[string]any{"alg": "RS256", "typ": "JWT"}, validClaims(), secret)
		}, []string{"not valid"}},
		{"AlgHS512", func(tb testing.TB) string {
			tok, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims(validClaims())).SignedString(secret)
			if err != nil {
				tb.Fatalf("sign HS512: %v", err)
			}
			return tok
		}, []string{"not valid"}},
		{"MissingExp", withClaims(func(c map[string]any) { delete(c, "exp") }), []string{"not valid"}},
		{"NotYetValid", withClaims(func(c map[string]any) { c["nbf"] = t0.Add(time.Minute).Unix() }), []string{"not valid"}},
		{"MissingSub", issueWith(secret, auth.Caller{TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}, time.Hour), []string{"sub"}},
		{"MissingRoles", issueWith(secret, auth.Caller{Subject: "alice", TenantID: "contoso"}, time.Hour), []string{"roles"}},
		{"EmptyRoles", withClaims(func(c map[string]any) { c["roles"] = []string{} }), []string{"roles"}},
		{"RolesNotAList", withClaims(func(c map[string]any) { c["roles"] = "GLOBAL_ADMIN" }), []string{"not valid"}},
		{"UnknownRole", issueWith(secret, auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.User, "SUPERUSER"}}, time.Hour), []string{`"SUPERUSER"`}},
		{"LowerCaseRole", withClaims(func(c map[string]any) { c["roles"] = []string{"global_admin"} }), []string{`"global_admin"`}},
		{"AdminWithoutTenant", issueWith(secret, auth.Caller{Subject: "alice", Roles: []auth.Role{auth.GlobalAdmin}}, time.Hour), []string{"tid"}},
		{"AppWithoutTenant", issueWith(secret, auth.Caller{Subject: "app", Roles: []auth.Role{auth.App}}, time.Hour), []string{"tid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newVerifier(t)
			tok := tt.token(t)
			got, err := v.Verify(tok)
			if got != nil {
				t.Errorf("Verify(%q) = %+v; want no caller", tok, *got)
			}
			checkErr(t, fmt.Sprintf("Verify(%q)", tok), err, license.EUNAUTHENTICATED, tt.parts...)
		})
	}
}

func TestVerifyCache(t *testing.T) {
	v, clk := newVerifier(t)
	tok := mustIssue(t, auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}, time.Hour)

	first, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("Verify() = %v; want nil", err)
	}
	clk.t = t0.Add(59 * time.Minute)
	second, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("Verify() one minute before expiry = %v; want nil", err)
	}
	if first != second {
		t.Errorf("Verify() twice = %p, %p; want the cached caller both times", first, second)
	}

	for _, at := range []time.Duration{time.Hour, time.Hour + time.Second, 48 * time.Hour} {
		clk.t = t0.Add(at)
		got, err := v.Verify(tok)
		if got != nil {
			t.Errorf("Verify() at exp%+v = %+v; want no caller", at-time.Hour, *got)
		}
		checkErr(t, fmt.Sprintf("Verify() at exp%+v after a cached success", at-time.Hour), err, license.EUNAUTHENTICATED, "has expired")
	}

	// A token refused once stays refused: failures are not cached as successes.
	clk.t = t0
	bad := mustIssue(t, auth.Caller{Subject: "alice", Roles: []auth.Role{auth.User}}, time.Hour)
	for i := range 2 {
		if _, err := v.Verify(bad); license.ErrorCode(err) != license.EUNAUTHENTICATED {
			t.Errorf("Verify(token without tid) #%d = %v; want %s", i+1, err, license.EUNAUTHENTICATED)
		}
	}
}

func TestVerifierDefaultClock(t *testing.T) {
	v := auth.NewVerifier(secret, nil)
	tok, err := auth.Issue(secret, auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.User}}, time.Hour, time.Now())
	if err != nil {
		t.Fatalf("Issue() = %v", err)
	}
	if _, err := v.Verify(tok); err != nil {
		t.Errorf("NewVerifier(secret, nil).Verify(fresh token) = %v; want nil", err)
	}
	old := mustIssue(t, auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.User}}, time.Hour)
	if _, err := v.Verify(old); license.ErrorCode(err) != license.EUNAUTHENTICATED {
		t.Errorf("NewVerifier(secret, nil).Verify(token that expired in 2025) = %v; want %s", err, license.EUNAUTHENTICATED)
	}
}

func TestVerifyHeader(t *testing.T) {
	v, _ := newVerifier(t)
	tok := mustIssue(t, auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}, time.Hour)
	tests := []struct {
		name   string
		header string
		ok     bool
		parts  []string
	}{
		{"Bearer", "Bearer " + tok, true, nil},
		{"LowerCaseBearer", "bearer " + tok, true, nil},
		{"UpperCaseBearer", "BEARER " + tok, true, nil},
		{"ExtraSpaces", "  Bearer   " + tok + "  ", true, nil},
		{"BearerBadToken", "Bearer x", false, []string{"not valid"}},
		{"Basic", "Basic x", false, []string{"Bearer <token>"}},
		{"BasicCredentials", "Basic YWxpY2U6c2VjcmV0", false, []string{"Bearer <token>"}},
		{"Empty", "", false, []string{"Bearer <token>"}},
		{"BearerOnly", "Bearer", false, []string{"Bearer <token>"}},
		{"BearerSpace", "Bearer   ", false, []string{"Bearer <token>"}},
		{"TokenOnly", tok, false, []string{"Bearer <token>"}},
		{"BearerNoSpace", "Bearer" + tok, false, []string{"Bearer <token>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.VerifyHeader(tt.header)
			call := fmt.Sprintf("VerifyHeader(%q)", tt.header)
			if tt.ok {
				if err != nil || got == nil || got.Subject != "alice" {
					t.Fatalf("%s = %v, %v; want alice, nil", call, got, err)
				}
				return
			}
			if got != nil {
				t.Errorf("%s = %+v; want no caller", call, *got)
			}
			checkErr(t, call, err, license.EUNAUTHENTICATED, tt.parts...)
		})
	}
}

func TestCallerHas(t *testing.T) {
	c := &auth.Caller{Subject: "bob", TenantID: "contoso", Roles: []auth.Role{auth.LicenseAdmin, auth.ReportsReader}}
	tests := []struct {
		roles []auth.Role
		want  bool
	}{
		{[]auth.Role{auth.LicenseAdmin}, true},
		{[]auth.Role{auth.GlobalAdmin, auth.ReportsReader}, true},
		{[]auth.Role{auth.GlobalAdmin}, false},
		{[]auth.Role{auth.Operator, auth.App, auth.User}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := c.Has(tt.roles...); got != tt.want {
			t.Errorf("Caller{%v}.Has(%v) = %v; want %v", c.Roles, tt.roles, got, tt.want)
		}
	}
}

var (
	operator = &auth.Caller{Subject: "ops", Roles: []auth.Role{auth.Operator}}
	admin    = &auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}
	reader   = &auth.Caller{Subject: "rita", TenantID: "contoso", Roles: []auth.Role{auth.ReportsReader}}
	appC     = &auth.Caller{Subject: "app-1", TenantID: "fabrikam", Roles: []auth.Role{auth.App}}
)

func TestCallerFrom(t *testing.T) {
	tokenErr := license.Errorf(license.EUNAUTHENTICATED, "The bearer token has expired; get a new one.")
	tests := []struct {
		name  string
		ctx   context.Context
		want  *auth.Caller
		code  string
		parts []string
	}{
		{"NoCaller", context.Background(), nil, license.EUNAUTHENTICATED, []string{"bearer token"}},
		{"Caller", auth.WithCaller(context.Background(), admin, nil), admin, "", nil},
		{"TokenError", auth.WithCaller(context.Background(), nil, tokenErr), nil, license.EUNAUTHENTICATED, []string{"expired"}},
		{"NilCallerNoError", auth.WithCaller(context.Background(), nil, nil), nil, license.EUNAUTHENTICATED, []string{"bearer token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.CallerFrom(tt.ctx)
			if got != tt.want {
				t.Errorf("CallerFrom() = %v; want %v", got, tt.want)
			}
			checkErr(t, "CallerFrom()", err, tt.code, tt.parts...)
		})
	}
}

func TestRequire(t *testing.T) {
	expired := license.Errorf(license.EUNAUTHENTICATED, "The bearer token has expired; get a new one.")
	tests := []struct {
		name  string
		ctx   context.Context
		roles []auth.Role
		code  string
		parts []string
	}{
		{"OK", auth.WithCaller(context.Background(), admin, nil), []auth.Role{auth.GlobalAdmin}, "", nil},
		{"OKOneOf", auth.WithCaller(context.Background(), reader, nil), []auth.Role{auth.GlobalAdmin, auth.LicenseAdmin, auth.ReportsReader}, "", nil},
		{"OKOperator", auth.WithCaller(context.Background(), operator, nil), []auth.Role{auth.Operator}, "", nil},
		{"ErrNoCaller", context.Background(), []auth.Role{auth.GlobalAdmin}, license.EUNAUTHENTICATED, []string{"bearer token"}},
		{"ErrTokenRefused", auth.WithCaller(context.Background(), nil, expired), []auth.Role{auth.GlobalAdmin}, license.EUNAUTHENTICATED, []string{"expired"}},
		{"ErrWrongRole", auth.WithCaller(context.Background(), reader, nil), []auth.Role{auth.GlobalAdmin}, license.EFORBIDDEN, []string{"GLOBAL_ADMIN"}},
		{"ErrAdminIsNotOperator", auth.WithCaller(context.Background(), admin, nil), []auth.Role{auth.Operator}, license.EFORBIDDEN, []string{"OPERATOR"}},
		{"ErrOperatorIsNotAdmin", auth.WithCaller(context.Background(), operator, nil), []auth.Role{auth.GlobalAdmin}, license.EFORBIDDEN, []string{"GLOBAL_ADMIN"}},
		{"ErrNoRolesAllowed", auth.WithCaller(context.Background(), admin, nil), nil, license.EFORBIDDEN, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.Require(tt.ctx, tt.roles...)
			call := fmt.Sprintf("Require(%v)", tt.roles)
			checkErr(t, call, err, tt.code, tt.parts...)
			if tt.code == "" {
				want, _ := auth.CallerFrom(tt.ctx)
				if got != want {
					t.Errorf("%s = %v; want the context's caller %v", call, got, want)
				}
			} else if got != nil {
				t.Errorf("%s = %v, %v; want nil with the error", call, got, err)
			}
		})
	}
}

func TestCheckTenant(t *testing.T) {
	tests := []struct {
		name   string
		ctx    context.Context
		tenant string
		code   string
		parts  []string
	}{
		{"OperatorAnyTenant", auth.WithCaller(context.Background(), operator, nil), "fabrikam", "", nil},
		{"OperatorOtherTenant", auth.WithCaller(context.Background(), operator, nil), "contoso", "", nil},
		{"OwnTenant", auth.WithCaller(context.Background(), admin, nil), "contoso", "", nil},
		{"AppOwnTenant", auth.WithCaller(context.Background(), appC, nil), "fabrikam", "", nil},
		{"ErrOtherTenant", auth.WithCaller(context.Background(), admin, nil), "fabrikam", license.ENOTFOUND, []string{`Policy "fabrikam:policy:1"`, "not found"}},
		{"ErrOtherTenantApp", auth.WithCaller(context.Background(), appC, nil), "contoso", license.ENOTFOUND, []string{`Policy "fabrikam:policy:1"`}},
		{"ErrEmptyTenant", auth.WithCaller(context.Background(), admin, nil), "", license.ENOTFOUND, nil},
		{"ErrNoCaller", context.Background(), "contoso", license.EUNAUTHENTICATED, []string{"bearer token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.CheckTenant(tt.ctx, tt.tenant, `Policy "fabrikam:policy:1"`)
			call := fmt.Sprintf("CheckTenant(%q)", tt.tenant)
			checkErr(t, call, err, tt.code, tt.parts...)
			if license.ErrorCode(err) == license.EFORBIDDEN {
				t.Errorf("%s = %v; another tenant's object must read NOT_FOUND, never FORBIDDEN", call, err)
			}
		})
	}
}

// fakeNext is a graphql.Resolver that counts its calls and returns v, err.
type fakeNext struct {
	calls int
	v     any
	err   error
}

func (f *fakeNext) resolve(context.Context) (any, error) {
	f.calls++
	return f.v, f.err
}

func TestHasRole(t *testing.T) {
	nextErr := license.Errorf(license.ENOTFOUND, "Policy was not found.")
	tests := []struct {
		name    string
		ctx     context.Context
		roles   []auth.Role
		nextErr error
		code    string
		calls   int
	}{
		{"OK", auth.WithCaller(context.Background(), admin, nil), []auth.Role{auth.GlobalAdmin}, nil, "", 1},
		{"OKOneOf", auth.WithCaller(context.Background(), appC, nil), []auth.Role{auth.GlobalAdmin, auth.App, auth.User}, nil, "", 1},
		{"OKNextError", auth.WithCaller(context.Background(), admin, nil), []auth.Role{auth.GlobalAdmin}, nextErr, license.ENOTFOUND, 1},
		{"ErrNoCaller", context.Background(), []auth.Role{auth.GlobalAdmin}, nil, license.EUNAUTHENTICATED, 0},
		{"ErrWrongRole", auth.WithCaller(context.Background(), reader, nil), []auth.Role{auth.GlobalAdmin}, nil, license.EFORBIDDEN, 0},
		{"ErrOperatorNotAdmin", auth.WithCaller(context.Background(), operator, nil), []auth.Role{auth.GlobalAdmin}, nil, license.EFORBIDDEN, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := &fakeNext{v: "resolved", err: tt.nextErr}
			got, err := auth.HasRole(tt.ctx, nil, next.resolve, tt.roles)
			call := fmt.Sprintf("HasRole(%v)", tt.roles)
			checkErr(t, call, err, tt.code)
			if next.calls != tt.calls {
				t.Errorf("%s called next %d times; want %d", call, next.calls, tt.calls)
			}
			if tt.code == "" && got != "resolved" {
				t.Errorf("%s = %v; want next's value %q", call, got, "resolved")
			}
			if tt.nextErr != nil && !errors.Is(err, tt.nextErr) {
				t.Errorf("%s = %v; want next's error %v", call, err, tt.nextErr)
			}
			if tt.calls == 0 && got != nil {
				t.Errorf("%s = %v, %v; want nil with the error", call, got, err)
			}
		})
	}
}

func TestTenantScoped(t *testing.T) {
	ptr := func(s string) *string { return &s }
	nextErr := license.Errorf(license.EINVALID, "bad argument")
	tests := []struct {
		name    string
		caller  *auth.Caller
		v       any
		nextErr error
		code    string
		parts   []string
	}{
		{name: "OKTenant", caller: admin, v: "contoso"},
		{name: "OKProduct", caller: admin, v: "contoso:product:3"},
		{name: "OKPolicy", caller: admin, v: "contoso:policy:1"},
		{name: "OKPointer", caller: admin, v: ptr("contoso:policy:2")},
		{name: "OKNilPointer", caller: admin, v: (*string)(nil)},
		{name: "OKOperatorAnyTenant", caller: operator, v: "fabrikam:product:1"},
		{name: "OKApp", caller: appC, v: "fabrikam"},
		{name: "ErrOtherTenant", caller: admin, v: "fabrikam", code: license.ENOTFOUND, parts: []string{`Tenant "fabrikam"`, "not found"}},
		{name: "ErrOtherTenantProduct", caller: admin, v: "fabrikam:product:1", code: license.ENOTFOUND, parts: []string{`Product "fabrikam:product:1"`}},
		{name: "ErrOtherTenantPolicyPointer", caller: appC, v: ptr("contoso:policy:1"), code: license.ENOTFOUND, parts: []string{`Policy "contoso:policy:1"`}},
		{name: "ErrMalformedID", caller: admin, v: "contoso:product:01", code: license.ENOTFOUND, parts: []string{`Product "contoso:product:01"`}},
		{name: "ErrMalformedTenant", caller: operator, v: "Contoso", code: license.ENOTFOUND, parts: []string{`"Contoso"`}},
		{name: "ErrEmpty", caller: operator, v: "", code: license.ENOTFOUND},
		{name: "ErrUnauthenticated", caller: nil, v: "contoso", code: license.EUNAUTHENTICATED, parts: []string{"bearer token"}},
		{name: "ErrNextFails", caller: admin, v: nil, nextErr: nextErr, code: license.EINVALID, parts: []string{"bad argument"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.caller != nil {
				ctx = auth.WithCaller(ctx, tt.caller, nil)
			}
			next := &fakeNext{v: tt.v, err: tt.nextErr}
			got, err := auth.TenantScoped(ctx, nil, next.resolve)
			call := fmt.Sprintf("TenantScoped(%v)", tt.v)
			checkErr(t, call, err, tt.code, tt.parts...)
			if next.calls != 1 {
				t.Errorf("%s called next %d times; want 1", call, next.calls)
			}
			if tt.code == "" && got != tt.v {
				t.Errorf("%s = %v; want the argument unchanged", call, got)
			}
			if tt.code != "" && got != nil {
				t.Errorf("%s = %v, %v; want nil with the error", call, got, err)
			}
			if license.ErrorCode(err) == license.EFORBIDDEN {
				t.Errorf("%s = %v; another tenant's object must read NOT_FOUND, never FORBIDDEN", call, err)
			}
		})
	}

	t.Run("ErrNotAnID", func(t *testing.T) {
		for _, v := range []any{42, []string{"contoso"}, nil} {
			next := &fakeNext{v: v}
			got, err := auth.TenantScoped(auth.WithCaller(context.Background(), admin, nil), nil, next.resolve)
			if license.ErrorCode(err) != license.EINTERNAL || got != nil {
				t.Errorf("TenantScoped(%#v) = %v, %v; want nil, %s", v, got, err, license.EINTERNAL)
			}
		}
	})
}

func TestMiddleware(t *testing.T) {
	v, _ := newVerifier(t)
	tok := mustIssue(t, auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}, time.Hour)
	expired, err := auth.Issue(secret, auth.Caller{Subject: "alice", TenantID: "contoso", Roles: []auth.Role{auth.GlobalAdmin}}, time.Hour, t0.Add(-2*time.Hour))
	if err != nil {
		t.Fatalf("Issue() = %v", err)
	}

	// The handler reports what it sees in the request context.
	type seen struct {
		Subject string `json:"subject"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	h := auth.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := auth.CallerFrom(r.Context())
		var s seen
		if c != nil {
			s.Subject = c.Subject
		}
		s.Code, s.Message = license.ErrorCode(err), license.ErrorMessage(err)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	tests := []struct {
		name   string
		header string
		want   seen
		inMsg  string
	}{
		{"NoHeader", "", seen{Code: license.EUNAUTHENTICATED}, "needs a bearer token"},
		{"Valid", "Bearer " + tok, seen{Subject: "alice"}, ""},
		{"ValidLowerCase", "bearer " + tok, seen{Subject: "alice"}, ""},
		{"Expired", "Bearer " + expired, seen{Code: license.EUNAUTHENTICATED}, "has expired"},
		{"BadToken", "Bearer x", seen{Code: license.EUNAUTHENTICATED}, "not valid"},
		{"Basic", "Basic YWxpY2U6c2VjcmV0", seen{Code: license.EUNAUTHENTICATED}, "Bearer <token>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("GET with Authorization %q: %v", tt.header, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET with Authorization %q: status %d; want 200 (the middleware never answers itself)", tt.header, resp.StatusCode)
			}
			var got seen
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.Subject != tt.want.Subject || got.Code != tt.want.Code {
				t.Errorf("GET with Authorization %q: handler saw caller %q, code %q; want %q, %q", tt.header, got.Subject, got.Code, tt.want.Subject, tt.want.Code)
			}
			if !strings.Contains(got.Message, tt.inMsg) {
				t.Errorf("GET with Authorization %q: message %q; want it to mention %q", tt.header, got.Message, tt.inMsg)
			}
		})
	}

	t.Run("KeepsContext", func(t *testing.T) {
		type key struct{}
		var got any
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Context().Value(key{}) })
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req = req.WithContext(context.WithValue(req.Context(), key{}, "kept"))
		req.Header.Set("Authorization", "Bearer "+tok)
		auth.Middleware(v)(inner).ServeHTTP(httptest.NewRecorder(), req)
		if got != "kept" {
			t.Errorf("inner handler saw context value %v; want %q", got, "kept")
		}
	})
}
