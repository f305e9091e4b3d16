package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/autoclaim/autoclaim/internal/gqltest"
)

// requestOfAPI is what the tests read of a license request through the API.
type requestOfAPI struct {
	ID, UserID, Status string
	Outcome, Message   *string
	License            *struct{ Product struct{ ID string } }
}

// TestConsoleRequests drives approval on Contoso's preconfigured policy: a
// Global admin turns on Require approval and Give back superseded licenses
// in the policy's Settings; claims made through the API wait on the
// Requests screen, counted on its navigation entry; an approval shows the
// license it gave, a denial its message (a message too long is refused at
// its field), and approving a request someone decided meanwhile says so and
// shows it as it is; a Reports reader sees the list without the buttons;
// the screen fits a phone; the live feed names each step, and the license
// a claim gave back.
func TestConsoleRequests(t *testing.T) {
	env, base := consoleServer(t)
	api, admin, app, reader := env["AUTOCLAIM_URL"], env["ADMIN_TOKEN"], env["APP_TOKEN"], env["READER_TOKEN"]
	const policyID = "contoso:policy:1"
	claim := func(user, trigger, want string) {
		t.Helper()
		var r struct{ ClaimLicense struct{ Outcome string } }
		gqltest.MustPost(t, api, app, `mutation($in: ClaimLicenseInput!) { claimLicense(input: $in) { outcome } }`,
			map[string]any{"in": map[string]any{"tenantId": "contoso", "userId": user, "appId": "POWER_AUTOMATE", "trigger": trigger}}, &r)
		if r.ClaimLicense.Outcome != want {
			t.Fatalf("claim for %s: %s; want %s", user, r.ClaimLicense.Outcome, want)
		}
	}
	requests := func() map[string]requestOfAPI {
		t.Helper()
		var got struct {
			Tenant struct {
				LicenseRequests struct{ Nodes []requestOfAPI }
			}
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "contoso") { licenseRequests(first: 50) { nodes { id userId status outcome message license { product { id } } } } } }`, nil, &got)
		out := map[string]requestOfAPI{}
		for _, r := range got.Tenant.LicenseRequests.Nodes {
			out[r.UserID] = r
		}
		return out
	}
	licensesOf := func(user string) []string {
		t.Helper()
		var got struct {
			Tenant struct {
				User struct {
					Licenses []struct{ Product struct{ ID string } }
				}
			}
		}
		gqltest.MustPost(t, api, admin, `query($u: ID!) { tenant(id: "contoso") { user(id: $u) { licenses { product { id } } } } }`, map[string]any{"u": user}, &got)
		var out []string
		for _, l := range got.Tenant.User.Licenses {
			out = append(out, l.Product.ID)
		}
		return out
	}

	browser := newBrowser(t)
	shots := screenshotDir(t)
	tb := newTab(t, browser, base, shots, "requests")
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.visit("/#token="+admin, `[data-signed-in-as="adele"]`)
	// Two more tabs watch the live feeds from now on.
	claimsFeed := newTab(t, browser, base, shots, "requests-live-claims")
	claimsFeed.do(chromedp.EmulateViewport(1280, 800))
	claimsFeed.visit("/#token="+admin, `[data-signed-in-as="adele"]`)
	claimsFeed.route("#/live", `[data-live-status=live]`)
	changesFeed := newTab(t, browser, base, shots, "requests-live-changes")
	changesFeed.do(chromedp.EmulateViewport(1280, 800))
	changesFeed.visit("/#token="+admin, `[data-signed-in-as="adele"]`)
	changesFeed.route("#/live/changes", `[data-live-status=live]`)
	row := func(user string) string { return `tr[data-request-id][data-user="` + user + `"]` }
	text := func(tb *tab, sel string) string {
		tb.t.Helper()
		return strings.Join(strings.Fields(eval[string](tb, `document.querySelector('`+sel+`').textContent`)), " ")
	}

	t.Run("Settings", func(t *testing.T) {
		tb := tb.at(t)
		settings := `[data-form=settings]`
		tb.route("#/policies/"+policyID, settings)
		for _, key := range []string{"approvalRequired", "releaseSupersededLicenses"} {
			hint := text(tb, settings+` [data-field=`+key+`] .hint`)
			if hint == "" {
				t.Errorf("the %s switch has no help text", key)
			}
			tb.click(settings + ` input[name=` + key + `]`)
		}
		eval[chromedp.Void](tb, `document.querySelector("[data-field=approvalRequired]").scrollIntoView()`)
		paneFits(tb, "the settings")
		tb.shot("requests-01-settings")
		tb.click(settings + ` button[type=submit]`)
		saved(tb)
		var got struct {
			Tenant struct {
				Policy struct {
					Version                                     int
					ApprovalRequired, ReleaseSupersededLicenses bool
				}
			}
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "contoso") { policy(id: "contoso:policy:1") { version approvalRequired releaseSupersededLicenses } } }`, nil, &got)
		if p := got.Tenant.Policy; p.Version != 2 || !p.ApprovalRequired || !p.ReleaseSupersededLicenses {
			t.Fatalf("the API has the policy at %+v; want version 2, approval and give-back on", p)
		}
		tb.do(chromedp.KeyEvent("\x1b"))
		tb.waitJS(`!document.querySelector(".pane")`)
	})

	// Four users claim: each claim makes a request.
	for _, u := range []string{"alex", "megan", "lee", "diego"} {
		claim(u, "TRIGGER_PREMIUM_FLOW", "PENDING_APPROVAL")
	}

	t.Run("Pending", func(t *testing.T) {
		tb := tb.at(t)
		tb.click(`.sidenav [data-nav=requests]`)
		tb.waitJS(`document.querySelectorAll("[data-requests] tbody tr[data-request-id]").length === 4`)
		users := eval[[]string](tb, `[...document.querySelectorAll("[data-requests] tbody tr[data-request-id]")].map(r => r.dataset.user + " " + r.dataset.status)`)
		if !slices.Equal(users, []string{"alex PENDING", "megan PENDING", "lee PENDING", "diego PENDING"}) {
			t.Errorf("the list shows %q; want the four requests pending, oldest first", users)
		}
		tb.waitJS(`document.querySelector('.sidenav [data-nav=requests] [data-pending-count="4"]')`)
		if got := eval[string](tb, `document.querySelector(".sidenav [data-nav=requests]").textContent`); got != "Requests4, 4 pending" {
			t.Errorf("the navigation entry reads %q; want its pending count, for eyes and for screen readers", got)
		}
		if got := text(tb, row("alex")); !strings.Contains(got, "Alex Wilber") || !strings.Contains(got, "Power Automate") ||
			!strings.Contains(got, "Triggered a premium cloud flow") || !strings.Contains(got, "Pending") {
			t.Errorf("Alex's row reads %q; want who, the app, what they did and the status", got)
		}
		// When: relative, and the date and time on hover.
		if got := eval[[]string](tb, `(t => [t.textContent, t.title, t.dateTime])(document.querySelector('`+row("alex")+` [data-label=Requested] time'))`); got[0] == "" || got[1] == "" || got[2] == "" {
			t.Errorf("the time requested reads %q; want a relative time, the date and time as its title, and its datetime", got)
		}
		tb.shot("requests-02-pending")
	})

	t.Run("Approve", func(t *testing.T) {
		tb := tb.at(t)
		tb.click(row("alex") + ` [data-approve]`)
		tb.waitJS(`document.querySelector('` + row("alex") + `[data-status=APPROVED] [data-outcome=CLAIMED]')`)
		if got := text(tb, row("alex")+` [data-request-status]`); !strings.Contains(got, "Approved") || !strings.Contains(got, "Claimed Power Automate per user plan") ||
			!strings.Contains(got, "adele (you)") {
			t.Errorf("after approving, Alex's status reads %q; want Approved, the license claimed, and who decided", got)
		}
		// Focus is on what the approval led to.
		tb.waitJS(`document.activeElement.hasAttribute("data-result") && document.activeElement.closest("tr").dataset.user === "alex"`)
		tb.waitJS(`document.querySelector('.sidenav [data-nav=requests] [data-pending-count="3"]')`)
		if got := licensesOf("alex"); !slices.Equal(got, []string{"contoso:product:2"}) {
			t.Errorf("after the approval Alex holds %v; want the per user plan", got)
		}
		tb.shot("requests-03-approved")
	})

	const reason = "Per user plans are for the finance team this quarter."
	t.Run("MessageTooLong", func(t *testing.T) {
		tb := tb.at(t)
		tb.click(row("megan") + ` [data-deny]`)
		tb.waitJS(`document.activeElement.matches("[data-form=deny] input[type=text]")`)
		tb.fill(`[data-form=deny] input`, strings.Repeat("x", 501))
		tb.click(`[data-form=deny] button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-form=deny] [data-error-for="message"]')`)
		if got := text(tb, `[data-form=deny] [data-error-for="message"]`); !strings.Contains(got, "at most 500 characters") {
			t.Errorf("at the message: %q; want the limit", got)
		}
		tb.shot("requests-04-message-too-long")
		if got := requests()["megan"]; got.Status != "PENDING" {
			t.Fatalf("Megan's request is %s after a refused denial; want PENDING", got.Status)
		}
		// The server refuses it too, naming the field: the form's mapping
		// puts its message there.
		id := requests()["megan"].ID
		want := fieldErrors(t, api, admin, `mutation($r: ID!, $m: String) { denyLicenseRequest(requestId: $r, message: $m) { id } }`,
			map[string]any{"r": id, "m": strings.Repeat("x", 501)})["message"]
		placed := eval[string](tb, `Promise.all([import("./js/lib/api.js"), import("./js/lib/queries.js"), import("./js/screens/requests.js")]).then(([api, q, s]) =>
			api.gql(q.DENY_REQUEST, { r: "`+id+`", m: "x".repeat(501) }).then(() => "accepted",
				(err) => api.placeErrors(err, { fieldFor: s.denyField }).fields.message || "not at the field"))`)
		if want == "" || placed != want {
			t.Errorf("the server's refusal, placed by the form: %q; want %q at the message", placed, want)
		}
	})

	t.Run("Deny", func(t *testing.T) {
		tb := tb.at(t)
		tb.fill(`[data-form=deny] input`, reason)
		tb.click(`[data-form=deny] button[type=submit]`)
		tb.waitJS(`document.querySelector('` + row("megan") + `[data-status=DENIED] [data-message]') && !document.querySelector("[data-form=deny]")`)
		if got := text(tb, row("megan")+` [data-request-status]`); !strings.Contains(got, "Denied") || !strings.Contains(got, reason) {
			t.Errorf("after denying, Megan's status reads %q; want Denied with the message", got)
		}
		tb.waitJS(`document.activeElement.hasAttribute("data-result") && document.activeElement.closest("tr").dataset.user === "megan"`)
		got := requests()["megan"]
		if got.Status != "DENIED" || got.Message == nil || *got.Message != reason {
			t.Fatalf("the API has Megan's request %s with message %v; want DENIED with %q", got.Status, got.Message, reason)
		}
		tb.shot("requests-05-denied")
	})

	t.Run("Conflict", func(t *testing.T) {
		tb := tb.at(t)
		// Another admin denies Lee's request while the page shows it pending.
		gqltest.MustPost(t, api, admin, `mutation($r: ID!) { denyLicenseRequest(requestId: $r) { id } }`, map[string]any{"r": requests()["lee"].ID}, nil)
		tb.click(row("lee") + ` [data-approve]`)
		tb.waitJS(`document.querySelector('[data-request-conflict]') && document.querySelector('` + row("lee") + `[data-status=DENIED]')`)
		if got := text(tb, `[data-request-conflict]`); !strings.Contains(got, "This request was denied already") || !strings.Contains(got, "Nothing changed") {
			t.Errorf("the conflict reads %q; want that it was denied already and nothing changed", got)
		}
		if n := eval[int](tb, `document.querySelectorAll('`+row("lee")+` [data-approve], `+row("lee")+` [data-deny]').length`); n != 0 {
			t.Errorf("Lee's row, denied now, still has %d buttons", n)
		}
		tb.waitJS(`document.activeElement.hasAttribute("data-request-conflict")`)
		if got := licensesOf("lee"); len(got) != 0 {
			t.Errorf("after the refused approval Lee holds %v; want nothing", got)
		}
		tb.shot("requests-06-conflict")
		tb.click(`[data-request-conflict] [data-dismiss]`)
		tb.waitJS(`!document.querySelector("[data-request-conflict]")`)
	})

	t.Run("Filter", func(t *testing.T) {
		tb := tb.at(t)
		tb.choose(`[data-filters] select`, "DENIED")
		tb.waitJS(`location.hash === "#/requests?status=DENIED" && document.querySelector('[data-requests-total="2"]') &&
			document.querySelectorAll("[data-requests] tbody tr[data-request-id]").length === 2`)
		users := eval[[]string](tb, `[...document.querySelectorAll("[data-requests] tbody tr[data-request-id]")].map(r => r.dataset.user)`)
		if !slices.Equal(users, []string{"megan", "lee"}) {
			t.Errorf("the denied requests are %q; want Megan's and Lee's", users)
		}
		tb.choose(`[data-filters] select`, "ALL")
		tb.waitJS(`document.querySelector('[data-requests-total="4"]') && document.querySelectorAll("[data-requests] tbody tr[data-request-id]").length === 4`)
		tb.shot("requests-07-all")
		tb.choose(`[data-filters] select`, "PENDING")
		tb.waitJS(`document.querySelector('[data-requests-total="1"]') && document.querySelector('` + row("diego") + `[data-status=PENDING]')`)
	})

	t.Run("ReadOnly", func(t *testing.T) {
		rt := newTab(t, browser, base, shots, "requests-reader")
		rt.do(chromedp.EmulateViewport(1280, 800))
		rt.visit("/#token="+reader, `[data-signed-in-as="reports-reader"]`)
		rt.click(`.sidenav [data-nav=requests]`)
		rt.waitJS(`document.querySelector('` + row("diego") + `[data-status=PENDING]') && document.querySelector('.sidenav [data-pending-count="1"]')`)
		controls := eval[[]string](rt, `[...document.querySelectorAll("main button, main input, main select, main textarea, main a.btn")].filter(el =>
			!el.closest("[data-filters]")).map(el => el.outerHTML.slice(0, 120))`)
		if len(controls) > 0 {
			t.Errorf("a Reports reader sees controls on the requests: %v", controls)
		}
		rt.choose(`[data-filters] select`, "EXPIRED")
		rt.waitJS(`document.querySelector('[data-requests-total="0"]') && document.querySelector(".empty")`)
		if got := text(rt, `.empty`); !strings.Contains(got, "No expired requests") {
			t.Errorf("no expired request reads %q; want it said", got)
		}
		rt.shot("requests-08-reader-none-expired")
		rt.choose(`[data-filters] select`, "ALL")
		rt.waitJS(`document.querySelectorAll("[data-requests] tbody tr[data-request-id]").length === 4`)
		if n := eval[int](rt, `document.querySelectorAll("[data-approve], [data-deny], [data-form=deny]").length`); n != 0 {
			t.Errorf("a Reports reader sees %d approve or deny controls", n)
		}
		rt.shot("requests-09-reader")
	})

	t.Run("Phone", func(t *testing.T) {
		tb := tb.at(t)
		tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		tb.route("#/requests", row("diego")+`[data-status=PENDING] [data-approve]`)
		tb.noHorizontalScroll("the pending requests")
		tb.shot("requests-10-phone-pending")
		tb.click(row("diego") + ` [data-deny]`)
		tb.waitJS(`document.activeElement.matches("[data-form=deny] input[type=text]")`)
		tb.noHorizontalScroll("the denial's form")
		tb.shot("requests-11-phone-deny")
		// Escape closes the form; focus goes back to its button.
		tb.do(chromedp.KeyEvent("\x1b"))
		tb.waitJS(`!document.querySelector("[data-form=deny]") && document.activeElement.hasAttribute("data-deny")`)
		tb.route("#/requests?status=ALL", `[data-requests-total="4"]`)
		tb.waitJS(`document.querySelectorAll("[data-requests] tbody tr[data-request-id]").length === 4`)
		tb.noHorizontalScroll("all requests")
		tb.shot("requests-12-phone-all")
		tb.do(chromedp.EmulateViewport(1280, 800))
	})

	t.Run("LiveFeed", func(t *testing.T) {
		tb := claimsFeed.at(t)
		tb.waitJS(`document.querySelector('[data-live-feed] [data-user="alex"][data-outcome="CLAIMED"]')`)
		asked := eval[[]string](tb, `[...document.querySelectorAll('[data-live-feed] [data-outcome="PENDING_APPROVAL"]')].map(r => r.dataset.user + ": " + r.querySelector(".badge").textContent)`)
		if !slices.Equal(asked, []string{"diego: Asked for approval", "lee: Asked for approval", "megan: Asked for approval", "alex: Asked for approval"}) {
			t.Errorf("the claims that made requests read %q; want each asking for approval, newest first", asked)
		}
		if got := text(tb, `[data-live-feed] [data-user="alex"][data-outcome="CLAIMED"] .feed-title`); !strings.Contains(got, "after an admin approved the request") {
			t.Errorf("Alex's approved claim reads %q; want it marked as approved", got)
		}
		tb.shot("requests-13-live-claims")

		tb = changesFeed.at(t)
		decisions := `[...document.querySelectorAll('[data-changes-feed] [data-kind^="LICENSE_REQUEST_"] .feed-title')].map(e => e.textContent.trim().split(/\s+/).join(" "))`
		tb.waitJS(decisions + `.length === 3`)
		want := []string{
			"Request denied Lee Gu's license request under Power Automate",
			"Request denied Megan Bowen's license request under Power Automate: " + reason,
			"Request approved Alex Wilber's license request under Power Automate: Claimed Power Automate per user plan",
		}
		if got := eval[[]string](tb, decisions); !slices.Equal(got, want) {
			t.Errorf("the decisions read %q; want %q", got, want)
		}
	})

	t.Run("GiveBack", func(t *testing.T) {
		tb := changesFeed.at(t)
		// Approval off, give-back on: Alex, who holds the per user plan
		// through the policy, needs Premium and gives the per user plan back.
		gqltest.MustPost(t, api, admin, `mutation { updateAutoClaimPolicySettings(input: {policyId: "contoso:policy:1", approvalRequired: false}) { id } }`, nil, nil)
		claim("alex", "TRIGGER_PREMIUM_FLOW_ATTENDED_RPA", "CLAIMED")
		if got := licensesOf("alex"); !slices.Equal(got, []string{"contoso:product:3"}) {
			t.Fatalf("after the Premium claim Alex holds %v; want Premium alone", got)
		}
		given := `[data-changes-feed] [data-kind="LICENSE_SUPERSEDED"]`
		tb.waitJS(`document.querySelector('` + given + ` [data-superseded-by="contoso:product:3"]')`)
		want := "License given back Gave back Alex Wilber's Power Automate per user plan: superseded by Power Automate Premium"
		if got := text(tb, given+` .feed-title`); got != want {
			t.Errorf("the license given back reads %q; want %q", got, want)
		}
		if got := text(tb, given+` .feed-sub`); strings.Contains(got, "not recorded") {
			t.Errorf("who gave it back reads %q; want the policy named", got)
		}
		tb.shot("requests-14-live-given-back")
	})
	t.Run("Audit", func(t *testing.T) {
		tb := tb.at(t)
		entry := `[data-audit-log] > li[data-action="approveLicenseRequest"]`
		tb.route("#/audit?action=approveLicenseRequest", entry)
		got := eval[[]string](tb, `[...document.querySelectorAll('`+entry+` [data-change]')].map(r => [...r.cells].map(c => c.textContent.trim().split(/\s+/).join(" ")).join(" | "))`)
		want := []string{"Status | Pending | Approved", "What it led to | — | Claimed", "License alex | — | Power Automate per user plan"}
		if !slices.Equal(got, want) {
			t.Errorf("the approval's audit entry reads %q; want %q", got, want)
		}
		tb.shot("requests-15-audit")
	})

	t.Run("LoadMore", func(t *testing.T) {
		tb := tb.at(t)
		gqltest.MustPost(t, api, admin, `mutation { updateAutoClaimPolicySettings(input: {policyId: "contoso:policy:1", approvalRequired: true}) { id } }`, nil, nil)
		for i := 1; i <= 20; i++ {
			claim(fmt.Sprintf("user-%02d", i), "SAVE_PREMIUM_FLOW", "PENDING_APPROVAL")
		}
		rows := `document.querySelectorAll("[data-requests] tbody tr[data-request-id]")`
		tb.route("#/requests", `[data-requests-total="21"]`)
		tb.waitJS(rows + `.length === 20 && document.querySelector("[data-load-more]")`)
		tb.click(`[data-load-more]`)
		tb.waitJS(rows + `.length === 21 && !document.querySelector("[data-load-more]")`)
		// Focus is on the first request loaded.
		tb.waitJS(`document.activeElement.closest("tr") && document.activeElement.closest("tr").dataset.user === "user-20"`)
	})
}
