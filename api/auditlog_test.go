package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// auditEntry is an audit entry as a client reads it.
type auditEntry struct {
	ID    string
	At    time.Time
	Actor struct {
		Subject string
		Roles   []string
	}
	Action    string
	TargetIDs []string
	Changes   []struct {
		Field         string
		Before, After *string
	}
}

const auditQuery = `query($t: ID!, $first: Int, $after: String, $since: Time, $action: String) { tenant(id: $t) {
	auditLog(first: $first, after: $after, since: $since, action: $action) { totalCount pageInfo { hasNextPage endCursor }
		nodes { id at actor { subject roles } action targetIds changes { field before after } } } } }`

type auditPage struct {
	Tenant struct {
		AuditLog struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   string
			}
			Nodes []auditEntry
		}
	}
}

// auditLog reads a page of a tenant's audit log.
func (a *testAPI) auditLog(token, tenantID string, vars map[string]any) auditPage {
	a.t.Helper()
	if vars == nil {
		vars = map[string]any{}
	}
	vars["t"] = tenantID
	var out auditPage
	a.mustDo(token, auditQuery, vars, &out)
	return out
}

// changes writes an entry's changes as "field: before -> after" lines, "-"
// for no value.
func (e auditEntry) changes() string {
	var b strings.Builder
	v := func(s *string) string {
		if s == nil {
			return "-"
		}
		return *s
	}
	for _, c := range e.Changes {
		b.WriteString(c.Field + ": " + v(c.Before) + " -> " + v(c.After) + "\n")
	}
	return b.String()
}

// TestEveryAdminMutationIsAudited: each admin and operator mutation writes
// exactly one audit entry, with the caller, the mutation's name, its
// targets and what it changed, before and after; a refused one writes none.
func TestEveryAdminMutationIsAudited(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newFixture("aud")
		op := ta.token("ops", "", "OPERATOR")
		p1, p2, p3 := f.products["POWERAPPS_PER_USER"], f.products["FLOW_PER_USER"], f.products["POWERAUTOMATE_ATTENDED_RPA"]
		policy := "aud:policy:1"
		tests := []struct {
			name, token, query string
			action             string
			targets            []string
			changes            string
		}{
			{"setTenantPolicyLimit", op, `mutation { setTenantPolicyLimit(tenantId: "aud", limit: 3) { id } }`,
				"setTenantPolicyLimit", []string{"aud"}, "policyLimit: 1 -> 3\n"},
			{"setAutoClaimEnabled", f.admin, `mutation { setAutoClaimEnabled(tenantId: "aud", enabled: true) { id } }`,
				"setAutoClaimEnabled", []string{"aud"}, "autoClaimEnabled: false -> true\n"},
			{"setLicenseQuantity", f.admin, `mutation { setLicenseQuantity(productId: "` + p2 + `", quantity: 12) { id } }`,
				"setLicenseQuantity", []string{p2}, "totalLicenses: 5 -> 12\n"},
			{"createUser", f.admin, `mutation { createUser(input: {tenantId: "aud", id: "nestor", userPrincipalName: "nestor@aud.example", displayName: "Nestor, \"N\" Wilke"}) { id } }`,
				"createUser", []string{"nestor"}, "userPrincipalName: - -> nestor@aud.example\ndisplayName: - -> Nestor, \"N\" Wilke\n"},
			{"assignLicense", f.admin, `mutation { assignLicense(input: {userId: "nestor", productId: "` + p1 + `", disabledServicePlanIds: []}) { id } }`,
				"assignLicense", []string{"nestor", p1}, "license: - -> " + p1 + " (DIRECT)\n"},
			{"removeLicense", f.admin, `mutation { removeLicense(userId: "nestor", productId: "` + p1 + `") { id } }`,
				"removeLicense", []string{"nestor", p1}, "license: " + p1 + " (DIRECT) -> -\n"},
			{"createAutoClaimPolicy", f.admin, `mutation { createAutoClaimPolicy(input: {tenantId: "aud", name: "Flows", appId: "POWER_AUTOMATE", products: [{productId: "` + p2 + `"}]}) { id } }`,
				"createAutoClaimPolicy", []string{policy}, "app: - -> POWER_AUTOMATE\nname: - -> Flows\nenabled: - -> true\nproducts: - -> " + p2 + "\n"},
			{"renameAutoClaimPolicy", f.admin, `mutation { renameAutoClaimPolicy(policyId: "` + policy + `", name: "Flow makers") { id } }`,
				"renameAutoClaimPolicy", []string{policy}, "name: Flows -> Flow makers\n"},
			{"addBackupProduct", f.admin, `mutation { addBackupProduct(policyId: "` + policy + `", productId: "` + p3 + `") { id } }`,
				"addBackupProduct", []string{policy}, "products: " + p2 + " -> " + p2 + "," + p3 + "\n"},
			{"movePolicyProduct", f.admin, `mutation { movePolicyProduct(policyId: "` + policy + `", productId: "` + p3 + `", direction: UP) { id } }`,
				"movePolicyProduct", []string{policy}, "products: " + p2 + "," + p3 + " -> " + p3 + "," + p2 + "\n"},
			{"setPolicyProductOrder", f.admin, `mutation { setPolicyProductOrder(policyId: "` + policy + `", productIds: ["` + p2 + `", "` + p3 + `"]) { id } }`,
				"setPolicyProductOrder", []string{policy}, "products: " + p3 + "," + p2 + " -> " + p2 + "," + p3 + "\n"},
			{"setPolicyServicePlans", f.admin, `mutation { setPolicyServicePlans(policyId: "` + policy + `", productId: "` + p2 + `", disabledServicePlanIds: ["113feb6c-3fe4-4440-bddc-54d774bf0318"]) { id } }`,
				"setPolicyServicePlans", []string{policy}, "disabledServicePlans[" + p2 + "]:  -> 113feb6c-3fe4-4440-bddc-54d774bf0318\n"},
			{"removePolicyProduct", f.admin, `mutation { removePolicyProduct(policyId: "` + policy + `", productId: "` + p3 + `") { id } }`,
				"removePolicyProduct", []string{policy}, "products: " + p2 + "," + p3 + " -> " + p2 + "\n"},
			{"setAutoClaimPolicyEnabled", f.admin, `mutation { setAutoClaimPolicyEnabled(policyId: "` + policy + `", enabled: false) { id } }`,
				"setAutoClaimPolicyEnabled", []string{policy}, "enabled: true -> false\n"},
			{"deleteAutoClaimPolicy", f.admin, `mutation { deleteAutoClaimPolicy(policyId: "` + policy + `") { deletedPolicyId } }`,
				"deleteAutoClaimPolicy", []string{policy}, "name: Flow makers -> -\napp: POWER_AUTOMATE -> -\nenabled: false -> -\nproducts: " + p2 + " -> -\n"},
			{"addProduct", f.admin, `mutation { addProduct(input: {tenantId: "aud", skuPartNumber: "POWERAPPS_PER_USER", quantity: 1}) { id } }`,
				"", nil, ""}, // refused (the tenant has that SKU): no entry
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ta := ta.on(t)
				before := ta.auditLog(f.admin, "aud", nil).Tenant.AuditLog
				r := ta.do(tt.token, tt.query, nil)
				after := ta.auditLog(f.admin, "aud", map[string]any{"first": 1}).Tenant.AuditLog
				if tt.action == "" {
					if len(r.Errors) == 0 || after.TotalCount != before.TotalCount {
						t.Fatalf("a refused mutation (%+v) left %d entries; want an error and still %d", r.Errors, after.TotalCount, before.TotalCount)
					}
					return
				}
				if len(r.Errors) > 0 {
					t.Fatalf("%s: %+v", tt.name, r.Errors)
				}
				if after.TotalCount != before.TotalCount+1 {
					t.Fatalf("entries %d -> %d; want exactly one more", before.TotalCount, after.TotalCount)
				}
				e := after.Nodes[0]
				wantActor, wantRoles := f.adminID, "GLOBAL_ADMIN"
				if tt.token == op {
					wantActor, wantRoles = "ops", "OPERATOR"
				}
				if e.Actor.Subject != wantActor || strings.Join(e.Actor.Roles, ",") != wantRoles || e.Action != tt.action ||
					strings.Join(e.TargetIDs, ",") != strings.Join(tt.targets, ",") {
					t.Errorf("entry %+v; want %s by %s (%s) on %v", e, tt.action, wantActor, wantRoles, tt.targets)
				}
				if got := e.changes(); got != tt.changes {
					t.Errorf("changes:\n%s\nwant:\n%s", got, tt.changes)
				}
			})
		}
	})
}

// TestAuditLogPagesAndFilters: the log reads newest first, a page at a
// time, and filters by time and by action; LICENSE_ADMIN and REPORTS_READER
// may read it, APP and USER callers may not, and another tenant's log is
// NOT_FOUND.
func TestAuditLogPagesAndFilters(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newFixture("pages")
		ta.newFixture("other")
		for _, q := range []int{11, 12, 13, 14, 15} {
			ta.mustDo(f.admin, `mutation($p: ID!, $q: Int!) { setLicenseQuantity(productId: $p, quantity: $q) { id } }`,
				map[string]any{"p": f.products["FLOW_PER_USER"], "q": q}, nil)
		}
		ta.mustDo(f.admin, `mutation { setAutoClaimEnabled(tenantId: "pages", enabled: true) { id } }`, nil, nil)
		// The fixture's tenant and products were made through the store: 1 + 3 entries, by the server itself.
		all := ta.auditLog(f.admin, "pages", map[string]any{"first": 100}).Tenant.AuditLog
		if all.TotalCount != 10 || len(all.Nodes) != 10 {
			t.Fatalf("%d entries (total %d); want 10", len(all.Nodes), all.TotalCount)
		}
		if all.Nodes[0].Action != "setAutoClaimEnabled" || all.Nodes[9].Action != "createTenant" || all.Nodes[9].Actor.Subject != license.System.Subject {
			t.Fatalf("newest %q, oldest %q by %q; want setAutoClaimEnabled first and createTenant by autoclaim last", all.Nodes[0].Action, all.Nodes[9].Action, all.Nodes[9].Actor.Subject)
		}
		// Pages of 3 see every entry once, in order.
		var walked []string
		after := ""
		for {
			vars := map[string]any{"first": 3}
			if after != "" {
				vars["after"] = after
			}
			p := ta.auditLog(f.admin, "pages", vars).Tenant.AuditLog
			for _, e := range p.Nodes {
				walked = append(walked, e.ID)
			}
			if !p.PageInfo.HasNextPage {
				break
			}
			after = p.PageInfo.EndCursor
		}
		for i, e := range all.Nodes {
			if i >= len(walked) || walked[i] != e.ID {
				t.Fatalf("paging walked %v; want %d entries in the log's order", walked, len(all.Nodes))
			}
		}
		// The action filter, across pages.
		q := ta.auditLog(f.admin, "pages", map[string]any{"first": 2, "action": "setLicenseQuantity"}).Tenant.AuditLog
		if len(q.Nodes) != 2 || !q.PageInfo.HasNextPage || q.Nodes[0].changes() != "totalLicenses: 14 -> 15\n" {
			t.Fatalf("action filter: %+v; want the two newest quantity changes and more", q)
		}
		q = ta.auditLog(f.admin, "pages", map[string]any{"first": 10, "action": "setLicenseQuantity", "after": q.PageInfo.EndCursor}).Tenant.AuditLog
		if len(q.Nodes) != 3 || q.PageInfo.HasNextPage {
			t.Fatalf("the action filter's second page: %d entries; want the other 3", len(q.Nodes))
		}
		// The since filter: entries at or after the newest entry's time.
		since := all.Nodes[0].At
		for _, e := range ta.auditLog(f.admin, "pages", map[string]any{"since": since.Format(time.RFC3339Nano)}).Tenant.AuditLog.Nodes {
			if e.At.Before(since) {
				t.Fatalf("since %s returned an entry of %s", since, e.At)
			}
		}
		// Who may read it.
		for role, want := range map[string]string{"LICENSE_ADMIN": "", "REPORTS_READER": "", "APP": "FORBIDDEN", "USER": "FORBIDDEN"} {
			r := ta.do(ta.token("x", "pages", auth.Role(role)), auditQuery, map[string]any{"t": "pages"})
			if r.Code() != want {
				t.Errorf("%s reading the audit log: %q; want %q", role, r.Code(), want)
			}
		}
		if r := ta.do(f.admin, auditQuery, map[string]any{"t": "other"}); r.Code() != "NOT_FOUND" {
			t.Errorf("another tenant's audit log: %q; want NOT_FOUND", r.Code())
		}
		for name, vars := range map[string]map[string]any{
			"BadCursor":   {"after": "not-a-cursor"},
			"BadSince":    {"since": "nope"},
			"DateOnly":    {"since": "2026-11-30"},
			"NumberSince": {"since": 5},
		} {
			vars["t"] = "pages"
			if r := ta.do(f.admin, auditQuery, vars); r.Code() != "BAD_USER_INPUT" {
				t.Errorf("%s: %q %+v; want BAD_USER_INPUT", name, r.Code(), r.Errors)
			}
		}
		if p := ta.auditLog(f.admin, "pages", map[string]any{"since": nil}).Tenant.AuditLog; len(p.Nodes) != 10 {
			t.Errorf("since null: %d entries; want all 10", len(p.Nodes))
		}
		if p := ta.auditLog(f.admin, "pages", map[string]any{"since": "1960-01-01T00:00:00Z"}).Tenant.AuditLog; len(p.Nodes) != 10 {
			t.Errorf("since 1960: %d entries; want all 10", len(p.Nodes))
		}
		if p := ta.auditLog(f.admin, "pages", map[string]any{"after": "0-0"}).Tenant.AuditLog; len(p.Nodes) != 0 || p.PageInfo.HasNextPage {
			t.Errorf("after 0-0: %+v; want an empty last page", p)
		}
	})
}

// TestAuditRetention: entries older than the retention are dropped when the
// next one is written; with miniredis's clock moved past the retention.
func TestAuditRetention(t *testing.T) {
	b := redistest.Mini(t)
	st := store.New(b.Client, license.BuiltinCatalog(), b.Prefix)
	st.AuditRetention = 30 * 24 * time.Hour
	ctx := context.Background()
	if err := st.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.Mini.SetTime(start)
	if _, _, err := st.CreateTenant(ctx, license.NewTenant{ID: "kept", Name: "Kept", AdminUserPrincipalName: "a@kept.example", AdminDisplayName: "A"}); err != nil {
		t.Fatal(err)
	}
	b.Mini.SetTime(start.Add(29 * 24 * time.Hour))
	if _, err := st.SetAutoClaimEnabled(ctx, "kept", true); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.AuditLog(ctx, "kept", license.AuditQuery{First: 10}); p.TotalCount != 2 {
		t.Fatalf("within the retention: %d entries; want 2", p.TotalCount)
	}
	b.Mini.SetTime(start.Add(31 * 24 * time.Hour))
	if _, err := st.SetAutoClaimEnabled(ctx, "kept", false); err != nil {
		t.Fatal(err)
	}
	p, err := st.AuditLog(ctx, "kept", license.AuditQuery{First: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.TotalCount != 2 || p.Entries[1].Action != "setAutoClaimEnabled" {
		t.Fatalf("after 31 days: %d entries, the oldest %q; want the tenant's creation dropped", p.TotalCount, p.Entries[len(p.Entries)-1].Action)
	}
	// Entries past the retention are not shown, even before a write drops them.
	b.Mini.SetTime(start.Add(62 * 24 * time.Hour))
	if p, _ := st.AuditLog(ctx, "kept", license.AuditQuery{First: 10}); len(p.Entries) != 0 {
		t.Fatalf("62 days on, with no write since: %d entries shown; want none", len(p.Entries))
	}
}

// TestAuditLogReadsABoundedSlice: a filter that matches few entries reads at
// most 2,000 per call and hands back a cursor to go on from.
func TestAuditLogReadsABoundedSlice(t *testing.T) {
	b := redistest.Mini(t)
	st := store.New(b.Client, license.BuiltinCatalog(), b.Prefix)
	ctx := context.Background()
	if err := st.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateTenant(ctx, license.NewTenant{ID: "long", Name: "Long", AdminUserPrincipalName: "a@long.example", AdminDisplayName: "A"}); err != nil {
		t.Fatal(err)
	}
	for i := range 2100 {
		if _, err := st.SetAutoClaimEnabled(ctx, "long", i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	q := license.AuditQuery{First: 5, Action: "createTenant"}
	p, err := st.AuditLog(ctx, "long", q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 0 || !p.HasNextPage || p.EndCursor == "" {
		t.Fatalf("first call: %d entries, more %v, cursor %q; want none yet, more, and a cursor", len(p.Entries), p.HasNextPage, p.EndCursor)
	}
	q.After = p.EndCursor
	if p, err = st.AuditLog(ctx, "long", q); err != nil || len(p.Entries) != 1 || p.HasNextPage {
		t.Fatalf("second call: %+v, %v; want the tenant's creation and the end", p, err)
	}
}

// TestPolicyEventsCarryTheirActor: dashboards see who made each change.
func TestPolicyEventsCarryTheirActor(t *testing.T) {
	sf := newSubscriptionFixture(t, redistest.Mini(t), "actor")
	c := gqltest.DialWS(t, sf.srv.URL+"/graphql", "graphql-transport-ws")
	c.Init(sf.reader)
	// The fixture's admin turned the setting on; "0-0" replays from the start.
	c.Subscribe("1", `subscription { policyEvents(tenantId: "actor", after: "0-0") { kind actor { subject roles } } }`, nil)
	ev := c.NextEvent("policyEvents")
	for ev["kind"] != "AUTO_CLAIM_SETTING_CHANGED" {
		ev = c.NextEvent("policyEvents")
	}
	actor, _ := ev["actor"].(map[string]any)
	if ev["kind"] != "AUTO_CLAIM_SETTING_CHANGED" || actor["subject"] != sf.f.adminID || fmt.Sprint(actor["roles"]) != "[GLOBAL_ADMIN]" {
		t.Fatalf("event %v; want the setting change by %s (GLOBAL_ADMIN)", ev, sf.f.adminID)
	}
}
