package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// commandCounter counts the commands a client sends that may write: scripts
// and every command not known to only read. A refused free text may have been
// checked against what is stored (a policy's products are looked up before
// its name is judged) but never reaches a write.
type commandCounter struct{ n atomic.Int64 }

// readOnly are the commands the store sends that cannot change data.
var readOnly = map[string]bool{
	"get": true, "mget": true, "hget": true, "hmget": true, "hgetall": true,
	"exists": true, "smembers": true, "sismember": true, "scard": true,
	"zrange": true, "zrangebyscore": true, "zrevrange": true, "zscore": true,
	"zcard": true, "zmscore": true, "xrange": true, "xrevrange": true,
	"xlen": true, "ttl": true, "pttl": true, "time": true, "ping": true,
	"evalsha_ro": true, "eval_ro": true,
}

func (c *commandCounter) count(cmd redis.Cmder) {
	if !readOnly[cmd.Name()] {
		c.n.Add(1)
	}
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.count(cmd)
		}
		return next(ctx, cmds)
	}
}

// freeTextStore is a store on one backend whose commands are counted.
type freeTextStore struct {
	name     string
	s        *store.Store
	commands *commandCounter
	tenants  atomic.Int64
}

func newFreeTextStore(tb testing.TB, b *redistest.Backend) *freeTextStore {
	tb.Helper()
	fs := &freeTextStore{name: b.Name, s: mustOpen(tb, b), commands: &commandCounter{}}
	b.Client.AddHook(fs.commands)
	return fs
}

// refusedBeforeRedis checks that err is EINVALID and that the call sent no
// command to Redis that could write since sent.
func (fs *freeTextStore) refusedBeforeRedis(t *testing.T, what, input string, err error, sent int64) {
	t.Helper()
	if code := license.ErrorCode(err); code != license.EINVALID {
		t.Fatalf("%s: %s %q: %v; want it stored or refused with %s", fs.name, what, input, err, license.EINVALID)
	}
	if n := fs.commands.n.Load() - sent; n != 0 {
		t.Fatalf("%s: %s %q was refused after %d commands to Redis that may write; want it refused before any", fs.name, what, input, n)
	}
}

// acceptedOnlyWithoutControls fails the test when the store kept a text with
// control characters.
func acceptedOnlyWithoutControls(t *testing.T, what, input string) {
	t.Helper()
	if strings.ContainsFunc(input, unicode.IsControl) {
		t.Fatalf("%s %q holds control characters and was accepted", what, input)
	}
}

// roundTrip puts each free text through the store: a tenant's name, a
// policy's name (created and renamed), a user's principal and display names
// written by Go (createUser) and by the claim script (a user a claim
// records). Each is refused with EINVALID before a write reaches Redis, or
// reads back as it was given (names without their surrounding spaces, as
// the API stores them).
func (fs *freeTextStore) roundTrip(t *testing.T, upn, displayName, policyName, tenantName string) {
	ctx := context.Background()
	s := fs.s
	n := fs.tenants.Add(1)
	tenantID := fmt.Sprint("text", n)

	sent := fs.commands.n.Load()
	_, _, err := s.CreateTenant(ctx, license.NewTenant{ID: tenantID, Name: tenantName, AdminUserPrincipalName: "admin@text.example",
		AdminDisplayName: "Admin", AutoClaimEnabled: true})
	if err != nil {
		fs.refusedBeforeRedis(t, "tenant name", tenantName, err, sent)
		if _, _, err := s.CreateTenant(ctx, license.NewTenant{ID: tenantID, Name: "Tenant", AdminUserPrincipalName: "admin@text.example",
			AdminDisplayName: "Admin", AutoClaimEnabled: true}); err != nil {
			t.Fatal(err)
		}
	} else {
		acceptedOnlyWithoutControls(t, "tenant name", tenantName)
		tn, err := s.Tenant(ctx, tenantID)
		if err != nil || tn.Name != strings.TrimSpace(tenantName) {
			t.Fatalf("%s: tenant name %q read back as %q (%v)", fs.name, tenantName, tn.Name, err)
		}
	}

	product, err := s.AddProduct(ctx, tenantID, flowSKU, 5)
	if err != nil {
		t.Fatal(err)
	}
	products := []license.PolicyProduct{{ProductID: product.ID}}
	sent = fs.commands.n.Load()
	pol, err := s.CreatePolicy(ctx, license.NewPolicy{TenantID: tenantID, Name: policyName, AppID: powerAutomate, Enabled: true, Products: products})
	if err != nil {
		fs.refusedBeforeRedis(t, "policy name", policyName, err, sent)
		if pol, err = s.CreatePolicy(ctx, license.NewPolicy{TenantID: tenantID, Name: "Policy", AppID: powerAutomate, Enabled: true, Products: products}); err != nil {
			t.Fatal(err)
		}
	} else {
		acceptedOnlyWithoutControls(t, "policy name", policyName)
		if got, err := s.Policy(ctx, pol.ID); err != nil || got.Name != strings.TrimSpace(policyName) {
			t.Fatalf("%s: policy name %q read back as %q (%v)", fs.name, policyName, got.Name, err)
		}
	}
	_, err = s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error { return p.Rename(policyName) })
	after, readErr := s.Policy(ctx, pol.ID)
	if readErr != nil {
		t.Fatal(readErr)
	}
	if err != nil {
		if code := license.ErrorCode(err); code != license.EINVALID || after.Version != pol.Version {
			t.Fatalf("%s: renaming to %q: %v, version %d -> %d; want EINVALID and nothing written", fs.name, policyName, err, pol.Version, after.Version)
		}
	} else if acceptedOnlyWithoutControls(t, "policy name", policyName); after.Name != strings.TrimSpace(policyName) {
		t.Fatalf("%s: policy renamed %q read back as %q", fs.name, policyName, after.Name)
	}

	// The claim script records a user it has not seen, with the names the app gave.
	sent = fs.commands.n.Load()
	res, err := s.Claim(ctx, license.ClaimRequest{TenantID: tenantID, UserID: "claimant", AppID: powerAutomate, Trigger: cloudFlow,
		UserPrincipalName: upn, DisplayName: displayName})
	if err != nil {
		fs.refusedBeforeRedis(t, "claim for principal and display names", upn+"\" and \""+displayName, err, sent)
		if _, err := s.User(ctx, tenantID, "claimant"); license.ErrorCode(err) != license.ENOTFOUND {
			t.Fatalf("%s: a refused claim recorded its user (%v)", fs.name, err)
		}
	} else {
		acceptedOnlyWithoutControls(t, "principal name", upn)
		acceptedOnlyWithoutControls(t, "display name", displayName)
		if res.Outcome != license.Claimed {
			t.Fatalf("%s: claim answered %s %s; want CLAIMED", fs.name, res.Outcome, res.Reason)
		}
		fs.wantUser(t, tenantID, "claimant", upn, displayName)
	}

	// createUser writes the directory entry in Go.
	sent = fs.commands.n.Load()
	_, err = s.CreateUser(ctx, license.NewUser{TenantID: tenantID, ID: "created", UserPrincipalName: upn, DisplayName: displayName})
	switch {
	case err == nil:
		acceptedOnlyWithoutControls(t, "principal name", upn)
		acceptedOnlyWithoutControls(t, "display name", displayName)
		fs.wantUser(t, tenantID, "created", upn, displayName)
	case license.ErrorCode(err) == license.ECONFLICT && res != nil && upn != "":
		// The claimant holds the principal name; the directory keeps it for them.
	default:
		fs.refusedBeforeRedis(t, "user's principal and display names", upn+"\" and \""+displayName, err, sent)
	}
}

// wantUser checks a user reads back, alone and in the tenant's list, with
// the names given (the display name without surrounding spaces).
func (fs *freeTextStore) wantUser(t *testing.T, tenantID, id, upn, displayName string) {
	t.Helper()
	ctx := context.Background()
	u, err := fs.s.User(ctx, tenantID, id)
	if err != nil || u.UserPrincipalName != upn || u.DisplayName != strings.TrimSpace(displayName) {
		t.Fatalf("%s: user %s given %q and %q read back as %+v (%v)", fs.name, id, upn, displayName, u, err)
	}
	page, err := fs.s.Users(ctx, tenantID, store.MaxPageSize, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, listed := range page.Users {
		if listed.ID == id && *listed != *u {
			t.Fatalf("%s: user %s listed as %+v; read alone as %+v", fs.name, id, listed, u)
		}
	}
}

// FuzzFreeText puts arbitrary text in every free-text field the store keeps
// (user principal name, display name, policy name, tenant name), on
// miniredis and on Redis: each is refused with BAD_USER_INPUT before it
// reaches Redis, or round-trips exactly.
func FuzzFreeText(f *testing.F) {
	for _, seed := range [][4]string{
		{"megan@contoso.com", "Megan Bowen", "Power Automate", "Contoso"},
		{"a\x1fb@c.de", "x\x1fy", "p\x1fq", "t\x1fu"},
		{"a|b;c=d,e:f@x.io", "O'Brien | Sales; EMEA = 1, 2: \\ %d", "P|1;2=3,4", "A;B|C"},
		{"zoë.ñ@例え.jp", "  Zoë Ñúñez 例え 🙂  ", "  spaced  ", "\u00a0nbsp\u00a0"},
		{"caf\xe9@x.io", "caf\xe9", "\xff\xfe", "\xc0"},
		{"a\u0085@x.io", "line\nbreak", "tab\there", "bell\a"},
		{"", "", "", ""},
		{"x@y.z", strings.Repeat("é", 100), strings.Repeat("n", 101), strings.Repeat(" ", 3)},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	stores := []*freeTextStore{newFreeTextStore(f, redistest.Mini(f)), newFreeTextStore(f, redistest.Real(f))}
	f.Fuzz(func(t *testing.T, upn, displayName, policyName, tenantName string) {
		for _, fs := range stores {
			fs.roundTrip(t, upn, displayName, policyName, tenantName)
		}
	})
}

// TestSeparatorInAPrincipalNameIsRefused: a principal name holding \x1f, the
// separator of a directory entry, once made the entry read back as another
// user (principal name "a", display name "b@c.de", created in 1970). Every
// way into the directory refuses it now, and records nothing.
func TestSeparatorInAPrincipalNameIsRefused(t *testing.T) {
	const upn = "a\x1fb@c.de"
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		automatePolicy(t, s, "sep", tenantWithProducts(t, s, "sep", 5))

		_, err := s.CreateUser(ctx, license.NewUser{TenantID: "sep", ID: "u1", UserPrincipalName: upn, DisplayName: "A"})
		wantCode(t, err, license.EINVALID)
		_, err = s.User(ctx, "sep", "u1")
		wantCode(t, err, license.ENOTFOUND)

		_, err = s.Claim(ctx, license.ClaimRequest{TenantID: "sep", UserID: "u2", AppID: powerAutomate, Trigger: cloudFlow,
			UserPrincipalName: upn, DisplayName: "A"})
		wantCode(t, err, license.EINVALID)
		_, err = s.User(ctx, "sep", "u2")
		wantCode(t, err, license.ENOTFOUND)

		_, _, err = s.CreateTenant(ctx, license.NewTenant{ID: "sep2", Name: "T", AdminUserPrincipalName: upn, AdminDisplayName: "A"})
		wantCode(t, err, license.EINVALID)
		_, err = s.Tenant(ctx, "sep2")
		wantCode(t, err, license.ENOTFOUND)

		// Display names with the separator were refused already; still are.
		_, err = s.CreateUser(ctx, license.NewUser{TenantID: "sep", ID: "u3", UserPrincipalName: "c@d.ef", DisplayName: "b\x1f5"})
		wantCode(t, err, license.EINVALID)
	})
}
