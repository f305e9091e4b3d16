package license_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/license"
)

// Products of the test tenant "contoso", by id.
const (
	prodApps     = "contoso:product:1" // POWERAPPS_PER_USER
	prodFlow     = "contoso:product:2" // FLOW_PER_USER
	prodPremium  = "contoso:product:3" // POWERAUTOMATE_ATTENDED_RPA
	prodFlow2    = "contoso:product:4" // FLOW_PER_USER
	prodPremium2 = "contoso:product:5" // POWERAUTOMATE_ATTENDED_RPA
	prodFlow3    = "contoso:product:6" // FLOW_PER_USER
	prodMissing  = "contoso:product:99"
)

// skuLookup returns a license.SKULookup over a fixed map of product ids to
// skuPartNumbers of the built-in catalog. It fails tb if a product maps to a
// SKU the catalog lacks, and answers ENOTFOUND for ids not in the map.
func skuLookup(tb testing.TB, c *license.Catalog) license.SKULookup {
	tb.Helper()
	skus := map[string]string{
		prodApps:     skuPowerApps,
		prodFlow:     skuFlow,
		prodPremium:  skuPremium,
		prodFlow2:    skuFlow,
		prodPremium2: skuPremium,
		prodFlow3:    skuFlow,
	}
	for id, sku := range skus {
		if c.SKU(sku) == nil {
			tb.Fatalf("catalog has no SKU %s for %s", sku, id)
		}
	}
	return func(productID string) (*license.SKU, error) {
		sku, ok := skus[productID]
		if !ok {
			return nil, license.Errorf(license.ENOTFOUND, "Product %q was not found.", productID)
		}
		return c.SKU(sku), nil
	}
}

func pp(id string, disabled ...string) license.PolicyProduct {
	return license.PolicyProduct{ProductID: id, DisabledServicePlanIDs: disabled}
}

// flowPolicy returns a Power Automate policy with the given products.
func flowPolicy(products ...license.PolicyProduct) *license.Policy {
	return &license.Policy{
		ID:       "contoso:policy:1",
		TenantID: "contoso",
		Name:     "Flows",
		AppID:    appAutomate,
		Enabled:  true,
		Products: products,
	}
}

func clonePolicy(p *license.Policy) *license.Policy {
	q := *p
	q.Products = make([]license.PolicyProduct, len(p.Products))
	for i, x := range p.Products {
		q.Products[i] = license.PolicyProduct{ProductID: x.ProductID, DisabledServicePlanIDs: slices.Clone(x.DisabledServicePlanIDs)}
	}
	return &q
}

// sameProducts compares product lists, treating nil and empty plan lists alike.
func sameProducts(a, b []license.PolicyProduct) bool {
	return slices.EqualFunc(a, b, func(x, y license.PolicyProduct) bool {
		return x.ProductID == y.ProductID && slices.Equal(x.DisabledServicePlanIDs, y.DisabledServicePlanIDs)
	})
}

func checkUnchanged(t *testing.T, got, want *license.Policy) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("policy after a refused change = %+v; want it unchanged: %+v", got, want)
	}
}

func TestCheckProducts(t *testing.T) {
	c := mustBuiltin(t)
	skuOf := skuLookup(t, c)

	tests := []struct {
		name     string
		app      string
		products []license.PolicyProduct
		want     []license.PolicyProduct
		code     string
		parts    []string
	}{
		{name: "OKOne", app: appAutomate, products: []license.PolicyProduct{pp(prodFlow)},
			want: []license.PolicyProduct{pp(prodFlow)}},
		{name: "OKFive", app: appAutomate,
			products: []license.PolicyProduct{pp(prodFlow), pp(prodPremium), pp(prodFlow2), pp(prodPremium2), pp(prodFlow3)},
			want:     []license.PolicyProduct{pp(prodFlow), pp(prodPremium), pp(prodFlow2), pp(prodPremium2), pp(prodFlow3)}},
		{name: "OKKeepsOrder", app: appAutomate, products: []license.PolicyProduct{pp(prodPremium), pp(prodFlow)},
			want: []license.PolicyProduct{pp(prodPremium), pp(prodFlow)}},
		{name: "OKNormalizesPlans", app: appPowerApps,
			products: []license.PolicyProduct{pp(prodApps, strings.ToUpper(planFlowPA), planExchange, planFlowPA, strings.ToUpper(planExchange), planAIBuilder)},
			want:     []license.PolicyProduct{pp(prodApps, planExchange, planAIBuilder, planFlowPA)}},
		{name: "OKPlansPerProduct", app: appAutomate,
			products: []license.PolicyProduct{pp(prodFlow, planCDSP2), pp(prodPremium, planCDSRPA, planExchange)},
			want:     []license.PolicyProduct{pp(prodFlow, planCDSP2), pp(prodPremium, planExchange, planCDSRPA)}},
		{name: "ErrUnknownApp", app: "POWER_BI", products: []license.PolicyProduct{pp(prodFlow)},
			code: license.ENOTFOUND, parts: []string{`"POWER_BI"`}},
		{name: "ErrNoProducts", app: appAutomate, products: nil,
			code: license.EINVALID, parts: []string{"at least one product"}},
		{name: "ErrSixProducts", app: appAutomate,
			products: []license.PolicyProduct{pp(prodFlow), pp(prodPremium), pp(prodFlow2), pp(prodPremium2), pp(prodFlow3), pp(prodApps)},
			code:     license.EINVALID, parts: []string{"4 backup", "6 products"}},
		{name: "ErrDuplicate", app: appAutomate, products: []license.PolicyProduct{pp(prodFlow), pp(prodPremium), pp(prodFlow)},
			code: license.EINVALID, parts: []string{prodFlow, "twice"}},
		{name: "ErrDoesNotServeApp", app: appAutomate, products: []license.PolicyProduct{pp(prodFlow), pp(prodApps)},
			code: license.EINVALID, parts: []string{prodApps, "Power Apps per user plan", "Power Automate"}},
		{name: "ErrDoesNotServeAppPrimary", app: appPowerApps, products: []license.PolicyProduct{pp(prodFlow)},
			code: license.EINVALID, parts: []string{prodFlow, "Power Apps"}},
		{name: "ErrUnknownProduct", app: appAutomate, products: []license.PolicyProduct{pp(prodFlow), pp(prodMissing)},
			code: license.ENOTFOUND, parts: []string{prodMissing}},
		{name: "ErrUnknownPlan", app: appAutomate, products: []license.PolicyProduct{pp(prodFlow, planCDSRPA)},
			code: license.EINVALID, parts: []string{planCDSRPA, "Power Automate per user plan"}},
		{name: "ErrNotAPlanID", app: appAutomate, products: []license.PolicyProduct{pp(prodFlow, "EXCHANGE_S_FOUNDATION")},
			code: license.EINVALID, parts: []string{"EXCHANGE_S_FOUNDATION"}},
		{name: "ErrRequiredPlan", app: appAutomate, products: []license.PolicyProduct{pp(prodFlow, planFlow)},
			code: license.EINVALID, parts: []string{"FLOW_PER_USER", planFlow, "can't be turned off", "Power Automate"}},
		{name: "ErrRequiredPlanUpperCase", app: appAutomate, products: []license.PolicyProduct{pp(prodFlow), pp(prodPremium, strings.ToUpper(planAttendedRPA))},
			code: license.EINVALID, parts: []string{"POWER_AUTOMATE_ATTENDED_RPA", "can't be turned off"}},
		{name: "ErrRequiredPlanPowerApps", app: appPowerApps, products: []license.PolicyProduct{pp(prodApps, planPowerPages, planPowerApps)},
			code: license.EINVALID, parts: []string{"POWERAPPS_PER_USER", "Power Apps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := clonePolicy(&license.Policy{Products: tt.products}).Products
			got, err := c.CheckProducts(tt.app, tt.products, skuOf)
			call := fmt.Sprintf("CheckProducts(%q, %v)", tt.app, tt.products)
			checkErr(t, call, err, tt.code, tt.parts...)
			if tt.code != "" {
				if got != nil {
					t.Errorf("%s = %v, %v; want nil with the error", call, got, err)
				}
				return
			}
			if !sameProducts(got, tt.want) {
				t.Errorf("%s = %v; want %v", call, got, tt.want)
			}
			if !sameProducts(tt.products, in) {
				t.Errorf("%s changed its argument to %v", call, tt.products)
			}
		})
	}

	t.Run("LookupErrorPassesThrough", func(t *testing.T) {
		boom := license.Internal(errors.New("redis down"))
		_, err := c.CheckProducts(appAutomate, []license.PolicyProduct{pp(prodFlow)}, func(string) (*license.SKU, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Errorf("CheckProducts with a failing lookup = %v; want %v", err, boom)
		}
	})
}

func TestPolicyRename(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		code string
	}{
		{"OK", "Premium flows", "Premium flows", ""},
		{"OKTrimmed", "  Premium flows  ", "Premium flows", ""},
		{"ErrTrailingTab", "Premium flows\t", "Flows", license.EINVALID},
		{"OK100", strings.Repeat("n", 100), strings.Repeat("n", 100), ""},
		{"ErrEmpty", "", "Flows", license.EINVALID},
		{"ErrBlank", "   ", "Flows", license.EINVALID},
		{"ErrTooLong", strings.Repeat("n", 101), "Flows", license.EINVALID},
		{"ErrControl", "a\nb", "Flows", license.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := flowPolicy(pp(prodFlow))
			err := p.Rename(tt.in)
			var parts []string
			if tt.code != "" {
				parts = []string{"policy name"}
			}
			checkErr(t, fmt.Sprintf("Rename(%q)", tt.in), err, tt.code, parts...)
			if p.Name != tt.want {
				t.Errorf("after Rename(%q), Name = %q; want %q", tt.in, p.Name, tt.want)
			}
		})
	}
}

func TestPolicyAddBackup(t *testing.T) {
	c := mustBuiltin(t)
	skuOf := skuLookup(t, c)

	t.Run("OKFifthProduct", func(t *testing.T) {
		p := flowPolicy(pp(prodFlow), pp(prodPremium), pp(prodFlow2), pp(prodPremium2))
		if err := p.AddBackup(c, pp(prodFlow3, strings.ToUpper(planCDSP2)), skuOf); err != nil {
			t.Fatalf("AddBackup(5th product) = %v; want nil", err)
		}
		want := []license.PolicyProduct{pp(prodFlow), pp(prodPremium), pp(prodFlow2), pp(prodPremium2), pp(prodFlow3, planCDSP2)}
		if !sameProducts(p.Products, want) {
			t.Errorf("after AddBackup, Products = %v; want %v", p.Products, want)
		}
	})

	tests := []struct {
		name   string
		policy *license.Policy
		add    license.PolicyProduct
		code   string
		parts  []string
	}{
		{"ErrSixthProduct", flowPolicy(pp(prodFlow), pp(prodPremium), pp(prodFlow2), pp(prodPremium2), pp(prodFlow3)),
			pp(prodApps), license.EINVALID, []string{"Flows", "4 backup"}},
		{"ErrDuplicate", flowPolicy(pp(prodFlow), pp(prodPremium)),
			pp(prodPremium), license.EINVALID, []string{prodPremium, "Flows", "only once"}},
		{"ErrDuplicatePrimary", flowPolicy(pp(prodFlow)),
			pp(prodFlow, planCDSP2), license.EINVALID, []string{prodFlow, "only once"}},
		{"ErrDoesNotServeApp", flowPolicy(pp(prodFlow)),
			pp(prodApps), license.EINVALID, []string{prodApps, "Power Automate"}},
		{"ErrUnknownProduct", flowPolicy(pp(prodFlow)),
			pp(prodMissing), license.ENOTFOUND, []string{prodMissing}},
		{"ErrUnknownPlan", flowPolicy(pp(prodFlow)),
			pp(prodPremium, planPowerPages), license.EINVALID, []string{planPowerPages}},
		{"ErrRequiredPlan", flowPolicy(pp(prodFlow)),
			pp(prodPremium, planAttendedRPA), license.EINVALID, []string{"POWER_AUTOMATE_ATTENDED_RPA", "can't be turned off"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := clonePolicy(tt.policy)
			err := tt.policy.AddBackup(c, tt.add, skuOf)
			checkErr(t, fmt.Sprintf("AddBackup(%v)", tt.add), err, tt.code, tt.parts...)
			checkUnchanged(t, tt.policy, before)
		})
	}
}

func TestPolicyRemoveProduct(t *testing.T) {
	tests := []struct {
		name   string
		policy *license.Policy
		remove string
		want   []string
		code   string
		parts  []string
	}{
		{"OKBackup", flowPolicy(pp(prodFlow), pp(prodPremium), pp(prodFlow2)), prodPremium, []string{prodFlow, prodFlow2}, "", nil},
		{"OKPrimary", flowPolicy(pp(prodFlow), pp(prodPremium, planCDSRPA)), prodFlow, []string{prodPremium}, "", nil},
		{"OKLast", flowPolicy(pp(prodFlow), pp(prodPremium), pp(prodFlow2)), prodFlow2, []string{prodFlow, prodPremium}, "", nil},
		{"ErrLastProduct", flowPolicy(pp(prodFlow)), prodFlow, []string{prodFlow}, license.ECONFLICT, []string{prodFlow, "Flows", "at least one", "turn the policy off"}},
		{"ErrNotInPolicy", flowPolicy(pp(prodFlow), pp(prodPremium)), prodFlow2, []string{prodFlow, prodPremium}, license.ENOTFOUND, []string{prodFlow2, "Flows"}},
		{"ErrNotInPolicySingle", flowPolicy(pp(prodFlow)), prodMissing, []string{prodFlow}, license.ENOTFOUND, []string{prodMissing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := clonePolicy(tt.policy)
			err := tt.policy.RemoveProduct(tt.remove)
			checkErr(t, fmt.Sprintf("RemoveProduct(%q)", tt.remove), err, tt.code, tt.parts...)
			if got := tt.policy.ProductIDs(); !slices.Equal(got, tt.want) {
				t.Errorf("after RemoveProduct(%q), products = %v; want %v", tt.remove, got, tt.want)
			}
			if tt.code != "" {
				checkUnchanged(t, tt.policy, before)
			}
		})
	}
	t.Run("KeepsPlans", func(t *testing.T) {
		p := flowPolicy(pp(prodFlow, planCDSP2), pp(prodPremium), pp(prodFlow2, planExchange))
		if err := p.RemoveProduct(prodPremium); err != nil {
			t.Fatalf("RemoveProduct(%q) = %v; want nil", prodPremium, err)
		}
		if want := []license.PolicyProduct{pp(prodFlow, planCDSP2), pp(prodFlow2, planExchange)}; !sameProducts(p.Products, want) {
			t.Errorf("after RemoveProduct(%q), Products = %v; want %v", prodPremium, p.Products, want)
		}
	})
}

func TestPolicyMove(t *testing.T) {
	three := func() *license.Policy { return flowPolicy(pp(prodFlow), pp(prodPremium, planCDSRPA), pp(prodFlow2)) }
	tests := []struct {
		name  string
		id    string
		dir   license.Direction
		want  []string
		code  string
		parts []string
	}{
		{"OKUpMiddle", prodPremium, license.Up, []string{prodPremium, prodFlow, prodFlow2}, "", nil},
		{"OKUpLast", prodFlow2, license.Up, []string{prodFlow, prodFlow2, prodPremium}, "", nil},
		{"OKDownFirst", prodFlow, license.Down, []string{prodPremium, prodFlow, prodFlow2}, "", nil},
		{"OKDownMiddle", prodPremium, license.Down, []string{prodFlow, prodFlow2, prodPremium}, "", nil},
		{"ErrUpAtTop", prodFlow, license.Up, nil, license.EINVALID, []string{prodFlow, "already first", "Flows"}},
		{"ErrDownAtBottom", prodFlow2, license.Down, nil, license.EINVALID, []string{prodFlow2, "already last", "Flows"}},
		{"ErrBadDirection", prodPremium, "SIDEWAYS", nil, license.EINVALID, []string{"UP or DOWN", "SIDEWAYS"}},
		{"ErrEmptyDirection", prodPremium, "", nil, license.EINVALID, []string{"UP or DOWN"}},
		{"ErrLowerCaseDirection", prodPremium, "up", nil, license.EINVALID, []string{"UP or DOWN"}},
		{"ErrNotInPolicy", prodMissing, license.Up, nil, license.ENOTFOUND, []string{prodMissing, "Flows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := three()
			before := clonePolicy(p)
			err := p.Move(tt.id, tt.dir)
			checkErr(t, fmt.Sprintf("Move(%q, %q)", tt.id, tt.dir), err, tt.code, tt.parts...)
			if tt.code != "" {
				checkUnchanged(t, p, before)
				return
			}
			if got := p.ProductIDs(); !slices.Equal(got, tt.want) {
				t.Errorf("after Move(%q, %q), products = %v; want %v", tt.id, tt.dir, got, tt.want)
			}
			// A product keeps its service plans when it moves.
			if i := p.Position(prodPremium); !slices.Equal(p.Products[i].DisabledServicePlanIDs, []string{planCDSRPA}) {
				t.Errorf("after Move(%q, %q), %s has plans %v; want [%s]", tt.id, tt.dir, prodPremium, p.Products[i].DisabledServicePlanIDs, planCDSRPA)
			}
		})
	}

	t.Run("SingleProduct", func(t *testing.T) {
		for _, d := range []license.Direction{license.Up, license.Down} {
			p := flowPolicy(pp(prodFlow))
			if err := p.Move(prodFlow, d); license.ErrorCode(err) != license.EINVALID {
				t.Errorf("Move(only product, %s) = %v; want %s", d, err, license.EINVALID)
			}
		}
	})

	t.Run("UpThenDownRestores", func(t *testing.T) {
		p := three()
		before := clonePolicy(p)
		if err := p.Move(prodFlow2, license.Up); err != nil {
			t.Fatalf("Move(%q, UP) = %v", prodFlow2, err)
		}
		if err := p.Move(prodFlow2, license.Down); err != nil {
			t.Fatalf("Move(%q, DOWN) = %v", prodFlow2, err)
		}
		if !reflect.DeepEqual(p, before) {
			t.Errorf("after UP then DOWN, policy = %+v; want %+v", p, before)
		}
	})
}

func TestPolicyReorder(t *testing.T) {
	three := func() *license.Policy { return flowPolicy(pp(prodFlow, planCDSP2), pp(prodPremium), pp(prodFlow2)) }
	tests := []struct {
		name  string
		order []string
		code  string
		parts []string
	}{
		{"OKReverse", []string{prodFlow2, prodPremium, prodFlow}, "", nil},
		{"OKRotate", []string{prodPremium, prodFlow2, prodFlow}, "", nil},
		{"OKSame", []string{prodFlow, prodPremium, prodFlow2}, "", nil},
		{"ErrEmpty", nil, license.EINVALID, []string{"3 products", "0 were given"}},
		{"ErrTooFew", []string{prodFlow2, prodFlow}, license.EINVALID, []string{"3 products", "2 were given"}},
		{"ErrTooMany", []string{prodFlow2, prodFlow, prodPremium, prodFlow3}, license.EINVALID, []string{"3 products", "4 were given"}},
		{"ErrDuplicate", []string{prodFlow, prodFlow, prodPremium}, license.EINVALID, []string{prodFlow, "twice"}},
		{"ErrUnknown", []string{prodFlow, prodPremium, prodFlow3}, license.EINVALID, []string{prodFlow3, "not in policy", "Flows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := three()
			before := clonePolicy(p)
			err := p.Reorder(tt.order)
			checkErr(t, fmt.Sprintf("Reorder(%q)", tt.order), err, tt.code, tt.parts...)
			if tt.code != "" {
				checkUnchanged(t, p, before)
				return
			}
			if got := p.ProductIDs(); !slices.Equal(got, tt.order) {
				t.Errorf("after Reorder(%q), products = %v; want %v", tt.order, got, tt.order)
			}
			if i := p.Position(prodFlow); !slices.Equal(p.Products[i].DisabledServicePlanIDs, []string{planCDSP2}) {
				t.Errorf("after Reorder(%q), %s has plans %v; want [%s]", tt.order, prodFlow, p.Products[i].DisabledServicePlanIDs, planCDSP2)
			}
		})
	}
}

func TestPolicySetDisabledPlans(t *testing.T) {
	c := mustBuiltin(t)
	skuOf := skuLookup(t, c)
	// flow has CDS_P2, EXCHANGE, FLOW_PER_USER (required);
	// premium has CDS_ATTENDED_RPA, EXCHANGE, POWER_AUTOMATE_ATTENDED_RPA (required).
	start := func() *license.Policy {
		return flowPolicy(pp(prodFlow, planExchange), pp(prodPremium, planCDSRPA), pp(prodFlow2))
	}

	tests := []struct {
		name    string
		product string
		plans   []string
		want    []license.PolicyProduct
		code    string
		parts   []string
	}{
		{name: "OKOneProduct", product: prodFlow, plans: []string{strings.ToUpper(planCDSP2), planExchange, planCDSP2},
			want: []license.PolicyProduct{pp(prodFlow, planExchange, planCDSP2), pp(prodPremium, planCDSRPA), pp(prodFlow2)}},
		{name: "OKOneProductClears", product: prodPremium, plans: nil,
			want: []license.PolicyProduct{pp(prodFlow, planExchange), pp(prodPremium), pp(prodFlow2)}},
		{name: "OKAllProductsCommonPlan", product: "", plans: []string{planExchange},
			want: []license.PolicyProduct{pp(prodFlow, planExchange), pp(prodPremium, planExchange), pp(prodFlow2, planExchange)}},
		{name: "OKAllProductsPlanSomeHave", product: "", plans: []string{planCDSP2},
			want: []license.PolicyProduct{pp(prodFlow, planCDSP2), pp(prodPremium), pp(prodFlow2, planCDSP2)}},
		{name: "OKAllProductsMixed", product: "", plans: []string{planCDSRPA, strings.ToUpper(planCDSP2)},
			want: []license.PolicyProduct{pp(prodFlow, planCDSP2), pp(prodPremium, planCDSRPA), pp(prodFlow2, planCDSP2)}},
		{name: "OKAllProductsClears", product: "", plans: []string{},
			want: []license.PolicyProduct{pp(prodFlow), pp(prodPremium), pp(prodFlow2)}},
		{name: "ErrOneProductUnknownPlan", product: prodFlow, plans: []string{planCDSRPA},
			code: license.EINVALID, parts: []string{planCDSRPA, "Power Automate per user plan"}},
		{name: "ErrOneProductRequiredPlan", product: prodPremium, plans: []string{planExchange, planAttendedRPA},
			code: license.EINVALID, parts: []string{"POWER_AUTOMATE_ATTENDED_RPA", "can't be turned off"}},
		{name: "ErrProductNotInPolicy", product: prodPremium2, plans: []string{planExchange},
			code: license.ENOTFOUND, parts: []string{prodPremium2, "Flows"}},
		{name: "ErrAllProductsPlanNoProductHas", product: "", plans: []string{planPowerPages},
			code: license.EINVALID, parts: []string{planPowerPages, "any product", "Flows"}},
		{name: "ErrAllProductsOneGoodOneUnknown", product: "", plans: []string{planExchange, "00000000-0000-0000-0000-000000000000"},
			code: license.EINVALID, parts: []string{"00000000-0000-0000-0000-000000000000"}},
		{name: "ErrAllProductsRequiredPlanOfOne", product: "", plans: []string{planFlow},
			code: license.EINVALID, parts: []string{"FLOW_PER_USER", "can't be turned off"}},
		{name: "ErrAllProductsRequiredPlanOfOther", product: "", plans: []string{planCDSP2, planAttendedRPA},
			code: license.EINVALID, parts: []string{"POWER_AUTOMATE_ATTENDED_RPA", "can't be turned off"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start()
			before := clonePolicy(p)
			err := p.SetDisabledPlans(c, tt.product, tt.plans, skuOf)
			call := fmt.Sprintf("SetDisabledPlans(%q, %q)", tt.product, tt.plans)
			checkErr(t, call, err, tt.code, tt.parts...)
			if tt.code != "" {
				checkUnchanged(t, p, before)
				return
			}
			if !sameProducts(p.Products, tt.want) {
				t.Errorf("after %s, Products = %v; want %v", call, p.Products, tt.want)
			}
		})
	}

	t.Run("ErrUnknownApp", func(t *testing.T) {
		p := start()
		p.AppID = "POWER_BI"
		before := clonePolicy(p)
		err := p.SetDisabledPlans(c, "", []string{planExchange}, skuOf)
		checkErr(t, "SetDisabledPlans on a POWER_BI policy", err, license.ENOTFOUND, "POWER_BI")
		checkUnchanged(t, p, before)
	})

	t.Run("ErrLookupFailsMidway", func(t *testing.T) {
		p := start()
		before := clonePolicy(p)
		failing := func(id string) (*license.SKU, error) {
			if id == prodFlow2 {
				return nil, license.Internal(errors.New("redis down"))
			}
			return skuOf(id)
		}
		err := p.SetDisabledPlans(c, "", []string{planExchange}, failing)
		checkErr(t, "SetDisabledPlans with a failing lookup", err, license.EINTERNAL)
		checkUnchanged(t, p, before)
	})
}

func TestCheckAssignedPlans(t *testing.T) {
	c := mustBuiltin(t)
	flow := &license.Product{ID: prodFlow, TenantID: "contoso", SKU: c.SKU(skuFlow), TotalLicenses: 10}
	tests := []struct {
		name    string
		product *license.Product
		ids     []string
		want    []string
		code    string
		parts   []string
	}{
		{name: "OKNone", product: flow, ids: nil, want: []string{}},
		{name: "OKNormalized", product: flow, ids: []string{strings.ToUpper(planCDSP2), planExchange, planCDSP2}, want: []string{planExchange, planCDSP2}},
		{name: "OKRequiredPlanAllowed", product: flow, ids: []string{planFlow}, want: []string{planFlow}},
		{name: "ErrUnknownPlan", product: flow, ids: []string{planExchange, planCDSRPA}, code: license.EINVALID, parts: []string{planCDSRPA, "Power Automate per user plan"}},
		{name: "ErrNoSKU", product: &license.Product{ID: prodMissing}, ids: nil, code: license.ECONFLICT, parts: []string{prodMissing, "catalog"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := license.CheckAssignedPlans(tt.product, tt.ids)
			call := fmt.Sprintf("CheckAssignedPlans(%s, %q)", tt.product.ID, tt.ids)
			checkErr(t, call, err, tt.code, tt.parts...)
			if tt.code != "" {
				if got != nil {
					t.Errorf("%s = %q, %v; want nil with the error", call, got, err)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s = %q; want %q", call, got, tt.want)
			}
		})
	}
}
