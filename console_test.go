package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/chromedp/chromedp"
)

// consoleServer starts a server as `go run .` does and returns its exports
// and base URL.
func consoleServer(t *testing.T) (map[string]string, string) {
	t.Helper()
	env := startServer(t, map[string]string{})
	return env, strings.TrimSuffix(env["AUTOCLAIM_URL"], "/graphql")
}

// TestConsoleAdminFlow drives the console as Fabrikam's Global admin, through
// the reference document's steps: sign in with #token=, turn the setting on,
// create a policy with a backup product in the wizard, reorder, change apps
// and services, see an API error at its field, watch a claim arrive live and
// in the report's chart, manage licenses; then the same screens at a phone's
// width.
func TestConsoleAdminFlow(t *testing.T) {
	env, base := consoleServer(t)
	api, admin := env["AUTOCLAIM_URL"], env["FABRIKAM_ADMIN_TOKEN"]
	tb := newTab(t, newBrowser(t), base, screenshotDir(t), "admin")
	tb.do(chromedp.EmulateViewport(1280, 800))

	// Sign in with the token in the fragment: the page keeps it in
	// sessionStorage and takes it out of the address bar at once.
	tb.visit("/#token="+admin, `[data-signed-in-as="fiona"]`)
	if loc := eval[string](tb, `location.href`); strings.Contains(loc, "token") || strings.Contains(loc, admin) {
		t.Fatalf("after sign-in the address is %q; want the token gone", loc)
	}
	if got := eval[string](tb, `sessionStorage.getItem("autoclaim.token")`); got != admin {
		t.Fatalf("sessionStorage holds %q; want the token", got)
	}
	tb.waitJS(`document.querySelector("[data-org-setting=off]")`)
	tb.waitJS(`document.querySelector(".empty")`)
	tb.shot("01-policies-setting-off")

	t.Run("TurnOnSetting", func(t *testing.T) {
		tb := tb.at(t)
		tb.click(`[data-org-setting=off] button`)
		tb.waitJS(`document.querySelector("[data-org-setting=on] [role=switch]:checked")`)
		var got struct {
			Tenant struct{ AutoClaimEnabled bool }
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "fabrikam") { autoClaimEnabled } }`, nil, &got)
		if !got.Tenant.AutoClaimEnabled {
			t.Fatal("the console turned the setting on, but the API says it is off")
		}
		tb.shot("02-policies-setting-on")
	})

	var policyID string
	t.Run("CreateWizardWithBackup", func(t *testing.T) {
		tb := tb.at(t)
		tb.click(`a[href="#/policies/new"]`)
		tb.do(chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)), chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Power Automate for makers"))
		tb.shot("03-wizard-name")
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.choose(`select[name=app]`, "POWER_AUTOMATE")
		// Only products that serve the app are offered.
		offered := eval[[]string](tb, `[...document.querySelectorAll("select[name=product] option")].map(o => o.value).filter(Boolean)`)
		if strings.Join(offered, ",") != "fabrikam:product:2,fabrikam:product:3" {
			t.Fatalf("products offered for Power Automate: %v; want products 2 and 3 only", offered)
		}
		tb.choose(`select[name=product]`, "fabrikam:product:2")
		tb.click(`[data-add-backup]`)
		tb.choose(`select[name=backup1]`, "fabrikam:product:3")
		tb.shot("04-wizard-products")
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.waitJS(`document.querySelector("fieldset[data-field=plans1]")`)
		// The app's own plan is locked on; leave Exchange Foundation off the backup.
		if n := eval[int](tb, `document.querySelectorAll("fieldset[data-field=plans0] input:disabled:checked").length`); n != 1 {
			t.Errorf("the primary product has %d locked plans; want 1 (the plan Power Automate needs)", n)
		}
		tb.click(`fieldset[data-field=plans1] input[value="113feb6c-3fe4-4440-bddc-54d774bf0318"]`)
		tb.shot("05-wizard-plans")
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.waitJS(`document.querySelector("[data-review=name]")`)
		tb.shot("06-wizard-review")
		tb.click(`.pane-footer .btn--primary`) // Create policy
		tb.waitJS(`document.querySelector("[data-created]")`)
		policyID = eval[string](tb, `document.querySelector("[data-created]").dataset.created`)
		tb.shot("07-wizard-created")

		var got struct {
			Tenant struct {
				Policy struct {
					Name     string
					Status   string
					Products []struct {
						Product              struct{ ID string }
						DisabledServicePlans []struct{ Name string }
					}
				}
			}
		}
		gqltest.MustPost(t, api, admin, `query($p: ID!) { tenant(id: "fabrikam") { policy(id: $p) { name status products { product { id } disabledServicePlans { name } } } } }`,
			map[string]any{"p": policyID}, &got)
		p := got.Tenant.Policy
		if p.Name != "Power Automate for makers" || p.Status != "ON" || len(p.Products) != 2 ||
			p.Products[0].Product.ID != "fabrikam:product:2" || p.Products[1].Product.ID != "fabrikam:product:3" {
			t.Fatalf("created policy %+v; want it on, product 2 then backup 3", p)
		}
		if len(p.Products[1].DisabledServicePlans) != 1 || p.Products[1].DisabledServicePlans[0].Name != "EXCHANGE_S_FOUNDATION" {
			t.Fatalf("the backup leaves off %+v; want EXCHANGE_S_FOUNDATION", p.Products[1].DisabledServicePlans)
		}
		tb.click(`.pane-footer .btn--primary`) // Open the policy
		tb.waitJS(`document.querySelector("[data-product-order]")`)
		tb.waitJS(`document.querySelector("[data-policy-list] [data-policy-id]")`)
	})
	if policyID == "" {
		t.Fatal("no policy was created")
	}

	t.Run("Reorder", func(t *testing.T) {
		tb := tb.at(t)
		order := `[...document.querySelectorAll("[data-product-order] > li")].map(li => li.dataset.orderProduct).join(",")`
		tb.click(`[data-order-product="fabrikam:product:3"] [data-move=UP]`)
		tb.waitJS(order + ` === "fabrikam:product:3,fabrikam:product:2"`)
		// Focus stays on the product that moved.
		if got := eval[string](tb, `document.activeElement.closest("li") && document.activeElement.closest("li").dataset.orderProduct`); got != "fabrikam:product:3" {
			t.Errorf("after moving up, focus is on %q; want the moved product's row", got)
		}
		var got struct {
			Tenant struct {
				Policy struct {
					Products []struct{ Product struct{ ID string } }
				}
			}
		}
		gqltest.MustPost(t, api, admin, `query($p: ID!) { tenant(id: "fabrikam") { policy(id: $p) { products { product { id } } } } }`, map[string]any{"p": policyID}, &got)
		if ps := got.Tenant.Policy.Products; len(ps) != 2 || ps[0].Product.ID != "fabrikam:product:3" {
			t.Fatalf("after move up the API has %+v; want product 3 first", ps)
		}
		tb.shot("08-details-reordered")
	})

	t.Run("AppsAndServices", func(t *testing.T) {
		tb := tb.at(t)
		// All products: turn off Common Data Service (DYN365_CDS_P2 in product 2).
		tb.choose(`[data-form=plans] select`, "")
		tb.click(`[data-form=plans] input[value="6ea4c1ef-c259-46df-bce2-943342cd3cb2"]`)
		tb.shot("09-details-plans-edit")
		tb.click(`[data-form=plans] button[type=submit]`)
		tb.waitJS(`document.querySelector(".toast") && document.querySelector(".toast").textContent.includes("Apps and services saved")`)
		var got struct {
			Tenant struct {
				Policy struct {
					Products []struct {
						Product              struct{ ID string }
						DisabledServicePlans []struct{ ID string }
					}
				}
			}
		}
		gqltest.MustPost(t, api, admin, `query($p: ID!) { tenant(id: "fabrikam") { policy(id: $p) { products { product { id } disabledServicePlans { id } } } } }`, map[string]any{"p": policyID}, &got)
		for _, pp := range got.Tenant.Policy.Products {
			if pp.Product.ID == "fabrikam:product:2" && (len(pp.DisabledServicePlans) != 1 || pp.DisabledServicePlans[0].ID != "6ea4c1ef-c259-46df-bce2-943342cd3cb2") {
				t.Fatalf("product 2 leaves off %+v; want Common Data Service only", pp.DisabledServicePlans)
			}
		}
	})

	t.Run("APIErrorAtItsField", func(t *testing.T) {
		tb := tb.at(t)
		// The rename form has one field: the server's BAD_USER_INPUT is shown there.
		tb.click(`.inline-value button`)
		tb.fill(`[data-form=rename] input`, strings.Repeat("n", 101))
		tb.click(`[data-form=rename] button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-error-for="name"]')`)
		msg := eval[string](tb, `document.querySelector('[data-error-for="name"]').textContent`)
		if !strings.Contains(msg, "at most 100") {
			t.Errorf("the error at the name field reads %q; want the server's message", msg)
		}
		tb.shot("10-details-field-error")
		tb.click(`[data-form=rename] button[type=button]`) // Cancel
		// With extensions.field, errors go to the field it names.
		placed := eval[map[string]any](tb, `Promise.all([import("./js/lib/api.js"), import("./js/screens/wizard.js")]).then(([api, wiz]) =>
			api.placeErrors(new api.ApiError([
				{ message: "Choose another backup.", extensions: { code: "BAD_USER_INPUT", field: "input.products[1].productId" } },
				{ message: "Too long.", extensions: { code: "BAD_USER_INPUT", field: "input.name" } },
				{ message: "Policy limit reached.", extensions: { code: "CONFLICT" } },
			]), { fieldFor: wiz.fieldFor }))`)
		want := `map[fields:map[backup1:Choose another backup. name:Too long.] form:[Policy limit reached.]]`
		if fmt.Sprint(placed) != want {
			t.Errorf("placeErrors = %v; want %s", placed, want)
		}
		tb.do(chromedp.KeyEvent("\x1b")) // Escape closes the pane
		tb.waitJS(`!document.querySelector(".pane")`)
	})

	t.Run("LiveFeedAndReportChart", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/live", `[data-live-status=live]`)
		tb.shot("11-live-waiting")
		claim := func(user string) {
			var r struct{ ClaimLicense struct{ Outcome string } }
			gqltest.MustPost(t, api, admin, `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { outcome } }`,
				map[string]any{"in": map[string]any{"tenantId": "fabrikam", "userId": user, "appId": "POWER_AUTOMATE", "trigger": "TRIGGER_PREMIUM_FLOW"}}, &r)
			if r.ClaimLicense.Outcome != "CLAIMED" {
				t.Fatalf("claim for %s: %s; want CLAIMED", user, r.ClaimLicense.Outcome)
			}
		}
		claim("alex")
		tb.waitJS(`document.querySelector('[data-live-feed] [data-user="alex"][data-outcome="CLAIMED"]')`)
		tb.shot("12-live-claim")
		// Away from the feed, a claim happens; back on it, the feed resumes
		// after the last event it showed: the missed claim arrives, none repeats.
		tb.route("#/licenses", `[data-products]`)
		claim("megan")
		tb.route("#/live", `[data-live-feed]`)
		tb.waitJS(`document.querySelector('[data-live-feed] [data-user="megan"]')`)
		if n := eval[int](tb, `document.querySelectorAll('[data-live-feed] [data-user="alex"]').length`); n != 1 {
			t.Errorf("alex's claim shows %d times after resuming; want once", n)
		}

		tb.route("#/report", `[data-report-policy="`+policyID+`"] .chart rect`)
		sel := `[data-report-policy="` + policyID + `"]`
		today := eval[int](tb, `+[...document.querySelectorAll('`+sel+` rect[data-claims]')].pop().dataset.claims`)
		if today != 2 {
			t.Errorf("the chart's bar for today shows %d claims; want 2", today)
		}
		if n := eval[int](tb, `document.querySelectorAll('`+sel+` rect[data-claims]').length`); n != 90 {
			t.Errorf("the 90-day chart has %d bars; want 90", n)
		}
		if n := eval[int](tb, `document.querySelectorAll('`+sel+` [data-claimed-users] tbody tr').length`); n != 2 {
			t.Errorf("the report lists %d claimed users; want 2", n)
		}
		tb.shot("13-report-90-days")
		tb.choose(`[data-field=days] select`, "7")
		tb.waitJS(`document.querySelectorAll('` + sel + ` rect[data-claims]').length === 7`)
		tb.shot("14-report-7-days")
	})

	t.Run("Licenses", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/licenses", `[data-users]`)
		tb.shot("15-licenses")
		// Assign Lee a Power Apps license, then take it back.
		row := `[data-user-id="lee"]`
		tb.choose(row+` [data-form=assign] select`, "fabrikam:product:1")
		tb.click(row + ` [data-form=assign] button[type=submit]`)
		tb.waitJS(`document.querySelector('` + row + ` [data-license="fabrikam:product:1"]')`)
		tb.click(row + ` [data-license="fabrikam:product:1"] .chip-remove`)
		tb.waitJS(`!document.querySelector('` + row + ` [data-license="fabrikam:product:1"]')`)
		// Below the assigned count (the two claims came from the Premium
		// product, first since the reorder), the server's CONFLICT shows at
		// the quantity, the form's one field.
		product := `[data-product-id="fabrikam:product:3"]`
		tb.click(product + ` .actions-cell button`)
		tb.fill(`[data-form=quantity] input`, "1")
		tb.click(`[data-form=quantity] button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-error-for="quantity"]')`)
		tb.shot("16-licenses-quantity-error")
		tb.fill(`[data-form=quantity] input`, "7")
		tb.click(`[data-form=quantity] button[type=submit]`)
		tb.waitJS(`document.querySelector('` + product + ` [data-total]').textContent === "7"`)
	})

	t.Run("LiveAdminChanges", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/live/changes", `[data-live-status=live]`)
		if got := eval[string](tb, `document.querySelector(".tabs [aria-current=page]").dataset.tab`); got != "changes" {
			t.Errorf("the current tab is %q; want changes", got)
		}
		var q struct{ SetLicenseQuantity struct{ TotalLicenses int } }
		gqltest.MustPost(t, api, admin, `mutation { setLicenseQuantity(productId: "fabrikam:product:1", quantity: 30) { totalLicenses } }`, nil, &q)
		row := `[data-changes-feed] [data-kind="LICENSE_QUANTITY_CHANGED"][data-actor="fiona"]`
		tb.waitJS(`document.querySelector('` + row + `')`)
		if got := eval[string](tb, `document.querySelector('`+row+`').textContent`); !strings.Contains(got, "Power Apps per user plan now has 30 licenses") {
			t.Errorf("the change reads %q; want the product's new total", got)
		}
		tb.shot("17-live-admin-changes")
		// The claims tab still has its events.
		tb.click(`.tabs [data-tab=claims]`)
		tb.waitJS(`document.querySelector('[data-live-feed] [data-user="megan"]')`)
	})

	t.Run("AuditLog", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/audit", `[data-audit-log]`)
		// Newest first: the quantity just set, by Fiona.
		first := `document.querySelector("[data-audit-log] > li")`
		if got := eval[[]string](tb, `[`+first+`.dataset.action, `+first+`.querySelector("[data-actor]").dataset.actor]`); got[0] != "setLicenseQuantity" || got[1] != "fiona" {
			t.Errorf("the newest entry is %v; want setLicenseQuantity by fiona", got)
		}
		// The reorder, with the products before and after by name.
		move := `document.querySelector('[data-action="movePolicyProduct"] [data-change="products"]')`
		if got := eval[[]string](tb, `[`+move+`.querySelector("[data-before]").textContent, `+move+`.querySelector("[data-after]").textContent]`); got[0] != "Power Automate per user plan, then Power Automate Premium" ||
			got[1] != "Power Automate Premium, then Power Automate per user plan" {
			t.Errorf("the reorder's entry shows %q; want the products in order, by name", got)
		}
		tb.shot("18-audit-log")

		tb.choose(`[data-filters] select`, "setAutoClaimEnabled")
		tb.waitJS(`location.hash === "#/audit?action=setAutoClaimEnabled" && document.querySelectorAll("[data-audit-log] > li").length === 1 && document.querySelector('[data-audit-log] > li[data-action="setAutoClaimEnabled"]')`)
		setting := `[data-audit-log] [data-change="autoClaimEnabled"]`
		if got := eval[string](tb, `document.querySelector('`+setting+` [data-before]').textContent + " → " + document.querySelector('`+setting+` [data-after]').textContent`); got != "Off → On" {
			t.Errorf("the setting's entry shows %q; want Off → On", got)
		}
		tb.shot("19-audit-log-filtered")
		// A failed change writes nothing: the over-long rename is not there.
		tb.choose(`[data-filters] select`, "renameAutoClaimPolicy")
		tb.waitJS(`document.querySelector(".empty") && document.querySelector(".empty").textContent.includes("No changes match")`)
		// Since tomorrow: nothing; clearing the filters brings all back.
		tomorrow := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
		tb.click(`[data-clear-filters]`)
		tb.waitJS(`location.hash === "#/audit" && document.querySelector("[data-audit-log]")`)
		tb.fill(`[data-filters] input[type=date]`, tomorrow)
		eval[chromedp.Void](tb, `document.querySelector("[data-filters] input[type=date]").dispatchEvent(new Event("change", { bubbles: true }))`)
		tb.waitJS(`location.hash === "#/audit?since=` + tomorrow + `" && document.querySelector(".empty")`)
		tb.click(`[data-clear-filters]`)

		// A page holds 20 entries; the next page goes on from the last.
		for i := range 20 {
			gqltest.MustPost(t, api, admin, `mutation($n: Int!) { setLicenseQuantity(productId: "fabrikam:product:1", quantity: $n) { id } }`, map[string]any{"n": 31 + i}, nil)
		}
		var log struct {
			Tenant struct {
				AuditLog struct {
					TotalCount int
					Nodes      []struct{ ID string }
				}
			}
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "fabrikam") { auditLog(first: 500) { totalCount nodes { id } } } }`, nil, &log)
		all := log.Tenant.AuditLog.Nodes
		tb.click(`[aria-label="Refresh the log"]`)
		ids := `[...document.querySelectorAll("[data-audit-log] > li")].map(li => li.dataset.auditId)`
		tb.waitJS(`document.querySelector("[data-audit-log] > li").dataset.auditId === "` + all[0].ID + `"`)
		if got := eval[[]string](tb, ids); len(got) != 20 || got[19] != all[19].ID {
			t.Fatalf("the first page lists %d entries ending at %v; want the 20 newest", len(got), got[len(got)-1:])
		}
		tb.click(`[data-audit-log] ~ .pager button:last-child`) // Next
		tb.waitJS(`document.querySelector("[data-audit-log] > li").dataset.auditId === "` + all[20].ID + `"`)
		if got := eval[[]string](tb, ids); len(got) != min(20, len(all)-20) {
			t.Errorf("the second page lists %d entries; want %d", len(got), min(20, len(all)-20))
		}
		if got := eval[int](tb, `+document.querySelector("[data-audit-total]").dataset.auditTotal`); got != log.Tenant.AuditLog.TotalCount {
			t.Errorf("the screen says the log keeps %d entries; the API says %d", got, log.Tenant.AuditLog.TotalCount)
		}
	})

	t.Run("Phone", func(t *testing.T) {
		tb := tb.at(t)
		tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		screens := []struct{ hash, ready, name string }{
			{"#/policies", `[data-policy-list]`, "20-phone-policies"},
			{"#/policies/" + policyID, `[data-product-order]`, "21-phone-details"},
			{"#/policies", `[data-policy-list]`, ""},
			{"#/report", `.chart rect`, "23-phone-report"},
			{"#/live", `[data-live-feed]`, "24-phone-live"},
			{"#/licenses", `[data-users]`, "25-phone-licenses"},
			{"#/audit", `[data-audit-log]`, "26-phone-audit"},
			{"#/live/changes", `[data-changes-feed]`, "27-phone-live-changes"},
		}
		for _, s := range screens {
			tb.route(s.hash, s.ready)
			tb.noHorizontalScroll(s.hash)
			if s.name != "" {
				tb.shot(s.name)
			}
		}
		tb.route("#/policies", `[data-policy-list]`)
		// A toast of what happened before goes when a pane opens: it would
		// cover the pane.
		announce := func(msg string) {
			eval[chromedp.Void](tb, `import("./js/components/ui.js").then(m => m.announce(`+fmt.Sprintf("%q", msg)+`))`)
			tb.waitJS(`document.querySelector(".toast")`)
		}
		announce("Auto-claim is turned on for your organization.")
		tb.do(chromedp.Evaluate[chromedp.Void](`location.hash = "#/policies/new"`), chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)))
		if eval[bool](tb, `!!document.querySelector(".toast")`) {
			t.Error("an earlier toast stays over the wizard")
		}
		// One announced while the pane is open covers neither its title nor its buttons.
		announce("A name for the policy is needed.")
		overlap := eval[[]string](tb, `(() => {
			const t = document.querySelector(".toast").getBoundingClientRect();
			return [".pane-header h2", ".pane-footer .btn"].filter(sel => [...document.querySelectorAll(sel)].some(el => {
				const r = el.getBoundingClientRect();
				return r.left < t.right && t.left < r.right && r.top < t.bottom && t.top < r.bottom;
			}));
		})()`)
		if len(overlap) > 0 {
			t.Errorf("on a phone the toast covers %v", overlap)
		}
		tb.noHorizontalScroll("the wizard")
		tb.shot("22-phone-wizard")
		tb.do(chromedp.KeyEvent("\x1b"))
		tb.waitJS(`!document.querySelector(".pane")`)
		tb.do(chromedp.EmulateViewport(1280, 800))
	})

	t.Run("SignOut", func(t *testing.T) {
		tb := tb.at(t)
		tb.click(`.topbar-user button`)
		tb.waitJS(`document.querySelector(".signin textarea")`)
		if got := eval[string](tb, `sessionStorage.getItem("autoclaim.token") || ""`); got != "" {
			t.Fatal("the token is still in sessionStorage after signing out")
		}
	})
}

// TestConsoleSignInWithPastedToken signs in by pasting a token; a bad one is
// answered at the field.
func TestConsoleSignInWithPastedToken(t *testing.T) {
	env, base := consoleServer(t)
	tb := newTab(t, newBrowser(t), base, screenshotDir(t), "paste")
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.visit("/", `.signin textarea`)
	tb.shot("30-sign-in")
	tb.fill(`.signin textarea`, "not-a-token")
	tb.click(`.signin button[type=submit]`)
	tb.waitJS(`document.querySelector('[data-error-for="token"]')`)
	// A well-formed token the server refuses: its message, at the field.
	parts := strings.Split(env["ADMIN_TOKEN"], ".")
	tb.fill(`.signin textarea`, parts[0]+"."+parts[1]+".c2lnbmF0dXJl")
	tb.click(`.signin button[type=submit]`)
	tb.waitJS(`document.querySelector('[data-error-for="token"]') && !document.querySelector('[data-error-for="token"]').textContent.includes("three parts")`)
	tb.shot("31-sign-in-error")
	tb.fill(`.signin textarea`, env["ADMIN_TOKEN"])
	tb.click(`.signin button[type=submit]`)
	tb.waitJS(`document.querySelector('[data-signed-in-as="adele"]')`)
	if got := eval[string](tb, `sessionStorage.getItem("autoclaim.token")`); got != env["ADMIN_TOKEN"] {
		t.Fatal("the pasted token is not the session's")
	}
}

// TestConsoleReadOnlyRoles: a Reports reader sees every screen and no control
// that would change anything.
func TestConsoleReadOnlyRoles(t *testing.T) {
	env, base := consoleServer(t)
	tb := newTab(t, newBrowser(t), base, screenshotDir(t), "reader")
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.visit("/#token="+env["READER_TOKEN"], `[data-signed-in-as="reports-reader"]`)
	editControls := `[...document.querySelectorAll("main button, main input, main select, main textarea, main a.btn")].filter(el =>
		!/^(View report|Refresh|Close|Previous|Next|Clear|Try again|Download CSV)/.test(el.textContent.trim() || el.getAttribute("aria-label") || "") &&
		!el.closest("[data-field=days], [data-filters]")).map(el => el.outerHTML.slice(0, 120))`
	check := func(where string) {
		t.Helper()
		if got := eval[[]string](tb, editControls); len(got) > 0 {
			t.Errorf("a Reports reader sees edit controls on %s: %v", where, got)
		}
	}
	tb.waitJS(`document.querySelector("[data-policy-list]")`)
	check("the policy tab")
	tb.shot("40-reader-policies")
	tb.route("#/policies/contoso:policy:1", `[data-product-order]`)
	check("the details pane")
	tb.shot("41-reader-details")
	tb.do(chromedp.KeyEvent("\x1b"))
	tb.waitJS(`!document.querySelector(".pane")`)
	tb.route("#/licenses", `[data-users]`)
	check("the licenses screen")
	tb.shot("42-reader-licenses")
	tb.route("#/report", `.chart`)
	check("the report")
	tb.route("#/audit", `[data-audit-log]`)
	check("the audit log")
	tb.route("#/live/changes", `[data-live-status=live]`)
	check("the admin changes")
}

// TestGraphiQLOffline loads GraphiQL from the server alone, sends a token
// through its headers editor, and reads the schema in its docs.
func TestGraphiQLOffline(t *testing.T) {
	env, base := consoleServer(t)
	tb := newTab(t, newBrowser(t), base, screenshotDir(t), "graphiql")
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.visit("/graphiql", `.graphiql-container .graphiql-query-editor .CodeMirror`)
	setEditor := func(sel, text string) {
		eval[chromedp.Void](tb, fmt.Sprintf(`document.querySelector(%q).CodeMirror.setValue(%q)`, sel, text))
	}
	const query = `.graphiql-query-editor .CodeMirror`
	const headers = `.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror`
	const result = `document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue()`
	setEditor(query, "{ me { subject roles } }")
	tb.waitJS(`document.querySelector('` + headers + `')`)
	setEditor(headers, fmt.Sprintf(`{"Authorization": "Bearer %s"}`, env["ADMIN_TOKEN"]))
	tb.click(`.graphiql-execute-button`)
	tb.waitJS(result + `.includes('"subject": "adele"')`)
	tb.shot("50-graphiql-query")
	tb.click(`[aria-label="Show Documentation Explorer"]`)
	tb.waitJS(`document.querySelector(".graphiql-doc-explorer") && document.querySelector(".graphiql-doc-explorer").textContent.includes("Mutation")`)
	tb.do(chromedp.Click(chromedp.Search(`//a[contains(@class,"graphiql-doc-explorer-type-name") and text()="Query"]`)))
	tb.waitJS(`document.querySelector(".graphiql-doc-explorer").textContent.includes("autoClaimReport") || document.querySelector(".graphiql-doc-explorer").textContent.includes("tenant")`)
	tb.shot("51-graphiql-docs")
}

// TestRunPrintsConsoleLink: `go run .` prints a sign-in link with the demo
// admin's token, and AUTOCLAIM_CONSOLE=0 turns the console off.
func TestRunPrintsConsoleLink(t *testing.T) {
	t.Run("On", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		out := newSyncBuffer()
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, testArgs, func(string) string { return "" }, out, newSyncBuffer())
		}()
		defer func() { cancel(); <-done }()
		var link, admin string
		for link == "" || admin == "" {
			select {
			case <-out.wrote:
			case err := <-done:
				t.Fatalf("run ended: %v", err)
			}
			sc := bufio.NewScanner(strings.NewReader(out.String()))
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "export ADMIN_TOKEN="); ok {
					admin = v
				}
				if _, v, ok := strings.Cut(sc.Text(), "Sign in to the console as the Contoso admin: "); ok {
					link = v
				}
			}
		}
		if !strings.HasPrefix(link, "http://127.0.0.1:") || !strings.HasSuffix(link, "/#token="+admin) {
			t.Fatalf("printed link %q; want http://<addr>/#token=<ADMIN_TOKEN>", link)
		}
		resp, err := http.Get(strings.TrimSuffix(link, "#token="+admin))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("GET / = %d with CSP %q; want the console", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	})
	t.Run("Off", func(t *testing.T) {
		env := startServer(t, map[string]string{"AUTOCLAIM_CONSOLE": "0"})
		resp, err := http.Get(strings.TrimSuffix(env["AUTOCLAIM_URL"], "/graphql") + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET / with AUTOCLAIM_CONSOLE=0 = %d; want 404", resp.StatusCode)
		}
	})
}

// TestConsoleOperator: an operator's token names no tenant; the console
// asks which tenant to open (or creates one), shows its screens without
// edit controls, and lets the operator set its policy limit.
func TestConsoleOperator(t *testing.T) {
	env, base := consoleServer(t)
	api, operator := env["AUTOCLAIM_URL"], env["OPERATOR_TOKEN"]
	tb := newTab(t, newBrowser(t), base, screenshotDir(t), "operator")
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.visit("/#token="+operator, `[data-tenant-picker]`)
	tb.shot("70-operator-picker")

	tb.fill(`[data-form=open-tenant] input`, "no-such-tenant")
	tb.click(`[data-form=open-tenant] button[type=submit]`)
	tb.waitJS(`document.querySelector('[data-error-for="tenant"]')`)
	tb.fill(`[data-form=open-tenant] input`, "fabrikam")
	tb.click(`[data-form=open-tenant] button[type=submit]`)
	tb.waitJS(`document.querySelector('[data-signed-in-as="operator"]') && document.querySelector("[data-policy-list], .empty")`)
	if got := eval[string](tb, `document.querySelector(".topbar-tenant").textContent`); got != "Fabrikam" {
		t.Errorf("the top bar names %q; want Fabrikam", got)
	}
	if n := eval[int](tb, `document.querySelectorAll('main a[href="#/policies/new"], main [data-org-setting] button, main [data-org-setting] input').length`); n != 0 {
		t.Errorf("an operator sees %d controls of a Global admin", n)
	}

	// The operator's own power: the tenant's policy limit.
	tb.fill(`[data-form=policy-limit] input`, "3")
	tb.click(`[data-form=policy-limit] button[type=submit]`)
	tb.waitJS(`document.querySelector("#limit-note").textContent.includes("of the 3 ")`)
	var got struct{ Tenant struct{ PolicyLimit int } }
	gqltest.MustPost(t, api, operator, `{ tenant(id: "fabrikam") { policyLimit } }`, nil, &got)
	if got.Tenant.PolicyLimit != 3 {
		t.Fatalf("the API says the policy limit is %d; want 3", got.Tenant.PolicyLimit)
	}
	tb.shot("71-operator-tenant")
	tb.route("#/audit", `[data-audit-log] > li[data-action="setTenantPolicyLimit"] [data-actor="operator"]`)
	tb.route("#/licenses", `[data-users]`)
	if n := eval[int](tb, `document.querySelectorAll("main [data-buy], main [data-add-user], main [data-form=assign], main .chip-remove").length`); n != 0 {
		t.Errorf("an operator sees %d license controls of a Global admin", n)
	}

	// Another tenant: create one, and it opens.
	tb.click(`[data-switch-tenant]`)
	tb.waitJS(`document.querySelector("[data-tenant-picker]")`)
	tb.click(`.picker-create summary`)
	tb.fill(`[data-form=create-tenant] [data-field=name] input`, "Tailspin Toys")
	tb.fill(`[data-form=create-tenant] [data-field=id] input`, "tailspin")
	tb.fill(`[data-form=create-tenant] [data-field=adminName] input`, "Tia Lopez")
	tb.fill(`[data-form=create-tenant] [data-field=adminUpn] input`, "tia@tailspin.example")
	tb.shot("72-operator-create-tenant")
	tb.click(`[data-form=create-tenant] button[type=submit]`)
	tb.waitJS(`document.querySelector(".topbar-tenant") && document.querySelector(".topbar-tenant").textContent === "Tailspin Toys"`)
	// A reload keeps the tenant the operator opened.
	tb.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-signed-in-as="operator"]`)))
	if got := eval[string](tb, `document.querySelector(".topbar-tenant").textContent`); got != "Tailspin Toys" {
		t.Errorf("after a reload the top bar names %q; want Tailspin Toys", got)
	}
	tb.click(`[data-sign-out]`)
	tb.waitJS(`document.querySelector(".signin textarea")`)
	if got := eval[string](tb, `(sessionStorage.getItem("autoclaim.token") || "") + (sessionStorage.getItem("autoclaim.tenant") || "")`); got != "" {
		t.Errorf("after signing out sessionStorage still holds %q", got)
	}
}
