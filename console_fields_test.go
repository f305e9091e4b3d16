package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/autoclaim/autoclaim/internal/gqltest"
)

// fieldErrors returns the server's messages for a request, by
// extensions.field ("" for those without one); it fails the test when the
// request succeeds.
func fieldErrors(t *testing.T, api, token, query string, vars map[string]any) map[string]string {
	t.Helper()
	r := gqltest.Post(t, api, token, query, vars)
	if len(r.Errors) == 0 {
		t.Fatalf("the request succeeded; want it refused\nquery: %s", query)
	}
	out := map[string]string{}
	for _, e := range r.Errors {
		f, _ := e.Extensions["field"].(string)
		out[f] = e.Message
	}
	return out
}

// TestConsoleFieldErrors: a request the server refuses for several
// arguments shows each message beside its own field, all at once, and
// changes nothing.
func TestConsoleFieldErrors(t *testing.T) {
	env, base := consoleServer(t)
	api, admin := env["AUTOCLAIM_URL"], env["FABRIKAM_ADMIN_TOKEN"]
	tb := newTab(t, newBrowser(t), base, screenshotDir(t), "field-errors")
	tb.do(chromedp.EmulateViewport(1280, 800))
	tb.visit("/#token="+admin, `[data-signed-in-as="fiona"]`)
	text := func(sel string) string {
		t.Helper()
		return eval[string](tb, `(document.querySelector('`+sel+`') || {}).textContent || ""`)
	}

	t.Run("CreatePolicyNameAndProduct", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/policies/new", `input[name=name]`)
		// A name of blanks passes Next (something was typed); the server judges it.
		tb.fill(`input[name=name]`, "   ")
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.choose(`select[name=app]`, "POWER_AUTOMATE")
		tb.choose(`select[name=product]`, "fabrikam:product:2")
		tb.click(`[data-add-backup]`)
		// The page offers no product twice; pick the primary again anyway (as
		// a page with a stale list could send), for a product-level refusal.
		tb.choose(`select[name=backup1]`, "fabrikam:product:2")
		if got := eval[string](tb, `document.querySelector("select[name=backup1]").value`); got != "fabrikam:product:2" {
			t.Fatalf("the backup is %q; want fabrikam:product:2", got)
		}
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.waitJS(`document.querySelector("fieldset[data-field=plans1]")`)
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.waitJS(`document.querySelector("[data-review=name]")`)
		tb.click(`.pane-footer .btn--primary`) // Create policy

		// Both errors at once, on the review, each beside its row.
		tb.waitJS(`document.querySelector('[data-error-for="name"]') && document.querySelector('[data-error-for="backup1"]')`)
		want := fieldErrors(t, api, admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"tenantId": "fabrikam", "name": "   ", "appId": "POWER_AUTOMATE", "products": []map[string]any{
				{"productId": "fabrikam:product:2", "disabledServicePlanIds": []string{}},
				{"productId": "fabrikam:product:2", "disabledServicePlanIds": []string{}},
			}}})
		if len(want) != 2 || want["input.name"] == "" || want["input.products[1].productId"] == "" {
			t.Fatalf("the server's errors are %v; want one about input.name and one about input.products[1].productId", want)
		}
		if got := text(`.review [data-error-for="name"]`); got != want["input.name"] {
			t.Errorf("beside the name: %q; want %q", got, want["input.name"])
		}
		if got := text(`.review [data-review-product="1"] [data-error-for="backup1"]`); got != want["input.products[1].productId"] {
			t.Errorf("beside the backup: %q; want %q", got, want["input.products[1].productId"])
		}
		if n := eval[int](tb, `document.querySelectorAll("[data-form-error], [data-review-product='0'] [data-error-for]").length`); n != 0 {
			t.Errorf("%d more errors on the review; want the two at their rows only", n)
		}
		tb.shot("80-wizard-refused")
		var got struct {
			Tenant struct{ Policies []struct{ ID string } }
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "fabrikam") { policies { id } } }`, nil, &got)
		if len(got.Tenant.Policies) != 0 {
			t.Fatalf("the refused create made policies %v", got.Tenant.Policies)
		}

		// Each field shows its error on its step until it is changed.
		tb.click(`.review button.btn--link`) // Edit name
		tb.waitJS(`document.querySelector('[data-field=name] [data-error-for="name"]')`)
		if got := text(`[data-field=name] [data-error-for="name"]`); got != want["input.name"] {
			t.Errorf("at the name field: %q; want %q", got, want["input.name"])
		}
		tb.shot("81-wizard-refused-name")
		tb.fill(`input[name=name]`, "Flow makers")
		tb.waitJS(`!document.querySelector('[data-error-for="name"]')`)
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.waitJS(`document.querySelector('[data-field=backup1] [data-error-for="backup1"]')`)
		tb.choose(`select[name=backup1]`, "fabrikam:product:3")
		tb.waitJS(`!document.querySelector('[data-error-for="backup1"]')`)
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.waitJS(`document.querySelector("fieldset[data-field=plans1]")`)
		tb.click(`.pane-footer .btn--primary`) // Next
		tb.waitJS(`document.querySelector("[data-review=name]") && !document.querySelector("[data-error-for]")`)
		tb.click(`.pane-footer .btn--primary`) // Create policy
		tb.waitJS(`document.querySelector("[data-created]")`)
		var created struct {
			Tenant struct {
				Policies []struct {
					Name     string
					Products []struct{ Product struct{ ID string } }
				}
			}
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "fabrikam") { policies { name products { product { id } } } } }`, nil, &created)
		if ps := created.Tenant.Policies; len(ps) != 1 || ps[0].Name != "Flow makers" || len(ps[0].Products) != 2 || ps[0].Products[1].Product.ID != "fabrikam:product:3" {
			t.Fatalf("after the fixes the API has %+v; want Flow makers with products 2 and 3", ps)
		}
		tb.do(chromedp.KeyEvent("\x1b"))
		tb.waitJS(`!document.querySelector(".pane")`)
	})

	t.Run("AddUserNameAndID", func(t *testing.T) {
		tb := tb.at(t)
		tb.route("#/licenses", `[data-add-user]`)
		tb.click(`[data-add-user]`)
		// A zero-width space in the name, and an id with a space and a bang:
		// the server refuses both arguments.
		tb.fill(`[data-form=add-user] [data-field=displayName] input`, "Nestor\u200bWilke")
		tb.fill(`[data-form=add-user] [data-field=upn] input`, "nestor@fabrikam.com")
		tb.fill(`[data-form=add-user] [data-field=id] input`, "nestor wilke!")
		tb.click(`[data-form=add-user] button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-form=add-user] [data-field=displayName] [data-error-for="displayName"]') &&
			document.querySelector('[data-form=add-user] [data-field=id] [data-error-for="id"]')`)
		want := fieldErrors(t, api, admin, `mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"tenantId": "fabrikam", "displayName": "Nestor\u200bWilke", "userPrincipalName": "nestor@fabrikam.com", "id": "nestor wilke!"}})
		if got := text(`[data-form=add-user] [data-error-for="displayName"]`); got != want["input.displayName"] || got == "" {
			t.Errorf("at the name: %q; want %q", got, want["input.displayName"])
		}
		if got := text(`[data-form=add-user] [data-error-for="id"]`); got != want["input.id"] || got == "" {
			t.Errorf("at the id: %q; want %q", got, want["input.id"])
		}
		if n := eval[int](tb, `document.querySelectorAll('[data-form=add-user] [data-error-for="upn"], [data-form=add-user] [data-form-error]').length`); n != 0 {
			t.Errorf("%d errors elsewhere in the form; want none", n)
		}
		tb.shot("82-add-user-refused")
		var got struct {
			Tenant struct{ Users struct{ TotalCount int } }
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "fabrikam") { users(first: 0) { totalCount } } }`, nil, &got)
		if got.Tenant.Users.TotalCount != 5 {
			t.Errorf("the directory has %d users after the refusal; want the 5 it had", got.Tenant.Users.TotalCount)
		}
	})

	t.Run("AddBackupConflictAtItsChoice", func(t *testing.T) {
		tb := tb.at(t)
		// Another admin adds Premium to the policy after the pane opened:
		// the pane still offers it, and the server's answer names the product.
		var ps struct {
			Tenant struct{ Policies []struct{ ID string } }
		}
		gqltest.MustPost(t, api, admin, `{ tenant(id: "fabrikam") { policies { id } } }`, nil, &ps)
		id := ps.Tenant.Policies[0].ID
		gqltest.MustPost(t, api, admin, `mutation($p: ID!) { removePolicyProduct(policyId: $p, productId: "fabrikam:product:3") { id } }`, map[string]any{"p": id}, nil)
		tb.route("#/policies/"+id, `[data-form=add-backup] select`)
		gqltest.MustPost(t, api, admin, `mutation($p: ID!) { addBackupProduct(policyId: $p, productId: "fabrikam:product:3") { id } }`, map[string]any{"p": id}, nil)
		tb.click(`[data-form=add-backup] button[type=submit]`)
		tb.waitJS(`document.querySelector('[data-form=add-backup] [data-field=backup] [data-error-for="backup"]')`)
		if got := text(`[data-form=add-backup] [data-error-for="backup"]`); !strings.Contains(got, "already in policy") {
			t.Errorf("at the backup choice: %q; want the server's message that the product is in the policy", got)
		}
		tb.shot("83-add-backup-refused")
	})
}
