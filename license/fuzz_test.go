package license_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/autoclaim/autoclaim/license"
)

// FuzzValidation feeds arbitrary strings to the domain's validators and id
// parsers: none may panic, every refusal carries a code and a message, and
// what a parser accepts round-trips.
func FuzzValidation(f *testing.F) {
	for _, s := range []string{"", " ", "Contoso", "a\nb", "contoso:product:1", "contoso:policy:007", "x:product:-1",
		"1764147600000-0", "18446744073709551616-0", "admin@contoso.com", "@", strings.Repeat("é", 101), "\xff"} {
		f.Add(s)
	}
	c := license.BuiltinCatalog()
	f.Fuzz(func(t *testing.T, s string) {
		for _, err := range []error{
			license.ValidateName("policy name", s), license.ValidateCallerID("user id", s),
			license.ValidateUserPrincipalName(s), license.ValidateTenantID(s),
		} {
			if err != nil && (license.ErrorCode(err) == license.EINTERNAL || license.ErrorMessage(err) == "") {
				t.Fatalf("validating %q: %v", s, err)
			}
		}
		if license.ValidateName("policy name", s) == nil && (!utf8.ValidString(s) || strings.TrimSpace(s) == "") {
			t.Fatalf("accepted the name %q", s)
		}
		if tenant, n, err := license.ParseProductID(s); err == nil && license.ProductID(tenant, n) != s {
			t.Fatalf("ParseProductID(%q) = %q, %d; it does not round-trip", s, tenant, n)
		}
		if tenant, n, err := license.ParsePolicyID(s); err == nil && license.PolicyID(tenant, n) != s {
			t.Fatalf("ParsePolicyID(%q) = %q, %d; it does not round-trip", s, tenant, n)
		}
		if id, err := license.ParseEventID(s); err == nil {
			if again, err := license.ParseEventID(id.String()); err != nil || again != id {
				t.Fatalf("ParseEventID(%q) = %v; it does not round-trip", s, id)
			}
		}
		plans := strings.Split(s, ",")
		p := &license.Policy{Name: "P", AppID: "POWER_AUTOMATE", Products: []license.PolicyProduct{{ProductID: "t:product:1"}}}
		skuOf := func(string) (*license.SKU, error) { return c.SKU("FLOW_PER_USER"), nil }
		if err := p.SetDisabledPlans(c, "", plans, skuOf); err != nil && license.ErrorCode(err) != license.EINVALID {
			t.Fatalf("SetDisabledPlans(%q): %v", plans, err)
		}
	})
}
