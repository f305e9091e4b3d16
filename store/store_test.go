package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// mustOpen returns a store on the backend with its scripts loaded.
func mustOpen(tb testing.TB, b *redistest.Backend) *store.Store {
	tb.Helper()
	s := store.New(b.Client, license.BuiltinCatalog(), b.Prefix)
	if err := s.LoadScripts(context.Background()); err != nil {
		tb.Fatalf("LoadScripts: %v", err)
	}
	return s
}

// tenantWithProducts creates a tenant and one product of each catalog SKU.
func tenantWithProducts(tb testing.TB, s *store.Store, id string, qty int) map[string]string {
	tb.Helper()
	ctx := context.Background()
	if _, _, err := s.CreateTenant(ctx, license.NewTenant{ID: id, Name: id, AdminUserPrincipalName: "admin@" + id + ".example", AdminDisplayName: "Admin"}); err != nil {
		tb.Fatalf("CreateTenant: %v", err)
	}
	out := map[string]string{}
	for _, sku := range s.Catalog().SKUPartNumbers() {
		p, err := s.AddProduct(ctx, id, sku, qty)
		if err != nil {
			tb.Fatalf("AddProduct %s: %v", sku, err)
		}
		out[sku] = p.ID
	}
	return out
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := license.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v); want %q", got, err, code)
	}
	if code != "" && license.ErrorMessage(err) == "" {
		tb.Fatalf("error %v has no message", err)
	}
}

func TestKeysCarryTheTenantHashTag(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "keys", 5)
		if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "keys", ID: "u1", UserPrincipalName: "u1@keys.example", DisplayName: "U"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignLicense(ctx, "u1", products["FLOW_PER_USER"], nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreatePolicy(ctx, license.NewPolicy{TenantID: "keys", Name: "P", AppID: "POWER_AUTOMATE", Enabled: true,
			Products: []license.PolicyProduct{{ProductID: products["FLOW_PER_USER"]}}}); err != nil {
			t.Fatal(err)
		}
		keys, err := b.Client.Keys(ctx, b.Prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) < 10 {
			t.Fatalf("only %d keys written: %v", len(keys), keys)
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, b.Prefix+"{t:keys}:") {
				t.Errorf("key %q lacks the tenant hash tag {t:keys}", k)
			}
		}
	})
}

func TestReady(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ctx := context.Background()
		s := store.New(b.Client, license.BuiltinCatalog(), b.Prefix)
		if b.Mini != nil {
			// A fresh miniredis has no scripts: not ready until they are loaded.
			wantCode(t, s.Ready(ctx), license.EUNAVAILABLE)
		}
		if err := s.LoadScripts(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(ctx); err != nil {
			t.Fatalf("Ready after LoadScripts: %v", err)
		}
	})
}

func TestRedisDownIsUnavailable(t *testing.T) {
	b := redistest.Mini(t)
	s := mustOpen(t, b)
	ctx := context.Background()
	tenantWithProducts(t, s, "down", 5)
	b.Mini.Close()
	_, err := s.SetAutoClaimEnabled(ctx, "down", true)
	wantCode(t, err, license.EUNAVAILABLE)
	_, err = s.Tenant(ctx, "down")
	wantCode(t, err, license.EUNAVAILABLE)
	wantCode(t, s.Ready(ctx), license.EUNAVAILABLE)
}

func TestScriptCacheFlushedIsReloaded(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		if b.Mini == nil {
			t.Skip("SCRIPT FLUSH would empty the shared Redis's script cache under other tests' feet")
		}
		s := mustOpen(t, b)
		ctx := context.Background()
		tenantWithProducts(t, s, "flush", 5)
		if err := b.Client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		// go-redis falls back to EVAL on NOSCRIPT, so writes keep working.
		if _, err := s.SetAutoClaimEnabled(ctx, "flush", true); err != nil {
			t.Fatalf("write after script flush: %v", err)
		}
	})
}

func TestConcurrentCreatePolicyKeepsTheLimit(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "race", 5)
		const n = 50
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				app, sku := "POWER_AUTOMATE", "FLOW_PER_USER"
				if i%2 == 1 {
					app, sku = "POWER_APPS", "POWERAPPS_PER_USER"
				}
				_, errs[i] = s.CreatePolicy(ctx, license.NewPolicy{TenantID: "race", Name: fmt.Sprint("P", i), AppID: app, Enabled: true,
					Products: []license.PolicyProduct{{ProductID: products[sku]}}})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch license.ErrorCode(err) {
			case "":
				ok++
			case license.ECONFLICT:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d policies created; want exactly 1 (policy limit 1)", ok)
		}
		ps, err := s.Policies(ctx, "race")
		if err != nil || len(ps) != 1 {
			t.Fatalf("Policies = %d, %v; want 1", len(ps), err)
		}
	})
}

func TestConcurrentPolicyEditsAreSerialized(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "edits", 5)
		p, err := s.CreatePolicy(ctx, license.NewPolicy{TenantID: "edits", Name: "P", AppID: "POWER_AUTOMATE", Enabled: true,
			Products: []license.PolicyProduct{{ProductID: products["FLOW_PER_USER"]}, {ProductID: products["POWERAUTOMATE_ATTENDED_RPA"]}}})
		if err != nil {
			t.Fatal(err)
		}
		// 20 concurrent toggles and moves: each must land exactly once.
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UpdatePolicy(ctx, p.ID, func(p *license.Policy, _ license.SKULookup) error {
					return p.Reorder([]string{p.Products[1].ProductID, p.Products[0].ProductID})
				})
				if err != nil {
					t.Errorf("edit %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		got, err := s.Policy(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != p.Version+n {
			t.Fatalf("version = %d; want %d (every edit applied once)", got.Version, p.Version+n)
		}
		// An even number of swaps restores the order.
		if got.Products[0].ProductID != products["FLOW_PER_USER"] {
			t.Fatalf("after %d swaps the primary is %s; want %s", n, got.Products[0].ProductID, products["FLOW_PER_USER"])
		}
	})
}

func TestAssignRacingQuantityNeverOversells(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "oversell", 10)
		pid := products["FLOW_PER_USER"]
		const users = 40
		for i := range users {
			if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "oversell", ID: fmt.Sprint("u", i), UserPrincipalName: fmt.Sprintf("u%d@o.example", i), DisplayName: "U"}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for i := range users {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := s.AssignLicense(ctx, fmt.Sprint("u", i), pid, nil)
				if c := license.ErrorCode(err); c != "" && c != license.ECONFLICT {
					t.Errorf("assign: %v", err)
				}
			}()
			go func() {
				defer wg.Done()
				_, err := s.SetLicenseQuantity(ctx, pid, 5+i%10)
				if c := license.ErrorCode(err); c != "" && c != license.ECONFLICT {
					t.Errorf("quantity: %v", err)
				}
			}()
		}
		wg.Wait()
		p, err := s.Product(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		held := 0
		for i := range users {
			ls, err := s.Licenses(ctx, "oversell", fmt.Sprint("u", i))
			if err != nil {
				t.Fatal(err)
			}
			held += len(ls)
		}
		if p.AssignedLicenses > p.TotalLicenses || p.AssignedLicenses != held {
			t.Fatalf("total %d, assigned %d, licenses held %d: want assigned <= total and assigned == held", p.TotalLicenses, p.AssignedLicenses, held)
		}
	})
}

func TestRemoveLicenseReturnsItToThePool(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "remove", 1)
		pid := products["POWERAPPS_PER_USER"]
		if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "remove", ID: "u", UserPrincipalName: "u@r.example", DisplayName: "U"}); err != nil {
			t.Fatal(err)
		}
		l, err := s.AssignLicense(ctx, "u", pid, []string{"113FEB6C-3FE4-4440-BDDC-54D774BF0318"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"113feb6c-3fe4-4440-bddc-54d774bf0318"}; fmt.Sprint(l.DisabledServicePlanIDs) != fmt.Sprint(want) {
			t.Fatalf("disabled plans = %v; want %v", l.DisabledServicePlanIDs, want)
		}
		ls, err := s.Licenses(ctx, "remove", "u")
		if err != nil || len(ls) != 1 || ls[0].Source != license.SourceDirect || ls[0].ProductID != pid {
			t.Fatalf("Licenses = %+v, %v; want one DIRECT license of %s", ls, err, pid)
		}
		if err := s.RemoveLicense(ctx, "u", pid); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.RemoveLicense(ctx, "u", pid), license.ENOTFOUND)
		p, _ := s.Product(ctx, pid)
		if p.AvailableLicenses() != 1 {
			t.Fatalf("available = %d after removal; want 1", p.AvailableLicenses())
		}
	})
}

func TestUsersPagination(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		tenantWithProducts(t, s, "pages", 1)
		for i := range 7 {
			if _, err := s.CreateUser(ctx, license.NewUser{TenantID: "pages", ID: fmt.Sprintf("user-%02d", i), UserPrincipalName: fmt.Sprintf("u%d@p.example", i), DisplayName: "U"}); err != nil {
				t.Fatal(err)
			}
		}
		var seen []string
		after := ""
		for {
			page, err := s.Users(ctx, "pages", 3, after)
			if err != nil {
				t.Fatal(err)
			}
			if page.TotalCount != 8 {
				t.Fatalf("TotalCount = %d; want 8 (7 users and the admin)", page.TotalCount)
			}
			for _, u := range page.Users {
				seen = append(seen, u.ID)
			}
			if !page.HasNextPage {
				break
			}
			after = page.Users[len(page.Users)-1].ID
		}
		sorted := slices.Sorted(slices.Values(seen))
		if len(seen) != 8 || len(slices.Compact(sorted)) != 8 || !slices.Contains(seen, "user-06") {
			t.Fatalf("pages walked %v; want the 8 users, each once", seen)
		}
		if !slices.IsSorted(seen) {
			t.Fatalf("pages walked %v; want them in order of id", seen)
		}
		_, err := s.Users(ctx, "pages", 501, "")
		wantCode(t, err, license.EINVALID)
		_, err = s.Users(ctx, "nosuchtenant", 10, "")
		wantCode(t, err, license.ENOTFOUND)
	})
}
