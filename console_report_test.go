package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/autoclaim/autoclaim/internal/gqltest"
)

// reportOfAPI is the report as the API answers it, with what the console shows.
type reportOfAPI struct {
	TotalClaims int
	Denials     []denialCount
	Policies    []struct {
		PolicyName string
		Deleted    bool
		Policy     struct{ ID string }
		Claims     int
		Denials    []denialCount
		Daily      []struct {
			Date           string
			Claims, Denied int
		}
		ClaimedUsers struct {
			TotalCount int
			Nodes      []claimRow
		}
	}
}

type denialCount struct {
	Reason string
	Count  int
}

type claimRow struct {
	UserID    string
	ClaimedAt string
	ProductID string
	Product   struct{ DisplayName, SkuPartNumber string }
	Trigger   string
	User      struct{ DisplayName, UserPrincipalName string }
}

const reportQuery = `query($days: Int!) { tenant(id: "contoso") { autoClaimReport(days: $days) { totalClaims denials { reason count }
	policies { policyName deleted policy { id } claims denials { reason count } daily { date claims denied }
		claimedUsers(first: 500) { totalCount nodes { userId claimedAt productId product { displayName skuPartNumber } trigger
			user { displayName userPrincipalName } } } } } } }`

// contosoReport reads Contoso's report of the past days from the API.
func contosoReport(t *testing.T, api, token string, days int) reportOfAPI {
	t.Helper()
	var got struct {
		Tenant struct{ AutoClaimReport reportOfAPI }
	}
	gqltest.MustPost(t, api, token, reportQuery, map[string]any{"days": days}, &got)
	return got.Tenant.AutoClaimReport
}

// csvRows are the rows the CSV export should have for a report: its
// policies in order, each one's claims newest first.
func csvRows(r reportOfAPI) [][]string {
	var out [][]string
	for _, p := range r.Policies {
		for _, n := range p.ClaimedUsers.Nodes {
			out = append(out, []string{n.ClaimedAt, p.Policy.ID, p.PolicyName, strconv.FormatBool(p.Deleted), n.UserID,
				n.User.UserPrincipalName, n.User.DisplayName, n.ProductID, n.Product.DisplayName, n.Product.SkuPartNumber, n.Trigger})
		}
	}
	return out
}

// consoleReport is the report as the console shows it.
type consoleReport struct {
	Total, Denied int
	Denials       []denialCount
	Policies      []struct {
		ID, Name, Badge string
		Deleted         bool
		Claims, Denied  int
		DeniedToday     int
		Denials         []struct {
			Reason string
			Count  int
			Text   string
		}
		Rows []struct {
			UserID, ProductID, Trigger, ClaimedAt string
			Product, TriggerText                  string
		}
	}
}

const readConsoleReport = `(() => ({
	total: +document.querySelector("[data-report-total]").dataset.reportTotal,
	denied: +document.querySelector("[data-report-denied]").dataset.reportDenied,
	denials: [...document.querySelectorAll("[data-report-denials] [data-reason]")].map(d => ({ reason: d.dataset.reason, count: +d.dataset.count })),
	policies: [...document.querySelectorAll("[data-report-policy]")].map(c => ({
		id: c.dataset.reportPolicy,
		deleted: c.dataset.deleted === "true",
		name: c.querySelector("[data-policy-name]").textContent,
		badge: (c.querySelector(".card-title .badge") || {}).textContent || "",
		claims: +c.querySelector("[data-policy-claims]").dataset.policyClaims,
		denied: +c.querySelector("[data-policy-denied]").dataset.policyDenied,
		deniedToday: +([...c.querySelectorAll("[data-denied-chart] rect[data-denied]")].pop() || { dataset: { denied: -1 } }).dataset.denied,
		denials: [...c.querySelectorAll("[data-policy-denials] tr[data-reason]")].map(r => ({ reason: r.dataset.reason, count: +r.dataset.count, text: r.cells[0].textContent })),
		rows: [...c.querySelectorAll("[data-claim]")].map(r => ({
			userId: r.dataset.userId, productId: r.dataset.productId, trigger: r.dataset.trigger, claimedAt: r.dataset.claimedAt,
			product: r.querySelector("[data-cell=product]").textContent, triggerText: r.querySelector("[data-cell=trigger]").textContent,
		})),
	})),
}))()`

// TestConsoleReportDepth: on Contoso's demo data, claims and denials made
// here, and its preconfigured policy renamed and deleted, the report shows
// the deleted policy under its last name, each policy's denials per reason
// and per day, and every claim with its product and trigger — as the API
// answers them.
func TestConsoleReportDepth(t *testing.T) {
	env, base := consoleServer(t)
	api, admin, app, reader := env["AUTOCLAIM_URL"], env["ADMIN_TOKEN"], env["APP_TOKEN"], env["READER_TOKEN"]
	claim := func(user, appID, trigger, want string) {
		t.Helper()
		var r struct {
			ClaimLicense struct{ Outcome, Reason string }
		}
		gqltest.MustPost(t, api, app, `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { outcome reason } }`,
			map[string]any{"in": map[string]any{"tenantId": "contoso", "userId": user, "appId": appID, "trigger": trigger}}, &r)
		if got := r.ClaimLicense.Outcome + " " + r.ClaimLicense.Reason; got != want {
			t.Fatalf("claim for %s on %s: %s; want %s", user, trigger, got, want)
		}
	}
	mutate := func(query string) {
		t.Helper()
		gqltest.MustPost(t, api, admin, query, nil, nil)
	}
	claim("alex", "POWER_AUTOMATE", "TRIGGER_PREMIUM_FLOW", "CLAIMED ")
	claim("megan", "POWER_AUTOMATE", "TURN_ON_PREMIUM_FLOW_ATTENDED_RPA", "CLAIMED ")
	mutate(`mutation { setAutoClaimPolicyEnabled(policyId: "contoso:policy:1", enabled: false) { id } }`)
	claim("lee", "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW", "DENIED POLICY_DISABLED")
	claim("lee", "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW", "DENIED POLICY_DISABLED")
	mutate(`mutation { setAutoClaimPolicyEnabled(policyId: "contoso:policy:1", enabled: true) { id } }`)
	claim("diego", "POWER_APPS", "LAUNCH_PREMIUM_APP", "DENIED NO_POLICY")
	mutate(`mutation { renameAutoClaimPolicy(policyId: "contoso:policy:1", name: "Flow makers (old)") { id } }`)
	mutate(`mutation { deleteAutoClaimPolicy(policyId: "contoso:policy:1") { deletedPolicyId } }`)
	mutate(`mutation { createAutoClaimPolicy(input: {tenantId: "contoso", name: "Flow makers", appId: "POWER_AUTOMATE",
		products: [{productId: "contoso:product:2"}]}) { id } }`)
	claim("diego", "POWER_AUTOMATE", "SAVE_PREMIUM_FLOW", "CLAIMED ")
	claim("lee", "POWER_AUTOMATE", "TURN_ON_PREMIUM_FLOW_ATTENDED_RPA", "DENIED TRIGGER_NOT_ELIGIBLE")

	want := contosoReport(t, api, reader, 90)
	// What the API says, first: the console is compared with it below.
	if want.TotalClaims != 3 || len(want.Policies) != 2 || want.Policies[0].Policy.ID != "contoso:policy:2" ||
		!want.Policies[1].Deleted || want.Policies[1].PolicyName != "Flow makers (old)" {
		t.Fatalf("the API's report: %+v; want 3 claims, policy 2 and the deleted policy 1 under its last name", want)
	}
	if got := fmt.Sprint(want.Denials); got != "[{NO_POLICY 1} {POLICY_DISABLED 2} {TRIGGER_NOT_ELIGIBLE 1}]" {
		t.Fatalf("the API's denials: %s", got)
	}

	tb := newTab(t, newBrowser(t), base, screenshotDir(t), "report")
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.visit("/#token="+reader, `[data-signed-in-as="reports-reader"]`)
	tb.route("#/report", `[data-report-policy="contoso:policy:1"][data-deleted=true] [data-claim]`)
	got := eval[consoleReport](tb, readConsoleReport)

	if got.Total != want.TotalClaims || got.Denied != 4 || fmt.Sprint(got.Denials) != fmt.Sprint(want.Denials) {
		t.Errorf("the summary shows %d claims, %d turned away %v; the API says %d, %v", got.Total, got.Denied, got.Denials, want.TotalClaims, want.Denials)
	}
	if len(got.Policies) != len(want.Policies) {
		t.Fatalf("the report shows %d policies; the API has %d", len(got.Policies), len(want.Policies))
	}
	for i, w := range want.Policies {
		g := got.Policies[i]
		if g.ID != w.Policy.ID || g.Name != w.PolicyName || g.Deleted != w.Deleted || g.Claims != w.Claims {
			t.Errorf("policy %d shows %s %q deleted=%v with %d claims; want %s %q deleted=%v with %d", i, g.ID, g.Name, g.Deleted, g.Claims, w.Policy.ID, w.PolicyName, w.Deleted, w.Claims)
		}
		if w.Deleted != (g.Badge == "Deleted") {
			t.Errorf("policy %s has the badge %q; want Deleted only on a deleted policy", g.ID, g.Badge)
		}
		denied := 0
		for j, d := range w.Denials {
			denied += d.Count
			if j >= len(g.Denials) || g.Denials[j].Reason != d.Reason || g.Denials[j].Count != d.Count {
				t.Errorf("policy %s shows denials %+v; want %+v", g.ID, g.Denials, w.Denials)
				break
			}
		}
		if len(g.Denials) != len(w.Denials) || g.Denied != denied {
			t.Errorf("policy %s shows %d reasons, %d turned away; want %d, %d", g.ID, len(g.Denials), g.Denied, len(w.Denials), denied)
		}
		if today := w.Daily[len(w.Daily)-1]; g.DeniedToday != today.Denied {
			t.Errorf("policy %s: today's bar of claims turned away shows %d; the API says %d", g.ID, g.DeniedToday, today.Denied)
		}
		if len(g.Rows) != len(w.ClaimedUsers.Nodes) {
			t.Errorf("policy %s shows %d claims; want %d", g.ID, len(g.Rows), len(w.ClaimedUsers.Nodes))
			continue
		}
		for j, n := range w.ClaimedUsers.Nodes {
			r := g.Rows[j]
			if r.UserID != n.UserID || r.ProductID != n.ProductID || r.Product != n.Product.DisplayName || r.Trigger != n.Trigger || r.ClaimedAt != n.ClaimedAt {
				t.Errorf("policy %s, claim %d shows %+v; want %+v", g.ID, j, r, n)
			}
		}
	}
	// The deleted policy's claims, newest first, with their products and
	// triggers in words.
	old := got.Policies[1]
	if len(old.Rows) == 2 && (old.Rows[0].UserID != "megan" || old.Rows[0].Product != "Power Automate Premium" ||
		old.Rows[0].TriggerText != "Turned on a premium cloud flow with attended RPA" ||
		old.Rows[1].UserID != "alex" || old.Rows[1].Product != "Power Automate per user plan" || old.Rows[1].TriggerText != "Triggered a premium cloud flow") {
		t.Errorf("the deleted policy's claims read %+v; want Megan's on Premium (attended RPA), then Alex's on the per user plan (a premium flow)", old.Rows)
	}
	if len(old.Denials) == 1 && old.Denials[0].Text != "The policy is off" {
		t.Errorf("the deleted policy's denial reads %q; want The policy is off", old.Denials[0].Text)
	}
	tb.shot("84-report-depth")

	t.Run("DownloadCSV", func(t *testing.T) {
		tb := tb.at(t)
		ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
		defer cancel()
		dir := t.TempDir()
		begins, progress := chromedp.Events(ctx, browser.DownloadWillBegin), chromedp.Events(ctx, browser.DownloadProgress)
		if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID,
			DownloadPath: dir, EventsEnabled: new(true),
		}); err != nil {
			t.Fatal(err)
		}
		// What the page hands the browser to save: the blob's text.
		eval[chromedp.Void](tb, `void (window.savedCSV = new Promise(resolve => {
			const create = URL.createObjectURL;
			URL.createObjectURL = blob => { blob.text().then(resolve); return create.call(URL, blob); };
		}))`)
		tb.click(`[data-download-csv]`)
		saved := eval[string](tb, `window.savedCSV`)

		// The browser saves it as a file, under the server's name for it.
		var name, guid string
		for ev, err := range begins {
			if err != nil {
				t.Fatalf("waiting for the download: %v", err)
			}
			name, guid = ev.SuggestedFilename, ev.GUID
			break
		}
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("waiting for the download to end: %v", err)
			}
			if ev.GUID == guid && ev.State == browser.DownloadProgressStateCompleted {
				break
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatalf("the download was canceled")
			}
		}
		if name != "autoclaim-contoso-90d.csv" {
			t.Errorf("the download is named %q; want autoclaim-contoso-90d.csv", name)
		}
		file, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			t.Fatal(err)
		}
		if string(file) != saved {
			t.Errorf("the saved file differs from the blob the page made:\n%s\n%s", file, saved)
		}
		tb.waitJS(`document.querySelector(".toast") && document.querySelector(".toast").textContent.includes("autoclaim-contoso-90d.csv")`)
		tb.shot("86-report-csv-downloaded")

		// The server's export, byte for byte.
		req, _ := http.NewRequest(http.MethodGet, base+"/reports/autoclaim.csv?tenantId=contoso&days=90", nil)
		req.Header.Set("Authorization", "Bearer "+reader)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		direct, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(direct) != saved {
			t.Errorf("the page saved:\n%s\nthe server exports:\n%s", saved, direct)
		}

		// One row per claim of the report, policy by policy, as the API has them.
		rows, err := csv.NewReader(strings.NewReader(saved)).ReadAll()
		if err != nil {
			t.Fatalf("the CSV: %v\n%s", err, saved)
		}
		header := "claimed_at,policy_id,policy_name,policy_deleted,user_id,user_principal_name,user_display_name,product_id,product_name,sku_part_number,trigger"
		if len(rows) == 0 || strings.Join(rows[0], ",") != header {
			t.Fatalf("the CSV's header: %v; want %s", rows[:min(1, len(rows))], header)
		}
		want := csvRows(contosoReport(t, api, reader, 90))
		if len(rows)-1 != len(want) {
			t.Fatalf("the CSV has %d claims; the report has %d:\n%s", len(rows)-1, len(want), saved)
		}
		for i, w := range want {
			g := rows[i+1]
			gt, err1 := time.Parse(time.RFC3339Nano, g[0])
			wt, err2 := time.Parse(time.RFC3339Nano, w[0])
			if err1 != nil || err2 != nil || !gt.Equal(wt) || strings.Join(g[1:], ",") != strings.Join(w[1:], ",") {
				t.Errorf("CSV row %d: %q; want %q", i+1, g, w)
			}
		}
	})

	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	tb.route("#/report?days=7", `[data-report-policy="contoso:policy:1"] [data-claim]`)
	tb.waitJS(`document.querySelectorAll('[data-report-policy="contoso:policy:1"] rect[data-claims]').length === 7`)
	tb.noHorizontalScroll("the report")
	tb.shot("85-phone-report-depth")
}
