package license_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/license"
)

// Identifiers of the built-in catalog (catalog.json), as Microsoft publishes them.
const (
	skuPowerApps    = "POWERAPPS_PER_USER"
	skuFlow         = "FLOW_PER_USER"
	skuPremium      = "POWERAUTOMATE_ATTENDED_RPA"
	appPowerApps    = "POWER_APPS"
	appAutomate     = "POWER_AUTOMATE"
	planPowerApps   = "ea2cf03b-ac60-46ae-9c1d-eeaeb63cec86" // POWERAPPS_PER_USER, required by Power Apps
	planPowerPages  = "60bf28f9-2b70-4522-96f7-335f5e06c941" // Power_Pages_Internal_User, Power Apps only
	planAIBuilder   = "74d93933-6f22-436e-9441-66d205435abb" // CDSAICAPACITY_PERUSER_NEW, Power Apps only
	planFlowPA      = "dc789ed8-0170-4b65-a415-eb77d5bb350a" // Flow_PowerApps_PerUser, Power Apps only
	planExchange    = "113feb6c-3fe4-4440-bddc-54d774bf0318" // EXCHANGE_S_FOUNDATION, in all three
	planCDSP2       = "6ea4c1ef-c259-46df-bce2-943342cd3cb2" // DYN365_CDS_P2, Power Apps and Flow per user
	planFlow        = "c5002c70-f725-4367-b409-f0eff4fee6c0" // FLOW_PER_USER, required by Flow per user
	planCDSRPA      = "3da2fd4c-1bee-4b61-a17f-94c31e5cab93" // CDS_ATTENDED_RPA, Premium only
	planAttendedRPA = "375cd0ad-c407-49fd-866a-0bff4f8a9a4d" // POWER_AUTOMATE_ATTENDED_RPA, required by Premium
)

func mustBuiltin(tb testing.TB) *license.Catalog {
	tb.Helper()
	c := license.BuiltinCatalog()
	if c == nil {
		tb.Fatal("BuiltinCatalog() = nil")
	}
	return c
}

func TestBuiltinCatalog(t *testing.T) {
	c := mustBuiltin(t)

	for _, id := range []string{appPowerApps, appAutomate} {
		if a := c.App(id); a == nil || a.ID != id || a.DisplayName == "" {
			t.Errorf("App(%q) = %+v; want the app with a display name", id, a)
		}
	}
	if a := c.App("POWER_BI"); a != nil {
		t.Errorf("App(%q) = %+v; want nil", "POWER_BI", a)
	}
	if got, want := c.SKUPartNumbers(), []string{skuPowerApps, skuFlow, skuPremium}; !slices.Equal(got, want) {
		t.Errorf("SKUPartNumbers() = %v; want %v", got, want)
	}

	tests := []struct {
		sku          string
		skuID        string
		displayName  string
		app          string
		requiredPlan string
		plans        int
	}{
		{skuPowerApps, "b30411f5-fea1-4a59-9ad9-3db7c7ead579", "Power Apps per user plan", appPowerApps, planPowerApps, 7},
		{skuFlow, "4a51bf65-409c-4a91-b845-1121b571cc9d", "Power Automate per user plan", appAutomate, planFlow, 3},
		{skuPremium, "eda1941c-3c4f-4995-b5eb-e85a42175ab9", "Power Automate Premium", appAutomate, planAttendedRPA, 3},
	}
	for _, tt := range tests {
		t.Run(tt.sku, func(t *testing.T) {
			s := c.SKU(tt.sku)
			if s == nil {
				t.Fatalf("SKU(%q) = nil; want the product", tt.sku)
			}
			if s.SkuID != tt.skuID {
				t.Errorf("SKU(%q).SkuID = %q; want %q", tt.sku, s.SkuID, tt.skuID)
			}
			if s.DisplayName != tt.displayName {
				t.Errorf("SKU(%q).DisplayName = %q; want %q", tt.sku, s.DisplayName, tt.displayName)
			}
			if len(s.ServicePlans) != tt.plans {
				t.Errorf("SKU(%q) has %d service plans; want %d", tt.sku, len(s.ServicePlans), tt.plans)
			}
			if got := s.Apps(); !slices.Equal(got, []string{tt.app}) {
				t.Errorf("SKU(%q).Apps() = %v; want [%s]", tt.sku, got, tt.app)
			}
			cov := s.Coverage(tt.app)
			if cov == nil {
				t.Fatalf("SKU(%q).Coverage(%q) = nil; want its coverage", tt.sku, tt.app)
			}
			if cov.RequiredPlan != tt.requiredPlan {
				t.Errorf("SKU(%q).Coverage(%q).RequiredPlan = %q; want %q", tt.sku, tt.app, cov.RequiredPlan, tt.requiredPlan)
			}
			if p := s.Plan(tt.requiredPlan); p == nil || p.Name == "" {
				t.Errorf("SKU(%q).Plan(%q) = %v; want the required plan", tt.sku, tt.requiredPlan, p)
			}
			if p := s.Plan(strings.ToUpper(tt.requiredPlan)); p == nil || p.ID != tt.requiredPlan {
				t.Errorf("SKU(%q).Plan(upper case %q) = %v; want the plan, found regardless of case", tt.sku, tt.requiredPlan, p)
			}
			if p := s.Plan("00000000-0000-0000-0000-000000000000"); p != nil {
				t.Errorf("SKU(%q).Plan(unknown) = %v; want nil", tt.sku, p)
			}
			if c.SKU(strings.ToLower(tt.sku)) != nil {
				t.Errorf("SKU(%q) != nil; want nil (skuPartNumbers are exact)", strings.ToLower(tt.sku))
			}
		})
	}
	if s := c.SKU("ENTERPRISEPACK"); s != nil {
		t.Errorf("SKU(%q) = %v; want nil", "ENTERPRISEPACK", s)
	}
}

func TestBuiltinCatalogIsFresh(t *testing.T) {
	a, b := license.BuiltinCatalog(), license.BuiltinCatalog()
	a.SKU(skuFlow).DisplayName = "changed"
	if got := b.SKU(skuFlow).DisplayName; got != "Power Automate per user plan" {
		t.Errorf("after editing one BuiltinCatalog(), another has DisplayName %q; want each call independent", got)
	}
}

func TestBuiltinCatalogTriggers(t *testing.T) {
	c := mustBuiltin(t)
	flowTriggers := []license.Trigger{license.TriggerTriggerPremiumFlow, license.TriggerSavePremiumFlow, license.TriggerTurnOnPremiumFlow}
	rpaTriggers := []license.Trigger{license.TriggerTriggerPremiumFlowAttendedRPA, license.TriggerSavePremiumFlowAttendedRPA, license.TriggerTurnOnPremiumFlowAttendedRPA}
	appTriggers := []license.Trigger{license.TriggerLaunchPremiumApp, license.TriggerLaunchManagedEnvironmentApp}

	type cover struct {
		sku     string
		app     string
		trigger license.Trigger
		want    bool
	}
	var tests []cover
	for _, tr := range rpaTriggers {
		tests = append(tests,
			cover{skuPremium, appAutomate, tr, true},
			cover{skuFlow, appAutomate, tr, false},
			cover{skuPowerApps, appAutomate, tr, false},
		)
	}
	for _, tr := range flowTriggers {
		tests = append(tests,
			cover{skuPremium, appAutomate, tr, true},
			cover{skuFlow, appAutomate, tr, true},
			cover{skuPowerApps, appAutomate, tr, false},
			cover{skuFlow, appPowerApps, tr, false},
		)
	}
	for _, tr := range appTriggers {
		tests = append(tests,
			cover{skuPowerApps, appPowerApps, tr, true},
			cover{skuFlow, appPowerApps, tr, false},
			cover{skuPremium, appPowerApps, tr, false},
			cover{skuPowerApps, appAutomate, tr, false},
		)
	}
	for _, tt := range tests {
		t.Run(tt.sku+"/"+tt.app+"/"+string(tt.trigger), func(t *testing.T) {
			if got := c.SKU(tt.sku).CoversTrigger(tt.app, tt.trigger); got != tt.want {
				t.Errorf("SKU(%q).CoversTrigger(%q, %q) = %v; want %v", tt.sku, tt.app, tt.trigger, got, tt.want)
			}
		})
	}

	t.Run("Serves", func(t *testing.T) {
		for _, tt := range []struct {
			sku, app string
			want     bool
		}{
			{skuPowerApps, appPowerApps, true},
			{skuPowerApps, appAutomate, false},
			{skuFlow, appAutomate, true},
			{skuFlow, appPowerApps, false},
			{skuPremium, appAutomate, true},
			{skuPremium, "NOPE", false},
		} {
			if got := c.SKU(tt.sku).Serves(tt.app); got != tt.want {
				t.Errorf("SKU(%q).Serves(%q) = %v; want %v", tt.sku, tt.app, got, tt.want)
			}
		}
	})

	t.Run("Triggers", func(t *testing.T) {
		premium := c.SKU(skuPremium).Triggers()
		flow := c.SKU(skuFlow).Triggers()
		for _, tr := range rpaTriggers {
			if !slices.Contains(premium, tr) {
				t.Errorf("SKU(%q).Triggers() = %v; want it to hold %s", skuPremium, premium, tr)
			}
			if slices.Contains(flow, tr) {
				t.Errorf("SKU(%q).Triggers() = %v; want it without %s", skuFlow, flow, tr)
			}
		}
		// Triggers come in API order.
		for i := 1; i < len(premium); i++ {
			if slices.Index(license.AllTriggers, premium[i-1]) >= slices.Index(license.AllTriggers, premium[i]) {
				t.Errorf("SKU(%q).Triggers() = %v; want API order", skuPremium, premium)
				break
			}
		}
	})
}

func TestSKUsCovering(t *testing.T) {
	c := mustBuiltin(t)
	tests := []struct {
		app     string
		trigger license.Trigger
		want    []string
	}{
		{appAutomate, license.TriggerTriggerPremiumFlow, []string{skuFlow, skuPremium}},
		{appAutomate, license.TriggerSignIn, []string{skuFlow, skuPremium}},
		{appAutomate, license.TriggerSavePremiumFlowAttendedRPA, []string{skuPremium}},
		{appAutomate, license.TriggerTurnOnPremiumFlowAttendedRPA, []string{skuPremium}},
		{appAutomate, license.TriggerLaunchPremiumApp, nil},
		{appPowerApps, license.TriggerLaunchPremiumApp, []string{skuPowerApps}},
		{appPowerApps, license.TriggerLaunchManagedEnvironmentApp, []string{skuPowerApps}},
		{appPowerApps, license.TriggerTriggerPremiumFlow, nil},
		{"POWER_BI", license.TriggerSignIn, nil},
		{appAutomate, "DANCE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.app+"/"+string(tt.trigger), func(t *testing.T) {
			if got := c.SKUsCovering(tt.app, tt.trigger); !slices.Equal(got, tt.want) {
				t.Errorf("SKUsCovering(%q, %q) = %v; want %v", tt.app, tt.trigger, got, tt.want)
			}
		})
	}
}

func TestSuperseded(t *testing.T) {
	c := mustBuiltin(t)
	tests := []struct {
		sku  string
		want []string
	}{
		{skuPremium, []string{skuFlow}}, // every Power Automate trigger, the attended-RPA ones too
		{skuFlow, nil},                  // not the attended-RPA triggers
		{skuPowerApps, nil},             // another app
		{"NO_SUCH_SKU", nil},
	}
	for _, tt := range tests {
		t.Run(tt.sku, func(t *testing.T) {
			if got := c.Superseded(tt.sku); !slices.Equal(got, tt.want) {
				t.Errorf("Superseded(%q) = %v; want %v", tt.sku, got, tt.want)
			}
		})
	}
	t.Run("TwoApps", func(t *testing.T) {
		a := license.SKU{SkuPartNumber: "A", Covers: []license.Coverage{
			{App: "X", Triggers: []license.Trigger{license.TriggerSignIn, license.TriggerLaunchPremiumApp}},
			{App: "Y", Triggers: []license.Trigger{license.TriggerSignIn}},
		}}
		b := license.SKU{SkuPartNumber: "B", Covers: []license.Coverage{{App: "X", Triggers: []license.Trigger{license.TriggerSignIn}}}}
		both := license.SKU{SkuPartNumber: "C", Covers: []license.Coverage{
			{App: "X", Triggers: []license.Trigger{license.TriggerSignIn}}, {App: "Z", Triggers: []license.Trigger{license.TriggerSignIn}}}}
		none := license.SKU{SkuPartNumber: "D"}
		for _, tt := range []struct {
			name  string
			s, o  *license.SKU
			wants bool
		}{
			{"SubsetOfOneApp", &a, &b, true},
			{"Reverse", &b, &a, false},
			{"AnAppNotServed", &a, &both, false},
			{"Itself", &a, &a, false},
			{"CoversNothing", &a, &none, false},
			{"Nil", &a, nil, false},
		} {
			if got := tt.s.Supersedes(tt.o); got != tt.wants {
				t.Errorf("%s: %s.Supersedes = %v; want %v", tt.name, tt.s.SkuPartNumber, got, tt.wants)
			}
		}
	})
}

// testCatalog returns a small valid catalog document as a struct, for tests to
// spoil one field at a time.
func testCatalog() *license.Catalog {
	return &license.Catalog{
		Apps: []license.App{
			{ID: "APP_A", DisplayName: "App A", Triggers: []license.Trigger{license.TriggerSignIn, license.TriggerLaunchPremiumApp}},
			{ID: "APP_B", DisplayName: "App B", Triggers: []license.Trigger{license.TriggerSignIn, license.TriggerTriggerPremiumFlow}},
		},
		Products: []license.SKU{{
			SkuID:         "0000000a-0000-4000-8000-000000000001",
			SkuPartNumber: "SKU_A",
			DisplayName:   "SKU A",
			ServicePlans: []license.ServicePlan{
				{ID: "0000000a-0000-4000-8000-0000000000a1", Name: "PLAN_A", DisplayName: "Plan A"},
				{ID: "0000000a-0000-4000-8000-0000000000a2", Name: "PLAN_X", DisplayName: "Plan X"},
			},
			Covers: []license.Coverage{{App: "APP_A", Triggers: []license.Trigger{license.TriggerLaunchPremiumApp}, RequiredPlan: "0000000a-0000-4000-8000-0000000000a1"}},
		}},
	}
}

func marshal(tb testing.TB, c *license.Catalog) []byte {
	tb.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		tb.Fatalf("json.Marshal: %v", err)
	}
	return data
}

// shorten keeps the start and the end of a long document for failure messages.
func shorten(doc string) string {
	if len(doc) <= 120 {
		return doc
	}
	return doc[:50] + " … " + doc[len(doc)-60:]
}

func TestParseCatalog(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c, err := license.ParseCatalog(marshal(t, testCatalog()))
		if err != nil {
			t.Fatalf("ParseCatalog(test catalog) = %v; want nil", err)
		}
		if c.App("APP_B") == nil || c.SKU("SKU_A") == nil {
			t.Errorf("ParseCatalog(test catalog): App(APP_B) = %v, SKU(SKU_A) = %v; want both", c.App("APP_B"), c.SKU("SKU_A"))
		}
		if got := c.SKUsCovering("APP_A", license.TriggerLaunchPremiumApp); !slices.Equal(got, []string{"SKU_A"}) {
			t.Errorf("SKUsCovering(APP_A, LAUNCH_PREMIUM_APP) = %v; want [SKU_A]", got)
		}
	})

	t.Run("OKBuiltinDocument", func(t *testing.T) {
		c, err := license.ParseCatalog(marshal(t, mustBuiltin(t)))
		if err != nil {
			t.Fatalf("ParseCatalog(re-encoded built-in catalog) = %v; want nil", err)
		}
		if got := c.SKUPartNumbers(); len(got) != 3 {
			t.Errorf("SKUPartNumbers() = %v; want 3 products", got)
		}
	})

	tests := []struct {
		name   string
		spoil  func(c *license.Catalog)
		raw    func(doc string) string // edits the encoded document instead
		inMsg  string
		should string
	}{
		{name: "UnknownField", raw: func(doc string) string {
			return strings.Replace(doc, `"displayName":"App A"`, `"displayName":"App A","colour":"red"`, 1)
		}, inMsg: "colour"},
		{name: "UnknownTopLevelField", raw: func(doc string) string {
			return strings.Replace(doc, `{"apps":`, `{"version":2,"apps":`, 1)
		}, inMsg: "version"},
		{name: "NotJSON", raw: func(string) string { return "apps: []" }, inMsg: "catalog"},
		{name: "EmptyInput", raw: func(string) string { return "" }, inMsg: "catalog"},
		{name: "TrailingDocument", raw: func(doc string) string { return doc + `{"apps":[]}` }, inMsg: "catalog"},
		{name: "WrongType", raw: func(doc string) string {
			return strings.Replace(doc, `"triggers":["SIGN_IN","LAUNCH_PREMIUM_APP"]`, `"triggers":"SIGN_IN"`, 1)
		}, inMsg: "catalog"},
		{name: "EmptyObject", raw: func(string) string { return "{}" }, inMsg: "at least one app"},
		{name: "NoApps", spoil: func(c *license.Catalog) { c.Apps = nil }, inMsg: "at least one app"},
		{name: "NoProducts", spoil: func(c *license.Catalog) { c.Products = nil }, inMsg: "at least one app and one product"},
		{name: "DuplicateApp", spoil: func(c *license.Catalog) { c.Apps = append(c.Apps, c.Apps[0]) }, inMsg: "APP_A listed twice"},
		{name: "DuplicateProduct", spoil: func(c *license.Catalog) { c.Products = append(c.Products, c.Products[0]) }, inMsg: "SKU_A listed twice"},
		{name: "LowerCaseAppID", spoil: func(c *license.Catalog) { c.Apps[0].ID = "app_a" }, inMsg: "app_a"},
		{name: "AppWithoutTriggers", spoil: func(c *license.Catalog) { c.Apps[1].Triggers = nil }, inMsg: "APP_B"},
		{name: "AppWithoutDisplayName", spoil: func(c *license.Catalog) { c.Apps[1].DisplayName = "" }, inMsg: "displayName"},
		{name: "UnknownTrigger", spoil: func(c *license.Catalog) { c.Apps[0].Triggers = append(c.Apps[0].Triggers, "DANCE") }, inMsg: `unknown trigger "DANCE"`},
		{name: "BadSkuPartNumber", spoil: func(c *license.Catalog) { c.Products[0].SkuPartNumber = "sku a" }, inMsg: `"sku a"`},
		{name: "SkuPartNumberWithADelimiter", spoil: func(c *license.Catalog) { c.Products[0].SkuPartNumber = "SKU|A" }, inMsg: `"SKU|A"`},
		{name: "BadSkuGUID", spoil: func(c *license.Catalog) { c.Products[0].SkuID = "not-a-guid" }, inMsg: "GUID"},
		{name: "UpperCaseSkuGUID", spoil: func(c *license.Catalog) { c.Products[0].SkuID = "0000000A-0000-4000-8000-000000000001" }, inMsg: "lower-case GUID"},
		{name: "ProductWithoutDisplayName", spoil: func(c *license.Catalog) { c.Products[0].DisplayName = "" }, inMsg: "displayName"},
		{name: "BadPlanGUID", spoil: func(c *license.Catalog) { c.Products[0].ServicePlans[1].ID = "0000000a-0000-4000-8000-00000000zzzz" }, inMsg: "00000000zzzz"},
		{name: "PlanWithoutName", spoil: func(c *license.Catalog) { c.Products[0].ServicePlans[1].Name = "" }, inMsg: "name"},
		{name: "DuplicatePlan", spoil: func(c *license.Catalog) { c.Products[0].ServicePlans[1].ID = c.Products[0].ServicePlans[0].ID }, inMsg: "listed twice"},
		{name: "NoPlans", spoil: func(c *license.Catalog) { c.Products[0].ServicePlans = nil }, inMsg: "service plans"},
		{name: "NoCoverage", spoil: func(c *license.Catalog) { c.Products[0].Covers = nil }, inMsg: "covered apps"},
		{name: "CoverageOfUnknownApp", spoil: func(c *license.Catalog) { c.Products[0].Covers[0].App = "APP_Z" }, inMsg: `unknown app "APP_Z"`},
		{name: "CoverageTwice", spoil: func(c *license.Catalog) {
			c.Products[0].Covers = append(c.Products[0].Covers, c.Products[0].Covers[0])
		}, inMsg: "twice"},
		{name: "CoverageWithoutTriggers", spoil: func(c *license.Catalog) { c.Products[0].Covers[0].Triggers = nil }, inMsg: "no trigger"},
		{name: "RequiredPlanNotAmongPlans", spoil: func(c *license.Catalog) {
			c.Products[0].Covers[0].RequiredPlan = "0000000a-0000-4000-8000-0000000000ff"
		}, inMsg: "not one of its service plans"},
		{name: "RequiredPlanMissing", spoil: func(c *license.Catalog) { c.Products[0].Covers[0].RequiredPlan = "" }, inMsg: "required plan"},
		{name: "TriggerNotOfTheApp", spoil: func(c *license.Catalog) {
			c.Products[0].Covers[0].Triggers = []license.Trigger{license.TriggerTriggerPremiumFlow}
		}, inMsg: "app APP_A has no trigger TRIGGER_PREMIUM_FLOW"},
	}
	base := string(marshal(t, testCatalog()))
	for _, tt := range tests {
		t.Run("Err"+tt.name, func(t *testing.T) {
			var doc string
			if tt.raw != nil {
				doc = tt.raw(base)
			} else {
				c := testCatalog()
				tt.spoil(c)
				doc = string(marshal(t, c))
			}
			if doc == base {
				t.Fatalf("the test did not change the document")
			}
			c, err := license.ParseCatalog([]byte(doc))
			if err == nil {
				t.Fatalf("ParseCatalog(%s) = catalog of %v, nil; want an error", shorten(doc), c.SKUPartNumbers())
			}
			if c != nil {
				t.Errorf("ParseCatalog(%s) = %v, %v; want nil catalog with the error", shorten(doc), c.SKUPartNumbers(), err)
			}
			if !strings.Contains(err.Error(), tt.inMsg) {
				t.Errorf("ParseCatalog(%s) = %v; want an error mentioning %q", shorten(doc), err, tt.inMsg)
			}
		})
	}
}

func TestCatalogExtend(t *testing.T) {
	t.Run("AddsAndReplaces", func(t *testing.T) {
		base := mustBuiltin(t)
		ext := testCatalog()
		ext.Apps = append(ext.Apps, license.App{ID: appAutomate, DisplayName: "Power Automate (new name)", Triggers: base.App(appAutomate).Triggers})
		flow := *base.SKU(skuFlow)
		flow.DisplayName = "Power Automate per user plan (2025)"
		ext.Products = append(ext.Products, flow)

		got, err := base.Extend(ext)
		if err != nil {
			t.Fatalf("Extend() = %v; want nil", err)
		}
		if a := got.App("APP_A"); a == nil || a.DisplayName != "App A" {
			t.Errorf("Extend().App(%q) = %v; want the added app", "APP_A", a)
		}
		if a := got.App(appAutomate); a == nil || a.DisplayName != "Power Automate (new name)" {
			t.Errorf("Extend().App(%q) = %v; want the replacement", appAutomate, a)
		}
		if a := got.App(appPowerApps); a == nil || a.DisplayName != "Power Apps" {
			t.Errorf("Extend().App(%q) = %v; want the built-in app kept", appPowerApps, a)
		}
		if want := []string{skuPowerApps, skuFlow, skuPremium, "SKU_A"}; !slices.Equal(got.SKUPartNumbers(), want) {
			t.Errorf("Extend().SKUPartNumbers() = %v; want %v (replacements keep their place)", got.SKUPartNumbers(), want)
		}
		if s := got.SKU(skuFlow); s == nil || s.DisplayName != "Power Automate per user plan (2025)" {
			t.Errorf("Extend().SKU(%q) = %v; want the replacement", skuFlow, s)
		}
		if got, want := len(got.Apps), 4; got != want {
			t.Errorf("Extend() has %d apps; want %d", got, want)
		}
		if got := got.SKUsCovering("APP_A", license.TriggerLaunchPremiumApp); !slices.Equal(got, []string{"SKU_A"}) {
			t.Errorf("Extend().SKUsCovering(APP_A, LAUNCH_PREMIUM_APP) = %v; want [SKU_A]", got)
		}

		// The receiver is unchanged.
		if base.App("APP_A") != nil || base.SKU("SKU_A") != nil {
			t.Errorf("after Extend, the base catalog holds the extension's entries")
		}
		if got := base.SKU(skuFlow).DisplayName; got != "Power Automate per user plan" {
			t.Errorf("after Extend, base SKU(%q).DisplayName = %q; want it unchanged", skuFlow, got)
		}
		if got := base.App(appAutomate).DisplayName; got != "Power Automate" {
			t.Errorf("after Extend, base App(%q).DisplayName = %q; want it unchanged", appAutomate, got)
		}
	})

	t.Run("AddsProductForBuiltinApp", func(t *testing.T) {
		base := mustBuiltin(t)
		ext := &license.Catalog{Products: []license.SKU{{
			SkuID:         "0000000b-0000-4000-8000-000000000001",
			SkuPartNumber: "POWERAPPS_PER_APP",
			DisplayName:   "Power Apps per app plan",
			ServicePlans:  []license.ServicePlan{{ID: "0000000b-0000-4000-8000-0000000000b1", Name: "POWERAPPS_PER_APP", DisplayName: "Power Apps per app"}},
			Covers:        []license.Coverage{{App: appPowerApps, Triggers: []license.Trigger{license.TriggerLaunchPremiumApp}, RequiredPlan: "0000000b-0000-4000-8000-0000000000b1"}},
		}}}
		got, err := base.Extend(ext)
		if err != nil {
			t.Fatalf("Extend(product for %s) = %v; want nil", appPowerApps, err)
		}
		if want := []string{skuPowerApps, "POWERAPPS_PER_APP"}; !slices.Equal(got.SKUsCovering(appPowerApps, license.TriggerLaunchPremiumApp), want) {
			t.Errorf("SKUsCovering(%s, LAUNCH_PREMIUM_APP) = %v; want %v", appPowerApps, got.SKUsCovering(appPowerApps, license.TriggerLaunchPremiumApp), want)
		}
	})

	errTests := []struct {
		name  string
		ext   func(base *license.Catalog) *license.Catalog
		inMsg string
	}{
		{"ErrAppLosesTriggerAProductCovers", func(base *license.Catalog) *license.Catalog {
			return &license.Catalog{Apps: []license.App{{ID: appAutomate, DisplayName: "Power Automate", Triggers: []license.Trigger{license.TriggerSignIn}}}}
		}, "has no trigger"},
		{"ErrProductOfUnknownApp", func(base *license.Catalog) *license.Catalog {
			ext := testCatalog()
			ext.Apps = nil
			return ext
		}, `unknown app "APP_A"`},
		{"ErrReplacementWithBadGUID", func(base *license.Catalog) *license.Catalog {
			flow := *base.SKU(skuFlow)
			flow.SkuID = "FLOW"
			return &license.Catalog{Products: []license.SKU{flow}}
		}, "GUID"},
		{"ErrReplacementDropsRequiredPlan", func(base *license.Catalog) *license.Catalog {
			flow := *base.SKU(skuFlow)
			flow.ServicePlans = flow.ServicePlans[:2]
			return &license.Catalog{Products: []license.SKU{flow}}
		}, "not one of its service plans"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			base := mustBuiltin(t)
			got, err := base.Extend(tt.ext(base))
			if err == nil || got != nil {
				t.Fatalf("Extend() = %v, %v; want nil and an error", got, err)
			}
			if !strings.Contains(err.Error(), tt.inMsg) {
				t.Errorf("Extend() = %v; want an error mentioning %q", err, tt.inMsg)
			}
			if base.SKU(skuFlow).SkuID != "4a51bf65-409c-4a91-b845-1121b571cc9d" || len(base.App(appAutomate).Triggers) != 8 {
				t.Errorf("after a refused Extend, the base catalog changed")
			}
		})
	}
}
