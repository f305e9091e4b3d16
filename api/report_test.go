package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// reportFixture is a tenant with a Power Automate policy and claims by
// users whose names look like spreadsheet formulas.
type reportFixture struct {
	ta     *testAPI
	f      *fixture
	policy string
}

func newReportFixture(t *testing.T, b *redistest.Backend, tenant string) *reportFixture {
	t.Helper()
	ta := newTestAPI(t, b)
	f := ta.newFixture(tenant)
	var created struct{ CreateAutoClaimPolicy struct{ ID string } }
	ta.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"tenantId": tenant, "name": "=HYPERLINK(\"http://evil.example\",\"Flows\")", "appId": "POWER_AUTOMATE",
			"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"]}, map[string]any{"productId": f.products["POWERAUTOMATE_ATTENDED_RPA"]}}}}, &created)
	ta.mustDo(f.admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": tenant}, nil)
	app := ta.token("flow", tenant, "APP")
	for _, c := range []struct{ user, name, trigger string }{
		{"alex", "+Alex, \"the\" Wilber", "TRIGGER_PREMIUM_FLOW"},
		{"megan", "-Megan\nBowen", "TURN_ON_PREMIUM_FLOW_ATTENDED_RPA"},
		{"lee", "@Lee Gu", "SAVE_PREMIUM_FLOW"},
	} {
		ta.mustDo(app, `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { outcome } }`, map[string]any{"in": map[string]any{
			"tenantId": tenant, "userId": c.user, "appId": "POWER_AUTOMATE", "trigger": c.trigger,
			"userPrincipalName": c.user + "@" + tenant + ".example", "displayName": strings.ReplaceAll(c.name, "\n", " ")}}, nil)
	}
	return &reportFixture{ta: ta, f: f, policy: created.CreateAutoClaimPolicy.ID}
}

type reportRow struct {
	UserID    string
	ClaimedAt string
	ProductID string
	Trigger   string
	User      *struct{ DisplayName string }
}

type reportQuery struct {
	Tenant struct {
		AutoClaimReport struct {
			Policies []struct {
				PolicyName   string
				Deleted      bool
				Policy       struct{ ID string }
				Claims       int
				ClaimedUsers struct {
					TotalCount int
					Nodes      []reportRow
				}
			}
		}
	}
}

func (rf *reportFixture) report(t *testing.T) reportQuery {
	t.Helper()
	var out reportQuery
	rf.ta.mustDo(rf.f.admin, `query($t: ID!) { tenant(id: $t) { autoClaimReport(days: 7) { policies { policyName deleted policy { id } claims
		claimedUsers(first: 50) { totalCount nodes { userId claimedAt productId trigger user { displayName } } } } } } }`,
		map[string]any{"t": rf.f.tenantID}, &out)
	return out
}

// TestReportRowsPerClaimAndDeletedPolicies: the report lists one row per
// claim with its product and trigger, and keeps a deleted policy's claims
// under its last name.
func TestReportRowsPerClaimAndDeletedPolicies(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		rf := newReportFixture(t, b, "rows")
		// Alex's license goes and he claims again: two rows for him.
		rf.ta.mustDo(rf.f.admin, `mutation($u: ID!, $p: ID!) { removeLicense(userId: $u, productId: $p) { id } }`,
			map[string]any{"u": "alex", "p": rf.f.products["FLOW_PER_USER"]}, nil)
		rf.ta.mustDo(rf.ta.token("flow", "rows", "APP"), `mutation { claimLicense(input: {tenantId: "rows", userId: "alex", appId: "POWER_AUTOMATE", trigger: SAVE_PREMIUM_FLOW}) { outcome } }`, nil, nil)

		rep := rf.report(t).Tenant.AutoClaimReport
		if len(rep.Policies) != 1 {
			t.Fatalf("%d policies reported; want 1", len(rep.Policies))
		}
		p := rep.Policies[0]
		var got []string
		for _, r := range p.ClaimedUsers.Nodes {
			got = append(got, r.UserID+" "+r.ProductID+" "+r.Trigger)
		}
		want := []string{
			"alex " + rf.f.products["FLOW_PER_USER"] + " SAVE_PREMIUM_FLOW",
			"lee " + rf.f.products["FLOW_PER_USER"] + " SAVE_PREMIUM_FLOW",
			"megan " + rf.f.products["POWERAUTOMATE_ATTENDED_RPA"] + " TURN_ON_PREMIUM_FLOW_ATTENDED_RPA",
			"alex " + rf.f.products["FLOW_PER_USER"] + " TRIGGER_PREMIUM_FLOW",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") || p.Claims != 4 || p.ClaimedUsers.TotalCount != 4 || p.Deleted {
			t.Fatalf("rows:\n%s\n(claims %d, total %d, deleted %v); want:\n%s", strings.Join(got, "\n"), p.Claims, p.ClaimedUsers.TotalCount, p.Deleted, strings.Join(want, "\n"))
		}

		rf.ta.mustDo(rf.f.admin, `mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: "Last name") { id } }`, map[string]any{"p": rf.policy}, nil)
		rf.ta.mustDo(rf.f.admin, `mutation($p: ID!) { deleteAutoClaimPolicy(policyId: $p) { deletedPolicyId } }`, map[string]any{"p": rf.policy}, nil)
		if r := rf.ta.do(rf.f.admin, `query($p: ID!) { tenant(id: "rows") { policy(id: $p) { id } } }`, map[string]any{"p": rf.policy}); r.Code() != "NOT_FOUND" {
			t.Fatalf("the deleted policy read directly: %q; want NOT_FOUND", r.Code())
		}
		rep = rf.report(t).Tenant.AutoClaimReport
		if len(rep.Policies) != 1 || !rep.Policies[0].Deleted || rep.Policies[0].PolicyName != "Last name" ||
			rep.Policies[0].Claims != 4 || len(rep.Policies[0].ClaimedUsers.Nodes) != 4 {
			t.Fatalf("after deletion: %+v; want the policy's 4 claims under its last name, deleted", rep.Policies)
		}
		if r := rf.ta.do(rf.f.admin, `mutation($p: ID!) { deleteAutoClaimPolicy(policyId: $p) { deletedPolicyId } }`, map[string]any{"p": rf.policy}); r.Code() != "NOT_FOUND" {
			t.Fatalf("deleting it again: %q; want NOT_FOUND", r.Code())
		}
		if r := rf.ta.do(rf.f.admin, `mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: "Back") { id } }`, map[string]any{"p": rf.policy}); r.Code() != "NOT_FOUND" {
			t.Fatalf("renaming it: %q; want NOT_FOUND", r.Code())
		}
	})
}

// getCSV downloads the report's CSV as token's caller.
func getCSV(t *testing.T, h http.Handler, token, query string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/reports/autoclaim.csv?"+query, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestReportCSV: the export parses as RFC 4180, has one row per claim
// matching the GraphQL report, neutralizes formula-looking cells, and is
// refused to callers without the report's roles or of another tenant.
func TestReportCSV(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		rf := newReportFixture(t, b, "csv")
		rec := getCSV(t, rf.ta.handler, rf.ta.token("reader", "csv", "REPORTS_READER"), "tenantId=csv&days=7")
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("GET the CSV: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if !strings.Contains(rec.Body.String(), "\r\n") {
			t.Error("rows don't end with CRLF (RFC 4180)")
		}
		r := csv.NewReader(strings.NewReader(rec.Body.String()))
		r.FieldsPerRecord = 11
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("the CSV doesn't parse: %v\n%s", err, rec.Body)
		}
		header := strings.Join(rows[0], ",")
		if header != "claimed_at,policy_id,policy_name,policy_deleted,user_id,user_principal_name,user_display_name,product_id,product_name,sku_part_number,trigger" {
			t.Fatalf("header %s", header)
		}
		graph := rf.report(t).Tenant.AutoClaimReport.Policies[0]
		if len(rows)-1 != len(graph.ClaimedUsers.Nodes) {
			t.Fatalf("%d rows; the report has %d claims", len(rows)-1, len(graph.ClaimedUsers.Nodes))
		}
		for i, n := range graph.ClaimedUsers.Nodes {
			row := rows[i+1]
			if row[0] != n.ClaimedAt || row[1] != rf.policy || row[4] != n.UserID || row[7] != n.ProductID || row[10] != n.Trigger {
				t.Errorf("row %d = %v; want the report's %+v", i+1, row, n)
			}
			if name := n.User.DisplayName; row[6] != name && row[6] != "'"+name {
				t.Errorf("row %d's display name %q; want %q", i+1, row[6], name)
			}
			for _, cell := range row {
				if cell != "" && strings.ContainsAny(cell[:1], "=+-@") {
					t.Errorf("row %d has a formula-looking cell %q", i+1, cell)
				}
			}
		}
		if rows[1][2] != `'=HYPERLINK("http://evil.example","Flows")` {
			t.Errorf("policy name cell %q; want it neutralized with a quote", rows[1][2])
		}

		for name, tc := range map[string]struct {
			token, query string
			want         int
		}{
			"NoToken":      {"", "tenantId=csv", http.StatusUnauthorized},
			"App":          {rf.ta.token("flow", "csv", "APP"), "tenantId=csv", http.StatusForbidden},
			"OtherTenant":  {rf.ta.token("reader", "other", "REPORTS_READER"), "tenantId=csv", http.StatusNotFound},
			"BadDays":      {rf.f.admin, "tenantId=csv&days=5", http.StatusBadRequest},
			"DefaultDays":  {rf.f.admin, "tenantId=csv", http.StatusOK},
			"Operator":     {rf.ta.token("ops", "", "OPERATOR"), "tenantId=csv&days=1", http.StatusOK},
			"NoSuchTenant": {rf.ta.token("ops", "", "OPERATOR"), "tenantId=nowhere", http.StatusNotFound},
		} {
			if rec := getCSV(t, rf.ta.handler, tc.token, tc.query); rec.Code != tc.want {
				t.Errorf("%s: %d %s; want %d", name, rec.Code, rec.Body, tc.want)
			}
		}
	})
}

// TestReportCSVRequests: the export quotes every cell, is not cached, and
// refuses a missing tenant, a days that is not a number and a repeated
// parameter with 400 naming the parameter.
func TestReportCSVRequests(t *testing.T) {
	rf := newReportFixture(t, redistest.Mini(t), "csvreq")
	rec := getCSV(t, rf.ta.handler, rf.f.admin, "tenantId=csvreq&days=7")
	first, _, _ := strings.Cut(rec.Body.String(), "\r\n")
	if want := `"claimed_at","policy_id","policy_name","policy_deleted","user_id","user_principal_name","user_display_name","product_id","product_name","sku_part_number","trigger"`; first != want {
		t.Errorf("header line %s; want every cell quoted: %s", first, want)
	}
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v; want Cache-Control: no-store and X-Content-Type-Options: nosniff", rec.Header())
	}
	for _, c := range []struct{ query, field string }{
		{"days=7", "tenantId"},
		{"tenantId=", "tenantId"},
		{"tenantId=csvreq&days=abc", "days"},
		{"tenantId=csvreq&days=7.0", "days"},
		{"tenantId=csvreq&days=7&days=abc", "days"},
		{"tenantId=csvreq&tenantId=contoso", "tenantId"},
		{"tenantId=csvreq&days=5", "days"},
	} {
		rec := getCSV(t, rf.ta.handler, rf.f.admin, c.query)
		var body struct {
			Errors []struct {
				Message    string
				Extensions struct{ Code, Field string }
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusBadRequest || len(body.Errors) != 1 {
			t.Errorf("%s: %d %s; want 400 with one error", c.query, rec.Code, rec.Body)
			continue
		}
		if e := body.Errors[0]; e.Extensions.Code != "BAD_USER_INPUT" || e.Extensions.Field != c.field || e.Message == "" {
			t.Errorf("%s: error %+v; want BAD_USER_INPUT about %q", c.query, e, c.field)
		}
	}
}

// TestReportCSVCutShort: a read that fails once the file has started cuts
// the connection, so that the client sees a failed download and not a
// complete-looking short file.
func TestReportCSVCutShort(t *testing.T) {
	b := redistest.Mini(t)
	rf := newReportFixture(t, b, "csvcut")
	ta, f := rf.ta, rf.f
	ta.mustDo(ta.operator(), `mutation { setTenantPolicyLimit(tenantId: "csvcut", limit: 2) { id } }`, nil, nil)
	ta.mustPolicy(f, "POWER_APPS", f.products["POWERAPPS_PER_USER"])
	ta.mustDo(ta.token("apps", "csvcut", "APP"), `mutation { claimLicense(input: {tenantId: "csvcut", userId: "nestor", appId: "POWER_APPS", trigger: LAUNCH_PREMIUM_APP}) { outcome } }`, nil, nil)
	fail := &failNthPipeline{n: 2} // the second policy's directory read
	b.Client.AddHook(fail)
	srv := httptest.NewServer(ta.handler)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/reports/autoclaim.csv?tenantId=csvcut&days=7", nil)
	req.Header.Set("Authorization", "Bearer "+f.admin)
	resp, err := srv.Client().Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatalf("the download ended cleanly though a page could not be read (%d pipelines seen)", fail.seen.Load())
	}
	if fail.seen.Load() < 2 {
		t.Fatalf("the export read %d pages before failing; want the failure after the first", fail.seen.Load())
	}
}

// failNthPipeline fails the nth pipeline of HGETs (a directory read) a
// client sends.
type failNthPipeline struct {
	n    int64
	seen atomic.Int64
}

func (f *failNthPipeline) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failNthPipeline) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (f *failNthPipeline) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) == 0 || cmds[0].Name() != "hget" {
			return next(ctx, cmds)
		}
		if f.seen.Add(1) == f.n {
			return errors.New("injected failure")
		}
		return next(ctx, cmds)
	}
}

// TestReportCSVNeutralizesFullWidthAndSeparators: a name that a
// spreadsheet could split on ";" or read with a full-width "=" is neutralized.
func TestReportCSVNeutralizesFullWidthAndSeparators(t *testing.T) {
	rf := newReportFixture(t, redistest.Mini(t), "formula")
	for _, name := range []string{"Flows;=1+1", "＝1+1"} {
		rf.ta.mustDo(rf.f.admin, `mutation($p: ID!, $n: String!) { renameAutoClaimPolicy(policyId: $p, name: $n) { id } }`,
			map[string]any{"p": rf.policy, "n": name}, nil)
		rows, err := csv.NewReader(getCSV(t, rf.ta.handler, rf.f.admin, "tenantId=formula&days=7").Body).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %v %v", name, rows, err)
		}
		if rows[1][2] != "'"+name {
			t.Errorf("policy name cell %q; want %q", rows[1][2], "'"+name)
		}
	}
}
