package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/oidctest"
)

// orgConsole is a server whose console signs in at a test provider, with
// a new tenant (Northwind, empty) whose Global admin the provider signs in.
type orgConsole struct {
	provider *oidctest.Provider
	env      map[string]string
	base     string
	admin    string // the Global admin's user id: the subject of its tokens
}

// startOrgConsole starts the provider and a server that takes its tokens
// for audience, registers the console (client id "console") with the
// provider as client describes, and creates the Northwind tenant.
func startOrgConsole(t *testing.T, audience string, client oidctest.Client) *orgConsole {
	t.Helper()
	p := oidctest.New(t)
	env := startServer(t, map[string]string{
		"AUTOCLAIM_OIDC_ISSUER":    p.URL,
		"AUTOCLAIM_OIDC_AUDIENCE":  audience,
		"AUTOCLAIM_OIDC_CLIENT_ID": "console",
	})
	base := strings.TrimSuffix(env["AUTOCLAIM_URL"], "/graphql")
	waitReady(t, base)
	client.ID = "console"
	client.RedirectURIs = []string{base + "/"}
	p.Register(client)
	var created struct {
		CreateTenant struct{ Admin struct{ ID string } }
	}
	gqltest.MustPost(t, env["AUTOCLAIM_URL"], env["OPERATOR_TOKEN"], `mutation { createTenant(input: {id: "northwind", name: "Northwind Traders",
		adminUserPrincipalName: "nina@northwind.example", adminDisplayName: "Nina Larsen"}) { admin { id } } }`, nil, &created)
	admin := created.CreateTenant.Admin.ID
	p.SignInAs(jwt.MapClaims{"sub": admin, "tid": "northwind", "roles": []string{"GLOBAL_ADMIN"}, "name": "Nina Larsen"})
	return &orgConsole{provider: p, env: env, base: base, admin: admin}
}

// host is the provider's host:port, which the console's pages may call.
func (o *orgConsole) host() string {
	u, _ := url.Parse(o.provider.URL)
	return u.Host
}

// waitReady waits until the server answers /readyz (its identity
// provider's keys loaded).
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d after 15 s", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond) // the server reads the provider on its own
	}
}

// tokenClaims decodes the payload of the token the tab signed in with.
func tokenClaims(t *testing.T, tb *tab) map[string]any {
	t.Helper()
	tok := eval[string](tb, `sessionStorage.getItem("autoclaim.token") || ""`)
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatalf("the session's token %q: %v", tok, err)
	}
	return c
}

// signInWithOrganization clicks the sign-in page's button and waits until
// the console is signed in as subject.
func signInWithOrganization(tb *tab, subject string) {
	tb.t.Helper()
	tb.click(`[data-sign-in-org]`)
	// The tab goes to the provider and back: wait across the navigations.
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-signed-in-as="` + subject + `"]`)))
	if loc := eval[string](tb, `location.href`); strings.Contains(loc, "code=") || strings.Contains(loc, "state=") {
		tb.t.Errorf("after signing in the address is %q; want the code and state gone", loc)
	}
	if left := eval[string](tb, `sessionStorage.getItem("autoclaim.signin") || ""`); left != "" {
		tb.t.Errorf("the pending sign-in is still in sessionStorage: %s", left)
	}
}

// TestConsoleSignInWithOrganization signs in through the provider's
// authorization-code flow with PKCE, and uses the token the API takes:
// the access token when it is a JWT for the API's audience, else the ID
// token.
func TestConsoleSignInWithOrganization(t *testing.T) {
	browser := newBrowser(t)
	shots := screenshotDir(t)

	t.Run("AccessToken", func(t *testing.T) {
		o := startOrgConsole(t, "api://autoclaim", oidctest.Client{AccessTokenAudience: "api://autoclaim"})
		tb := newTab(t, browser, o.base, shots, "org", o.host())
		tb.do(chromedp.EmulateViewport(1280, 800))
		tb.visit("/#/licenses", `[data-sign-in-org]`)
		tb.shot("60-sign-in-organization")
		signInWithOrganization(tb, o.admin)
		c := tokenClaims(t, tb)
		if c["aud"] != "api://autoclaim" || c["scp"] != "openid profile" || c["tid"] != "northwind" {
			t.Errorf("the console uses a token with %v; want the access token (aud api://autoclaim)", c)
		}
		// Back where the sign-in started.
		tb.waitJS(`document.querySelector("[data-products]") || document.querySelector(".empty")`)
		if got := eval[string](tb, `location.hash`); got != "#/licenses" {
			t.Errorf("after signing in the route is %q; want #/licenses, where the sign-in started", got)
		}
		if got := eval[string](tb, `document.querySelector(".topbar-tenant").textContent`); got != "Northwind Traders" {
			t.Errorf("the top bar names %q; want Northwind Traders", got)
		}
		tb.shot("61-signed-in-organization")

		// The new tenant has no products: buy licenses of one, then add a
		// user and give them a license.
		tb.click(`[data-buy]`)
		if got := eval[[]string](tb, `[...document.querySelectorAll("[data-form=buy] select option")].map(o => o.value)`); len(got) != 3 {
			t.Errorf("the catalog products offered: %v; want all three", got)
		}
		tb.choose(`[data-form=buy] select`, "FLOW_PER_USER")
		tb.fill(`[data-form=buy] input`, "20000000")
		tb.click(`[data-form=buy] button[type=submit]`)
		// The server's BAD_USER_INPUT names input.quantity: it shows at the
		// quantity, and nowhere else.
		tb.waitJS(`document.querySelector('[data-form=buy] [data-field=quantity] [data-error-for="quantity"]')`)
		if n := eval[int](tb, `document.querySelectorAll('[data-form=buy] [data-error-for="sku"], [data-form=buy] [data-form-error]').length`); n != 0 {
			t.Errorf("the quantity's error shows %d more times in the buy form; want it at the quantity only", n)
		}
		tb.shot("63-org-buy-error")
		tb.fill(`[data-form=buy] input`, "12")
		tb.click(`[data-form=buy] button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-products] [data-product-id="northwind:product:1"] [data-total]') &&
			document.querySelector('[data-products] [data-product-id="northwind:product:1"] [data-total]').textContent === "12"`)
		if eval[bool](tb, `!!document.querySelector("[data-form=buy]")`) {
			t.Error("the buy form stays open after buying")
		}
		tb.click(`[data-add-user]`)
		tb.fill(`[data-form=add-user] [data-field=displayName] input`, "Nestor Wilke")
		tb.fill(`[data-form=add-user] [data-field=upn] input`, "nina@northwind.example") // taken: the admin's
		tb.click(`[data-form=add-user] button[type=submit]`)
		// A taken sign-in name is a CONFLICT on input.userPrincipalName: at
		// the sign-in name's field, and nowhere else.
		tb.waitJS(`document.querySelector('[data-form=add-user] [data-field=upn] [data-error-for="upn"]')`)
		if got := eval[string](tb, `document.querySelector('[data-form=add-user] [data-error-for="upn"]').textContent`); !strings.Contains(got, "already used") {
			t.Errorf("the sign-in name's field says %q; want the server's message that it is taken", got)
		}
		if n := eval[int](tb, `document.querySelectorAll('[data-form=add-user] [data-error-for], [data-form=add-user] [data-form-error]').length`); n != 1 {
			t.Errorf("%d errors in the add-user form; want the conflict at the sign-in name only", n)
		}
		tb.fill(`[data-form=add-user] [data-field=upn] input`, "nestor@northwind.example")
		tb.fill(`[data-form=add-user] [data-field=id] input`, "nestor")
		tb.shot("64-org-add-user")
		tb.click(`[data-form=add-user] button[type=submit]`)
		row := `[data-user-id="nestor"]`
		tb.waitJS(`document.querySelector('` + row + ` [data-form=assign] option[value="northwind:product:1"]')`)
		tb.click(row + ` [data-form=assign] button[type=submit]`)
		tb.waitJS(`document.querySelector('` + row + ` [data-license="northwind:product:1"]')`)
		var got struct {
			Tenant struct {
				Products []struct{ SkuPartNumber string }
				User     struct {
					UserPrincipalName string
					Licenses          []struct{ Product struct{ ID string } }
				}
			}
		}
		gqltest.MustPost(t, o.env["AUTOCLAIM_URL"], o.env["OPERATOR_TOKEN"], `{ tenant(id: "northwind") { products { skuPartNumber } user(id: "nestor") { userPrincipalName licenses { product { id } } } } }`, nil, &got)
		if len(got.Tenant.Products) != 1 || got.Tenant.Products[0].SkuPartNumber != "FLOW_PER_USER" ||
			got.Tenant.User.UserPrincipalName != "nestor@northwind.example" || len(got.Tenant.User.Licenses) != 1 {
			t.Fatalf("after the console's changes the API has %+v; want one FLOW_PER_USER pool and Nestor with its license", got.Tenant)
		}

		// The audit log names the signed-in admin as the one who did it.
		tb.route("#/audit", `[data-audit-log]`)
		actions := eval[[]string](tb, `[...document.querySelectorAll('[data-audit-log] > li')].filter(li => li.querySelector("[data-actor]").dataset.actor === "`+o.admin+`").map(li => li.dataset.action)`)
		if strings.Join(actions, ",") != "assignLicense,createUser,addProduct" {
			t.Errorf("the audit log has %v by the signed-in admin; want assignLicense, createUser, addProduct", actions)
		}
		tb.shot("65-org-audit-log")
	})

	t.Run("IDToken", func(t *testing.T) {
		// The provider's access tokens are for its own APIs (opaque here);
		// the API's audience is the console's client id.
		o := startOrgConsole(t, "console", oidctest.Client{})
		tb := newTab(t, browser, o.base, shots, "org-id-token", o.host())
		tb.visit("/", `[data-sign-in-org]`)
		signInWithOrganization(tb, o.admin)
		if c := tokenClaims(t, tb); c["aud"] != "console" || c["nonce"] == nil {
			t.Errorf("the console uses a token with %v; want the ID token (aud console, with its nonce)", c)
		}
		tb.waitJS(`document.querySelector("[data-policy-list]") || document.querySelector(".empty")`)
	})
}

// TestConsoleSignInWithOrganizationRefused: an answer whose state is not
// the tab's, a code bought with another verifier (a code injected from
// another sign-in) and an ID token with another nonce sign no one in; the
// address bar is cleaned all the same.
func TestConsoleSignInWithOrganizationRefused(t *testing.T) {
	o := startOrgConsole(t, "api://autoclaim", oidctest.Client{AccessTokenAudience: "api://autoclaim"})
	o.provider.Hold.Store(true) // each code waits on the provider's page
	tb := newTab(t, newBrowser(t), o.base, screenshotDir(t), "org-refused", o.host())
	// start begins a sign-in in the tab and returns the provider's answer
	// to it (with its code and state), which the tab has not seen.
	start := func(tb *tab) *url.URL {
		tb.t.Helper()
		tb.visit("/", `[data-sign-in-org]`)
		tb.click(`[data-sign-in-org]`)
		tb.do(chromedp.WaitVisible(chromedp.CSS(`#continue`)))
		u, err := url.Parse(o.provider.LastRedirect())
		if err != nil || u.Query().Get("code") == "" {
			tb.t.Fatalf("the provider's answer %q has no code", o.provider.LastRedirect())
		}
		return u
	}
	// answer brings the tab back to the console with code and state, and
	// waits for the refusal.
	answer := func(tb *tab, code, state, want string) {
		tb.t.Helper()
		tb.visit("/?"+url.Values{"code": {code}, "state": {state}}.Encode(), `[data-sign-in-error]`)
		msg := eval[string](tb, `document.querySelector("[data-sign-in-error]").textContent`)
		if !strings.Contains(msg, want) {
			tb.t.Errorf("the sign-in page says %q; want it to say %q", msg, want)
		}
		if loc := eval[string](tb, `location.href`); loc != o.base+"/" {
			tb.t.Errorf("after a refused answer the address is %q; want %s/", loc, o.base)
		}
		if tok := eval[string](tb, `sessionStorage.getItem("autoclaim.token") || ""`); tok != "" {
			tb.t.Errorf("a refused answer left a token in the session: %s", tok)
		}
	}

	first := start(tb)
	second := start(tb)
	t.Run("WrongState", func(t *testing.T) {
		tb := tb.at(t)
		// The second sign-in is pending; the first one's state is not its.
		before := o.provider.TokenRequests.Load()
		answer(tb, second.Query().Get("code"), first.Query().Get("state"), "its state differs")
		if n := o.provider.TokenRequests.Load() - before; n != 0 {
			t.Errorf("the console exchanged a code of an answer with the wrong state (%d token requests)", n)
		}
		tb.shot("62-sign-in-organization-refused")
	})
	t.Run("WrongVerifier", func(t *testing.T) {
		// A third sign-in is pending; the first one's code comes back with
		// its state: the provider refuses it, as its verifier is not the
		// one the code was issued for.
		tb := tb.at(t)
		third := start(tb)
		refused := o.provider.TokenRefusals.Load()
		answer(tb, first.Query().Get("code"), third.Query().Get("state"), "PKCE verification failed")
		if o.provider.TokenRefusals.Load() != refused+1 {
			t.Errorf("the provider did not refuse the injected code")
		}
	})
	t.Run("WrongNonce", func(t *testing.T) {
		tb := tb.at(t)
		o.provider.WrongNonce.Store(true)
		defer o.provider.WrongNonce.Store(false)
		u := start(tb)
		answer(tb, u.Query().Get("code"), u.Query().Get("state"), "its nonce differs")
	})
	t.Run("NoPendingSignIn", func(t *testing.T) {
		// An answer that comes back twice: the second finds nothing pending.
		tb := tb.at(t)
		u := start(tb)
		tb.click(`#continue`)
		tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-signed-in-as="` + o.admin + `"]`)))
		tb.click(`[data-sign-out]`)
		tb.waitJS(`document.querySelector("[data-sign-in-org]")`)
		answer(tb, u.Query().Get("code"), u.Query().Get("state"), "didn't start a sign-in")
	})
}
