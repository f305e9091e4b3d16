package license

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Trigger is the action that caused a claim (DESIGN.md rule 9).
type Trigger string

// The triggers autoclaim knows. A catalog may only name these.
const (
	TriggerSignIn                        Trigger = "SIGN_IN"
	TriggerLicenseRequest                Trigger = "LICENSE_REQUEST"
	TriggerLaunchPremiumApp              Trigger = "LAUNCH_PREMIUM_APP"
	TriggerLaunchManagedEnvironmentApp   Trigger = "LAUNCH_MANAGED_ENVIRONMENT_APP"
	TriggerTriggerPremiumFlow            Trigger = "TRIGGER_PREMIUM_FLOW"
	TriggerSavePremiumFlow               Trigger = "SAVE_PREMIUM_FLOW"
	TriggerTurnOnPremiumFlow             Trigger = "TURN_ON_PREMIUM_FLOW"
	TriggerTriggerPremiumFlowAttendedRPA Trigger = "TRIGGER_PREMIUM_FLOW_ATTENDED_RPA"
	TriggerSavePremiumFlowAttendedRPA    Trigger = "SAVE_PREMIUM_FLOW_ATTENDED_RPA"
	TriggerTurnOnPremiumFlowAttendedRPA  Trigger = "TURN_ON_PREMIUM_FLOW_ATTENDED_RPA"
)

// TriggerWaitlist is the trigger of a claim that gave a license to a user
// waiting on a policy's waitlist. No app names it; a catalog may not.
const TriggerWaitlist Trigger = "WAITLIST"

// AllTriggers lists every trigger an app's claim may name, in the order the
// API declares them.
var AllTriggers = []Trigger{
	TriggerSignIn, TriggerLicenseRequest, TriggerLaunchPremiumApp, TriggerLaunchManagedEnvironmentApp,
	TriggerTriggerPremiumFlow, TriggerSavePremiumFlow, TriggerTurnOnPremiumFlow,
	TriggerTriggerPremiumFlowAttendedRPA, TriggerSavePremiumFlowAttendedRPA, TriggerTurnOnPremiumFlowAttendedRPA,
}

// ServicePlan is one app or service that a product's license includes.
type ServicePlan struct {
	ID          string `json:"id"`          // servicePlanId GUID
	Name        string `json:"name"`        // service plan name, e.g. FLOW_PER_USER
	DisplayName string `json:"displayName"` // friendly name
}

// App is an app that can trigger claims.
type App struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"displayName"`
	Triggers    []Trigger `json:"triggers"`
}

// Coverage says that a product covers some triggers of one app, and which of the
// product's service plans the app needs (that plan can't be disabled in a policy).
type Coverage struct {
	App          string    `json:"app"`
	Triggers     []Trigger `json:"triggers"`
	RequiredPlan string    `json:"requiredPlan"` // a servicePlanId of the product
}

// SKU is a product that can be bought: its identifiers, service plans and the
// (app, trigger) pairs it covers.
type SKU struct {
	SkuID         string        `json:"skuId"`
	SkuPartNumber string        `json:"skuPartNumber"`
	DisplayName   string        `json:"displayName"`
	ServicePlans  []ServicePlan `json:"servicePlans"`
	Covers        []Coverage    `json:"covers"`
}

// Coverage returns the coverage of app by the SKU, or nil if it does not serve app.
func (s *SKU) Coverage(app string) *Coverage {
	for i := range s.Covers {
		if s.Covers[i].App == app {
			return &s.Covers[i]
		}
	}
	return nil
}

// Serves reports whether the SKU covers at least one trigger of app.
func (s *SKU) Serves(app string) bool { return s.Coverage(app) != nil }

// CoversTrigger reports whether the SKU covers trigger of app.
func (s *SKU) CoversTrigger(app string, trigger Trigger) bool {
	c := s.Coverage(app)
	return c != nil && slices.Contains(c.Triggers, trigger)
}

// Plan returns the service plan with the given id, or nil.
func (s *SKU) Plan(id string) *ServicePlan {
	for i := range s.ServicePlans {
		if strings.EqualFold(s.ServicePlans[i].ID, id) {
			return &s.ServicePlans[i]
		}
	}
	return nil
}

// Apps returns the ids of the apps the SKU serves, sorted.
func (s *SKU) Apps() []string {
	out := make([]string, 0, len(s.Covers))
	for _, c := range s.Covers {
		out = append(out, c.App)
	}
	sort.Strings(out)
	return out
}

// Triggers returns every trigger the SKU covers, for any app, in API order.
func (s *SKU) Triggers() []Trigger {
	var out []Trigger
	for _, t := range AllTriggers {
		for _, c := range s.Covers {
			if slices.Contains(c.Triggers, t) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// Supersedes reports whether the SKU covers everything other covers: every
// app other serves, with each trigger other covers there. A SKU that covers
// nothing, and the SKU itself, are never superseded.
func (s *SKU) Supersedes(other *SKU) bool {
	if other == nil || other.SkuPartNumber == s.SkuPartNumber || len(other.Covers) == 0 {
		return false
	}
	for _, c := range other.Covers {
		mine := s.Coverage(c.App)
		if mine == nil {
			return false
		}
		for _, t := range c.Triggers {
			if !slices.Contains(mine.Triggers, t) {
				return false
			}
		}
	}
	return true
}

// Catalog is the set of apps and products autoclaim knows. It is read-only once built.
type Catalog struct {
	Apps     []App `json:"apps"`
	Products []SKU `json:"products"`

	apps map[string]*App
	skus map[string]*SKU
}

//go:embed catalog.json
var builtinCatalog []byte

// BuiltinCatalog returns the catalog embedded in the binary.
func BuiltinCatalog() *Catalog {
	c, err := ParseCatalog(builtinCatalog)
	if err != nil {
		panic("license: built-in catalog is invalid: " + err.Error())
	}
	return c
}

// ParseCatalog decodes and validates a catalog document (JSON).
func ParseCatalog(data []byte) (*Catalog, error) {
	c, err := decodeCatalog(data)
	if err != nil {
		return nil, err
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	return c, nil
}

// ExtendWith returns a new catalog holding c's entries plus those of the
// document data, which may name c's apps without repeating them. The result
// is validated as a whole.
func (c *Catalog) ExtendWith(data []byte) (*Catalog, error) {
	ext, err := decodeCatalog(data)
	if err != nil {
		return nil, err
	}
	return c.Extend(ext)
}

// decodeCatalog reads exactly one JSON document with no unknown fields.
func decodeCatalog(data []byte) (*Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("catalog: unexpected data after the catalog document")
	}
	return &c, nil
}

// Extend returns a new catalog holding c's entries plus those of ext. An entry
// of ext with the id of an existing one replaces it.
func (c *Catalog) Extend(ext *Catalog) (*Catalog, error) {
	out := &Catalog{}
	out.Apps = append(out.Apps, c.Apps...)
	for _, a := range ext.Apps {
		if i := slices.IndexFunc(out.Apps, func(x App) bool { return x.ID == a.ID }); i >= 0 {
			out.Apps[i] = a
		} else {
			out.Apps = append(out.Apps, a)
		}
	}
	out.Products = append(out.Products, c.Products...)
	for _, p := range ext.Products {
		if i := slices.IndexFunc(out.Products, func(x SKU) bool { return x.SkuPartNumber == p.SkuPartNumber }); i >= 0 {
			out.Products[i] = p
		} else {
			out.Products = append(out.Products, p)
		}
	}
	if err := out.index(); err != nil {
		return nil, err
	}
	return out, nil
}

var (
	appIDPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
	// skuPattern admits the part numbers Microsoft uses, such as
	// Microsoft_365_E3_(no_Teams); never a character the store's records
	// delimit with (| , : ; = and controls).
	skuPattern  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.()+/-]{0,63}$`)
	guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

func (c *Catalog) index() error {
	c.apps = make(map[string]*App, len(c.Apps))
	c.skus = make(map[string]*SKU, len(c.Products))
	if len(c.Apps) == 0 || len(c.Products) == 0 {
		return fmt.Errorf("catalog: needs at least one app and one product")
	}
	for i := range c.Apps {
		a := &c.Apps[i]
		if !appIDPattern.MatchString(a.ID) {
			return fmt.Errorf("catalog: app id %q must be upper case letters, digits and _", a.ID)
		}
		if c.apps[a.ID] != nil {
			return fmt.Errorf("catalog: app %s listed twice", a.ID)
		}
		if a.DisplayName == "" || len(a.Triggers) == 0 {
			return fmt.Errorf("catalog: app %s needs a displayName and triggers", a.ID)
		}
		for _, t := range a.Triggers {
			if !slices.Contains(AllTriggers, t) {
				return fmt.Errorf("catalog: app %s: unknown trigger %q", a.ID, t)
			}
		}
		c.apps[a.ID] = a
	}
	for i := range c.Products {
		s := &c.Products[i]
		if !skuPattern.MatchString(s.SkuPartNumber) {
			return fmt.Errorf("catalog: skuPartNumber %q must be a letter, then up to 63 letters, digits and _ . ( ) + / -", s.SkuPartNumber)
		}
		if c.skus[s.SkuPartNumber] != nil {
			return fmt.Errorf("catalog: product %s listed twice", s.SkuPartNumber)
		}
		if !guidPattern.MatchString(s.SkuID) || s.DisplayName == "" {
			return fmt.Errorf("catalog: product %s needs a lower-case GUID skuId and a displayName", s.SkuPartNumber)
		}
		if len(s.ServicePlans) == 0 || len(s.Covers) == 0 {
			return fmt.Errorf("catalog: product %s needs service plans and covered apps", s.SkuPartNumber)
		}
		seen := map[string]bool{}
		for _, p := range s.ServicePlans {
			if !guidPattern.MatchString(p.ID) || p.Name == "" {
				return fmt.Errorf("catalog: product %s: service plan %q needs a lower-case GUID id and a name", s.SkuPartNumber, p.ID)
			}
			if seen[p.ID] {
				return fmt.Errorf("catalog: product %s: service plan %s listed twice", s.SkuPartNumber, p.ID)
			}
			seen[p.ID] = true
		}
		apps := map[string]bool{}
		for _, cv := range s.Covers {
			app := c.apps[cv.App]
			if app == nil {
				return fmt.Errorf("catalog: product %s covers unknown app %q", s.SkuPartNumber, cv.App)
			}
			if apps[cv.App] {
				return fmt.Errorf("catalog: product %s covers app %s twice", s.SkuPartNumber, cv.App)
			}
			apps[cv.App] = true
			if len(cv.Triggers) == 0 {
				return fmt.Errorf("catalog: product %s covers app %s with no trigger", s.SkuPartNumber, cv.App)
			}
			for _, t := range cv.Triggers {
				if !slices.Contains(app.Triggers, t) {
					return fmt.Errorf("catalog: product %s: app %s has no trigger %s", s.SkuPartNumber, cv.App, t)
				}
			}
			if !seen[cv.RequiredPlan] {
				return fmt.Errorf("catalog: product %s: required plan %q for app %s is not one of its service plans", s.SkuPartNumber, cv.RequiredPlan, cv.App)
			}
		}
		c.skus[s.SkuPartNumber] = s
	}
	return nil
}

// App returns the app with the given id, or nil.
func (c *Catalog) App(id string) *App { return c.apps[id] }

// SKU returns the product with the given skuPartNumber, or nil.
func (c *Catalog) SKU(skuPartNumber string) *SKU { return c.skus[skuPartNumber] }

// SKUsCovering returns the skuPartNumbers of every product that covers trigger of app.
func (c *Catalog) SKUsCovering(app string, trigger Trigger) []string {
	var out []string
	for i := range c.Products {
		if c.Products[i].CoversTrigger(app, trigger) {
			out = append(out, c.Products[i].SkuPartNumber)
		}
	}
	return out
}

// Superseded returns the skuPartNumbers of the products the product
// skuPartNumber supersedes (SKU.Supersedes), in catalog order; none for a
// product the catalog does not know.
func (c *Catalog) Superseded(skuPartNumber string) []string {
	s := c.SKU(skuPartNumber)
	if s == nil {
		return nil
	}
	var out []string
	for i := range c.Products {
		if s.Supersedes(&c.Products[i]) {
			out = append(out, c.Products[i].SkuPartNumber)
		}
	}
	return out
}

// SKUPartNumbers returns the skuPartNumbers of every product, in catalog order.
func (c *Catalog) SKUPartNumbers() []string {
	out := make([]string, len(c.Products))
	for i := range c.Products {
		out[i] = c.Products[i].SkuPartNumber
	}
	return out
}
