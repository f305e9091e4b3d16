package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
)

// flowServer starts a server as consoleServer does, on a miniredis the test
// holds (with the demo tenants and their tokens), so that the test can set
// Redis's clock: the time a claim stamps on the license it gives.
func flowServer(t *testing.T) (env map[string]string, base string, b *redistest.Backend) {
	t.Helper()
	b = redistest.Mini(t)
	secret := "a-console-secret-of-at-least-32-bytes-" + b.Prefix
	env = startServer(t, map[string]string{
		"AUTOCLAIM_REDIS_URL":    "redis://" + b.Addr + "/0",
		"AUTOCLAIM_REDIS_PREFIX": b.Prefix,
		"AUTOCLAIM_JWT_SECRET":   secret,
		"AUTOCLAIM_DEMO":         "1",
	})
	tokens, err := issueDemoTokens([]byte(secret), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		env[tok.name] = tok.token
	}
	return env, strings.TrimSuffix(env["AUTOCLAIM_URL"], "/graphql"), b
}

// paneFits checks that nothing in the side pane is wider than the pane
// (its body hides what sticks out: a table too wide loses its last column).
func paneFits(tb *tab, where string) {
	tb.t.Helper()
	sizes := eval[[]int](tb, `[document.querySelector(".pane-body").scrollWidth, document.querySelector(".pane-body").clientWidth]`)
	if sizes[0] > sizes[1] {
		tb.failShot()
		tb.t.Errorf("%s: %s is wider than the pane: scrollWidth %d > clientWidth %d", tb.name, where, sizes[0], sizes[1])
	}
}

// saved waits until the settings form has saved what it held: it has
// nothing left to undo (the policy the page holds is the one it asked for),
// and says so.
func saved(tb *tab) {
	tb.t.Helper()
	tb.waitJS(`!document.querySelector("[data-form=settings] [data-undo]") && !document.querySelector("[data-form=settings] [data-error-for], [data-settings-conflict]") &&
		document.querySelector(".toast") && document.querySelector(".toast").textContent.includes("Settings saved")`)
}

// flowPolicy is what the tests read of a policy's settings and waitlist.
type flowPolicy struct {
	Name                     string
	Version                  int
	WaitlistEnabled          bool
	ReclaimInactiveAfterDays *int
	Waitlist                 struct {
		Nodes []struct{ UserID string }
	}
}

// TestConsoleFlowBack drives the screens of the flow back of licenses on
// Contoso's preconfigured policy, as its Global admin: the policy's settings
// (a period out of bounds refused at its field, a stale version refused with
// a way to reload), the waitlist (a user taken off it), fills in the live
// feed, a reclaim of a license idle for ten days, a low-license alert and
// its banner, and the report's fills and reclaims; a Reports reader sees
// them without edit controls, and every new screen fits a phone.
func TestConsoleFlowBack(t *testing.T) {
	env, base, redis := flowServer(t)
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
	setQuantity := func(productID string, n int) {
		t.Helper()
		gqltest.MustPost(t, api, admin, `mutation($x: ID!, $n: Int!) { setLicenseQuantity(productId: $x, quantity: $n) { id } }`, map[string]any{"x": productID, "n": n}, nil)
	}
	readPolicy := func() flowPolicy {
		t.Helper()
		var got struct{ Tenant struct{ Policy flowPolicy } }
		gqltest.MustPost(t, api, admin, `query($p: ID!) { tenant(id: "contoso") { policy(id: $p) { name version waitlistEnabled reclaimInactiveAfterDays
			waitlist(first: 50) { nodes { userId } } } } }`, map[string]any{"p": policyID}, &got)
		return got.Tenant.Policy
	}
	checkSettings := func(t *testing.T, want string) {
		t.Helper()
		p := readPolicy()
		days := "off"
		if p.ReclaimInactiveAfterDays != nil {
			days = fmt.Sprint(*p.ReclaimInactiveAfterDays)
		}
		if got := fmt.Sprintf("version %d, waitlist %v, reclaim %s", p.Version, p.WaitlistEnabled, days); got != want {
			t.Fatalf("the API has the policy at %s; want %s", got, want)
		}
	}

	// Alex's license, claimed ten days ago by Redis's clock, is unused since.
	redis.Mini.SetTime(time.Now().Add(-10 * 24 * time.Hour))
	claim("alex", "TRIGGER_PREMIUM_FLOW", "CLAIMED")
	redis.Mini.SetTime(time.Time{})

	browser := newBrowser(t)
	shots := screenshotDir(t)
	tb := newTab(t, browser, base, shots, "flow")
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.visit("/#token="+admin, `[data-signed-in-as="adele"]`)
	settings := `[data-form=settings]`
	days := settings + ` [data-field=reclaimInactiveAfterDays] input`

	t.Run("Settings", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/policies/"+policyID, settings)
		tb.click(settings + ` input[name=waitlistEnabled]`)
		tb.fill(days, "30")
		paneFits(tb, "the settings")
		tb.shot("flow-01-settings")
		tb.click(settings + ` button[type=submit]`)
		saved(tb)
		checkSettings(t, "version 2, waitlist true, reclaim 30")
	})

	t.Run("ReclaimPeriodOutOfBounds", func(t *testing.T) {
		tb := tb.at(t)
		tb.fill(days, "3")
		tb.click(settings + ` button[type=submit]`)
		tb.waitJS(`document.querySelector('` + settings + ` [data-error-for="reclaimInactiveAfterDays"]')`)
		if got := eval[string](tb, `document.querySelector('`+settings+` [data-error-for="reclaimInactiveAfterDays"]').textContent`); !strings.Contains(got, "from 7 to 365") {
			t.Errorf("at the period: %q; want the bounds", got)
		}
		tb.shot("flow-02-settings-period-refused")
		checkSettings(t, "version 2, waitlist true, reclaim 30")
		// The server refuses it too, naming the field: the form's mapping
		// puts its message there.
		want := fieldErrors(t, api, admin, `mutation($in: UpdateAutoClaimPolicySettingsInput!) { updateAutoClaimPolicySettings(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"policyId": policyID, "reclaimInactiveAfterDays": 3}})["input.reclaimInactiveAfterDays"]
		placed := eval[string](tb, `Promise.all([import("./js/lib/api.js"), import("./js/lib/queries.js"), import("./js/screens/policy-settings.js")]).then(([api, q, s]) =>
			api.gql(q.UPDATE_SETTINGS, { in: { policyId: "`+policyID+`", reclaimInactiveAfterDays: 3 } }).then(() => "accepted",
				(err) => api.placeErrors(err, { fieldFor: s.settingsField }).fields.reclaimInactiveAfterDays || "not at the field"))`)
		if want == "" || placed != want {
			t.Errorf("the server's refusal, placed by the form: %q; want %q at reclaimInactiveAfterDays", placed, want)
		}
		checkSettings(t, "version 2, waitlist true, reclaim 30")
	})

	t.Run("StaleVersion", func(t *testing.T) {
		tb := tb.at(t)
		// Another admin renames the policy while the pane is open.
		gqltest.MustPost(t, api, admin, `mutation($p: ID!) { renameAutoClaimPolicy(policyId: $p, name: "Flow makers") { id } }`, map[string]any{"p": policyID}, nil)
		tb.fill(days, "45")
		tb.click(settings + ` button[type=submit]`)
		tb.waitJS(`document.querySelector("[data-settings-conflict]")`)
		if got := eval[string](tb, `document.querySelector("[data-settings-conflict]").textContent`); !strings.Contains(got, "Nothing was saved") || !strings.Contains(got, "Reload") {
			t.Errorf("the conflict reads %q; want that nothing was saved, and a way to reload", got)
		}
		// Its way out takes focus.
		tb.waitJS(`document.activeElement.hasAttribute("data-reload")`)
		tb.shot("flow-03-settings-conflict")
		checkSettings(t, "version 3, waitlist true, reclaim 30")
		// Reload shows the policy as it is; the change made again is saved.
		tb.click(`[data-settings-conflict] [data-reload]`)
		tb.waitJS(`!document.querySelector("[data-settings-conflict]") && document.querySelector(".pane-header h2").textContent === "Flow makers" &&
			document.querySelector('` + days + `').value === "30"`)
		tb.fill(days, "45")
		tb.click(settings + ` button[type=submit]`)
		saved(tb)
		checkSettings(t, "version 4, waitlist true, reclaim 45")
	})

	// No license left: Alex holds the only one of the per user plan.
	setQuantity("contoso:product:2", 1)
	setQuantity("contoso:product:3", 0)
	claim("lee", "SAVE_PREMIUM_FLOW", "QUEUED")
	claim("diego", "TRIGGER_PREMIUM_FLOW", "QUEUED")

	t.Run("Waitlist", func(t *testing.T) {
		tb := tb.at(t)
		tb.click(`.pane-tabs [data-tab=waitlist]`)
		tb.waitJS(`document.querySelector('[data-waiting="diego"]')`)
		rows := eval[[]string](tb, `[...document.querySelectorAll("[data-waiting]")].map(r => r.dataset.position + " " + r.dataset.waiting + " " + r.cells[2].textContent)`)
		if strings.Join(rows, "; ") != "1 lee Saved a premium cloud flow; 2 diego Triggered a premium cloud flow" {
			t.Errorf("the waitlist shows %q; want Lee, then Diego, with what they did", rows)
		}
		paneFits(tb, "the waitlist")
		tb.shot("flow-04-waitlist")
		tb.click(`[data-remove="diego"]`)
		tb.waitJS(`document.activeElement && document.activeElement.closest(".confirm")`)
		tb.shot("flow-05-waitlist-remove")
		tb.click(`.confirm .btn--danger`)
		tb.waitJS(`!document.querySelector('[data-waiting="diego"]') && document.querySelector("[data-waitlist-total]").dataset.waitlistTotal === "1"`)
		// The row is gone; focus is on the list's heading, not lost.
		tb.waitJS(`document.activeElement.id === "waitlist-h"`)
		var left []string
		for _, n := range readPolicy().Waitlist.Nodes {
			left = append(left, n.UserID)
		}
		if !slices.Equal(left, []string{"lee"}) {
			t.Fatalf("after the removal the API's waitlist is %v; want lee alone", left)
		}
	})

	t.Run("ReadOnly", func(t *testing.T) {
		rt := newTab(t, browser, base, shots, "flow-reader")
		rt.do(chromedp.EmulateViewport(1280, 800))
		rt.visit("/#token="+reader, `[data-signed-in-as="reports-reader"]`)
		editControls := `[...document.querySelectorAll("main button, main input, main select, main textarea, main a.btn")].filter(el =>
			!/^(View report|Refresh|Close|Previous|Next|Clear|Try again|Download CSV|Show licenses)/.test(el.textContent.trim() || el.getAttribute("aria-label") || "") &&
			!el.closest("[data-form=dry-run]")).map(el => el.outerHTML.slice(0, 120))`
		check := func(where string) {
			t.Helper()
			if got := eval[[]string](rt, editControls); len(got) > 0 {
				t.Errorf("a Reports reader sees edit controls on %s: %v", where, got)
			}
		}
		rt.route("#/policies/"+policyID, `[data-settings] [data-setting=reclaimInactiveAfterDays]`)
		if got := eval[string](rt, `document.querySelector("[data-settings]").textContent`); !strings.Contains(got, "After 45 days unused") || !strings.Contains(got, "On: users wait") {
			t.Errorf("the reader's settings read %q; want the waitlist on and 45 days", got)
		}
		check("the settings")
		eval[chromedp.Void](rt, `document.querySelector("#sec-settings").scrollIntoView()`)
		rt.shot("flow-06-reader-settings")
		rt.click(`.pane-tabs [data-tab=waitlist]`)
		rt.waitJS(`document.querySelector('[data-waiting="lee"]')`)
		check("the waitlist")
		rt.click(`.pane-tabs [data-tab=reclaim]`)
		rt.fill(`[data-form=dry-run] input`, "7")
		rt.click(`[data-form=dry-run] button[type=submit]`)
		rt.waitJS(`document.querySelector('[data-inactive-total="1"][data-days="7"]') && document.querySelector('[data-inactive-user="alex"]')`)
		check("the reclaim")
		rt.shot("flow-07-reader-reclaim")
		rt.route("#/licenses", `[data-products]`)
		check("the licenses")
	})

	t.Run("LiveFills", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/live", `[data-live-status=live]`)
		claim("megan", "TURN_ON_PREMIUM_FLOW", "QUEUED")
		queued := `[data-live-feed] [data-user="megan"][data-outcome="QUEUED"]`
		tb.waitJS(`document.querySelector('` + queued + `')`)
		if got := eval[string](tb, `document.querySelector('`+queued+` .feed-title').textContent`); !strings.Contains(got, "Waitlisted") || !strings.Contains(got, "waiting for the next one") {
			t.Errorf("a queued claim reads %q; want it waitlisted", got)
		}
		// Two more licenses, while the feed is away: they go to Lee and
		// Megan, in order, and the feed shows both fills when it is back.
		tb.route("#/live/changes", `[data-live-status=live]`)
		setQuantity("contoso:product:2", 3)
		tb.waitJS(`document.querySelector('[data-changes-feed] [data-kind="LICENSE_QUANTITY_CHANGED"]')`)
		tb.click(`.tabs [data-tab=claims]`)
		fills := `[...document.querySelectorAll("[data-live-feed] [data-fill]")]`
		tb.waitJS(fills + `.length === 2`)
		if got := eval[[]string](tb, fills+`.map(r => r.dataset.user + ": " + r.querySelector(".badge").textContent)`); !slices.Equal(got, []string{"megan: Filled from the waitlist", "lee: Filled from the waitlist"}) {
			t.Errorf("the fills read %q; want Megan's, then (older) Lee's, labelled as waitlist fills", got)
		}
		tb.shot("flow-08-live-fills")
		if left := readPolicy().Waitlist.Nodes; len(left) != 0 {
			t.Errorf("after the fills %d users still wait; want none", len(left))
		}
	})

	t.Run("Reclaim", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/policies/"+policyID+"/reclaim", `[data-inactive-total]`)
		// The policy's period (45 days) finds nothing: Alex's license is ten days idle.
		if got := eval[string](tb, `document.querySelector("[data-inactive-total]").dataset.inactiveTotal + " " + document.querySelector("[data-form=dry-run] input").value`); got != "0 45" {
			t.Errorf("the dry run shows %q; want 0 licenses for the policy's 45 days", got)
		}
		tb.fill(`[data-form=dry-run] input`, "7")
		tb.click(`[data-form=dry-run] button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-inactive-total="1"][data-days="7"]') && document.querySelector('[data-inactive-user="alex"] [data-last-used]')`)
		lastUsed := eval[string](tb, `document.querySelector('[data-inactive-user="alex"] [data-last-used]').getAttribute("datetime")`)
		if at, err := time.Parse(time.RFC3339, lastUsed); err != nil || time.Since(at) < 9*24*time.Hour {
			t.Errorf("Alex's license was last used at %q; want ten days ago", lastUsed)
		}
		paneFits(tb, "the dry run")
		tb.shot("flow-09-reclaim-dry-run")
		tb.click(`[data-reclaim-button]`)
		tb.waitJS(`document.activeElement && document.activeElement.closest(".confirm")`)
		if got := eval[string](tb, `document.activeElement.textContent`); got != "Reclaim 1 license" {
			t.Errorf("the confirmation's button reads %q; want Reclaim 1 license", got)
		}
		tb.click(`.confirm .btn--danger`)
		tb.waitJS(`document.querySelector('[data-reclaimed="1"]') && document.querySelector('[data-inactive-total="0"]')`)
		tb.waitJS(`document.activeElement.hasAttribute("data-reclaimed")`)
		tb.shot("flow-10-reclaimed")
		var got struct {
			Tenant struct {
				User    struct{ Licenses []struct{ Source string } }
				Product struct{ AssignedLicenses int }
			}
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "contoso") { user(id: "alex") { licenses { source } } product(id: "contoso:product:2") { assignedLicenses } } }`, nil, &got)
		if len(got.Tenant.User.Licenses) != 0 || got.Tenant.Product.AssignedLicenses != 2 {
			t.Fatalf("after the reclaim: Alex holds %v, the plan has %d assigned; want none, and 2 (Lee's and Megan's)", got.Tenant.User.Licenses, got.Tenant.Product.AssignedLicenses)
		}
	})

	t.Run("RunningLow", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/licenses", `[data-products]`)
		row := `tr[data-product-id="contoso:product:2"]`
		tb.click(row + ` [data-set=threshold]`)
		tb.fill(`[data-form=threshold] input`, "-1")
		tb.click(`[data-form=threshold] button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-form=threshold] [data-error-for="threshold"]')`)
		tb.fill(`[data-form=threshold] input`, "1")
		tb.shot("flow-11-licenses-alert")
		tb.click(`[data-form=threshold] button[type=submit]`)
		// One of three left: at the alert, so running low.
		tb.waitJS(`document.querySelector('` + row + `[data-running-low] [data-low-badge]') && document.querySelector('` + row + ` [data-threshold="1"]')`)
		var got struct {
			Tenant struct {
				Product            struct{ LowLicenseThreshold int }
				ProductsRunningLow []struct{ ID string }
			}
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "contoso") { product(id: "contoso:product:2") { lowLicenseThreshold } productsRunningLow { id } } }`, nil, &got)
		if got.Tenant.Product.LowLicenseThreshold != 1 || len(got.Tenant.ProductsRunningLow) != 1 || got.Tenant.ProductsRunningLow[0].ID != "contoso:product:2" {
			t.Fatalf("the API: %+v; want the threshold 1 and the per user plan running low", got.Tenant)
		}
		tb.shot("flow-12-licenses-running-low")
		tb.route("#/policies", `[data-running-low] [data-low-product="contoso:product:2"]`)
		if n := eval[int](tb, `document.querySelectorAll("[data-running-low] [data-low-product]").length`); n != 1 {
			t.Errorf("the banner lists %d products; want 1", n)
		}
		tb.shot("flow-13-policies-running-low")
	})

	t.Run("LiveAdminChanges", func(t *testing.T) {
		tb := tb.at(t)
		// Back on the feed, the changes made since it was left arrive.
		tb.route("#/live/changes", `[data-changes-feed] [data-kind="LICENSE_RECLAIMED"]`)
		tb.waitJS(`document.querySelector('[data-changes-feed] [data-kind="LOW_LICENSE_THRESHOLD_CHANGED"]')`)
		// Above the alert, then down to none left: an alert.
		setQuantity("contoso:product:2", 4)
		setQuantity("contoso:product:2", 2)
		tb.waitJS(`document.querySelector('[data-changes-feed] [data-kind="LOW_LICENSES"]')`)
		text := func(kind string) string {
			return eval[string](tb, `document.querySelector('[data-changes-feed] [data-kind="`+kind+`"] .feed-title').textContent`)
		}
		for kind, want := range map[string]string{
			"LICENSE_RECLAIMED":             "License reclaimed Power Automate per user plan reclaimed from alex, unused",
			"LOW_LICENSE_THRESHOLD_CHANGED": "Low-license threshold Power Automate per user plan runs low at 1 available",
			"LOW_LICENSES":                  "Running low Power Automate per user plan is running low: 0 available, the alert is at 1",
		} {
			if got := strings.Join(strings.Fields(text(kind)), " "); got != want {
				t.Errorf("%s reads %q; want %q", kind, got, want)
			}
		}
		tb.shot("flow-14-live-admin-changes")
	})

	t.Run("Report", func(t *testing.T) {
		tb := tb.at(t)
		card := `[data-report-policy="` + policyID + `"]`
		tb.route("#/report?days=30", card+` [data-reclaimed-chart] rect[data-reclaimed]`)
		var want struct {
			Tenant struct {
				AutoClaimReport struct {
					Policies []struct {
						Claims, WaitlistFills, Reclaimed int
						Daily                            []struct{ WaitlistFills, Reclaimed int }
					}
				}
			}
		}
		gqltest.MustPost(t, api, reader, `{ tenant(id: "contoso") { autoClaimReport(days: 30) { policies { claims waitlistFills reclaimed daily { waitlistFills reclaimed } } } } }`, nil, &want)
		w := want.Tenant.AutoClaimReport.Policies[0]
		if w.WaitlistFills != 2 || w.Reclaimed != 1 || w.Claims != 3 {
			t.Fatalf("the API's report: %d claims, %d fills, %d reclaimed; want 3, 2 and 1", w.Claims, w.WaitlistFills, w.Reclaimed)
		}
		today := w.Daily[len(w.Daily)-1]
		got := eval[[]int](tb, `(() => { const c = document.querySelector('`+card+`'); return [
			+c.querySelector("[data-policy-fills]").dataset.policyFills, +c.querySelector("[data-policy-reclaimed]").dataset.policyReclaimed,
			+[...c.querySelectorAll("rect[data-waitlist-fills]")].pop().dataset.waitlistFills,
			+[...c.querySelectorAll("[data-reclaimed-chart] rect[data-reclaimed]")].pop().dataset.reclaimed,
			+document.querySelector("[data-report-fills]").dataset.reportFills, +document.querySelector("[data-report-reclaimed]").dataset.reportReclaimed,
		]; })()`)
		if wantGot := []int{w.WaitlistFills, w.Reclaimed, today.WaitlistFills, today.Reclaimed, w.WaitlistFills, w.Reclaimed}; !slices.Equal(got, wantGot) {
			t.Errorf("the report shows fills, reclaimed, today's fills and reclaimed, and the totals as %v; the API says %v", got, wantGot)
		}
		if legend := eval[string](tb, `document.querySelector('`+card+` [data-chart-legend]').textContent`); !strings.Contains(legend, "Given to users waiting") {
			t.Errorf("the chart's legend reads %q; want the waitlist fills named", legend)
		}
		tb.shot("flow-15-report")
	})

	t.Run("Phone", func(t *testing.T) {
		tb := tb.at(t)
		// Someone waits again, for the waitlist's picture.
		claim("diego", "TRIGGER_PREMIUM_FLOW", "QUEUED")
		tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		for _, s := range []struct{ hash, ready, name string }{
			{"#/policies", `[data-running-low]`, "flow-20-phone-policies"},
			{"#/policies/" + policyID, settings, "flow-21-phone-settings"},
			{"#/policies/" + policyID + "/waitlist", `[data-waiting="diego"]`, "flow-22-phone-waitlist"},
			{"#/policies/" + policyID + "/reclaim", `[data-inactive-total]`, "flow-23-phone-reclaim"},
			{"#/licenses", `[data-products] [data-low-badge]`, "flow-24-phone-licenses"},
			{"#/report?days=30", `[data-reclaimed-chart] rect`, "flow-25-phone-report"},
			{"#/live", `[data-live-feed] [data-fill]`, "flow-26-phone-live"},
		} {
			tb.route(s.hash, s.ready)
			tb.noHorizontalScroll(s.hash)
			if strings.HasPrefix(s.hash, "#/policies/") {
				paneFits(tb, s.hash)
			}
			// The pane's settings are below its first screen.
			eval[chromedp.Void](tb, `document.querySelector("#sec-settings") && document.querySelector("#sec-settings").scrollIntoView()`)
			tb.shot(s.name)
		}
		tb.do(chromedp.EmulateViewport(1280, 800))
	})
}
