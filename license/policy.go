package license

import (
	"fmt"
	"slices"
	"strings"
)

// NewPolicy is the input of creating a policy.
type NewPolicy struct {
	TenantID    string
	Name        string
	AppID       string
	Products    []PolicyProduct
	Enabled     bool
	AutoCreated bool
}

// SKULookup returns the SKU of one of a tenant's products.
// Returns ENOTFOUND if the product does not exist.
type SKULookup func(productID string) (*SKU, error)

// CheckProducts checks an ordered product list for a policy of app: 1 to
// MaxPolicyProducts products, none twice, each one serving app, and disabled
// service plans that each product has and that app does not need. It returns
// the list with plan ids normalized (lower case, sorted, without repeats).
// Returns the problems of every product (EINVALID or ENOTFOUND) on its field:
// "products", "products[i].productId", "products[i].disabledServicePlanIds[j]";
// an unknown app is ENOTFOUND on "appId".
func (c *Catalog) CheckProducts(app string, products []PolicyProduct, skuOf SKULookup) ([]PolicyProduct, error) {
	var problems Problems
	if c.App(app) == nil {
		problems.Add("appId", Errorf(ENOTFOUND, "App %q was not found in the catalog.", app))
	}
	switch {
	case len(products) == 0:
		problems.Add("products", Errorf(EINVALID, "A policy needs at least one product."))
	case len(products) > MaxPolicyProducts:
		problems.Add("products", Errorf(EINVALID, "A policy can have a primary product and at most %d backup products; %d products were given.", MaxBackupProducts, len(products)))
	}
	out := make([]PolicyProduct, len(products))
	for i, pp := range products {
		at := fmt.Sprintf("products[%d]", i)
		if slices.ContainsFunc(products[:i], func(q PolicyProduct) bool { return q.ProductID == pp.ProductID }) {
			problems.Add(at+".productId", Errorf(EINVALID, "Product %q appears twice; a product can be in a policy only once.", pp.ProductID))
			continue
		}
		sku, err := skuOf(pp.ProductID)
		if code := ErrorCode(err); code == EINTERNAL || code == EUNAVAILABLE {
			return nil, err
		}
		if err != nil {
			problems.Add(at+".productId", err)
			continue
		}
		plans, err := checkDisabledPlans(c.App(app), sku, pp.ProductID, pp.DisabledServicePlanIDs, false)
		if err != nil {
			problems.Add(at, err)
			continue
		}
		out[i] = PolicyProduct{ProductID: pp.ProductID, DisabledServicePlanIDs: plans}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// checkDisabledPlans validates plan ids against sku for app (nil: an app
// the catalog lacks, whose needs can't be told: only the product's plans are
// checked). With lenient set, ids the product does not have are dropped
// instead of refused (used when one list is applied to every product of a
// policy). A product that can't serve the app is a problem on "productId",
// a plan on "disabledServicePlanIds[j]"; every problem is returned.
func checkDisabledPlans(app *App, sku *SKU, productID string, ids []string, lenient bool) ([]string, error) {
	var problems Problems
	var cov *Coverage
	if app != nil {
		if cov = sku.Coverage(app.ID); cov == nil {
			problems.Add("productId", Errorf(EINVALID, "Product %s (%s) can't serve %s; choose a product that includes it.", productID, sku.DisplayName, app.DisplayName))
		}
	}
	out := make([]string, 0, len(ids))
	for j, id := range ids {
		at := fmt.Sprintf("disabledServicePlanIds[%d]", j)
		plan := sku.Plan(id)
		if plan == nil {
			if !lenient {
				problems.Add(at, Errorf(EINVALID, "Service plan %q is not part of %s.", id, sku.DisplayName))
			}
			continue
		}
		if cov != nil && plan.ID == cov.RequiredPlan {
			problems.Add(at, Errorf(EINVALID, "Service plan %s (%s) can't be turned off: %s needs it, and the license would be useless without it.", plan.Name, plan.ID, app.DisplayName))
			continue
		}
		if !slices.Contains(out, plan.ID) {
			out = append(out, plan.ID)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// Rename sets the policy's name. Returns EINVALID for a bad name.
func (p *Policy) Rename(name string) error {
	if err := ValidateName("policy name", name); err != nil {
		return OnField("name", err)
	}
	p.Name = strings.TrimSpace(name)
	return nil
}

// AddBackup appends a backup product. Returns EINVALID if the product is
// already in the policy, the policy already has MaxBackupProducts backups,
// the product does not serve the app, or a plan is unknown or required.
func (p *Policy) AddBackup(c *Catalog, pp PolicyProduct, skuOf SKULookup) error {
	var problems Problems
	if p.Position(pp.ProductID) >= 0 {
		problems.Add("productId", Errorf(EINVALID, "Product %q is already in policy %q; a product can be in a policy only once.", pp.ProductID, p.Name))
	} else if len(p.Products) >= MaxPolicyProducts {
		problems.Add("productId", Errorf(EINVALID, "Policy %q already has %d backup products, the most a policy can have.", p.Name, MaxBackupProducts))
	}
	sku, err := skuOf(pp.ProductID)
	if code := ErrorCode(err); code == EINTERNAL || code == EUNAVAILABLE {
		return err
	}
	if err != nil {
		problems.Add("productId", err)
		return problems.oneEach().Err()
	}
	plans, err := checkDisabledPlans(c.App(p.AppID), sku, pp.ProductID, pp.DisabledServicePlanIDs, false)
	problems.Add("", err) // on productId or disabledServicePlanIds[j]
	if err := problems.oneEach().Err(); err != nil {
		return err
	}
	p.Products = append(p.Products, PolicyProduct{ProductID: pp.ProductID, DisabledServicePlanIDs: plans})
	return nil
}

// RemoveProduct takes a product out of the policy. Holders of its licenses keep
// them. Returns ENOTFOUND if the product is not in the policy and ECONFLICT if it
// is the last one.
func (p *Policy) RemoveProduct(productID string) error {
	i, err := p.mustPosition(productID)
	if err != nil {
		return OnField("productId", err)
	}
	if len(p.Products) == 1 {
		return Errorf(ECONFLICT, "Product %q is the only product of policy %q, and a policy needs at least one; turn the policy off instead.", productID, p.Name)
	}
	p.Products = slices.Delete(p.Products, i, i+1)
	return nil
}

// Move moves a product one place up (towards primary) or down. Returns
// ENOTFOUND if the product is not in the policy and EINVALID if it can't move
// that way.
func (p *Policy) Move(productID string, d Direction) error {
	i, err := p.mustPosition(productID)
	if err != nil {
		return OnField("productId", err)
	}
	j := i - 1
	switch d {
	case Up:
		if i == 0 {
			return OnField("direction", Errorf(EINVALID, "Product %q is already first in policy %q.", productID, p.Name))
		}
	case Down:
		if i == len(p.Products)-1 {
			return OnField("direction", Errorf(EINVALID, "Product %q is already last in policy %q.", productID, p.Name))
		}
		j = i + 1
	default:
		return OnField("direction", Errorf(EINVALID, "Direction must be UP or DOWN; got %q.", d))
	}
	p.Products[i], p.Products[j] = p.Products[j], p.Products[i]
	return nil
}

// Reorder puts the products in the given order, which must name each of the
// policy's products exactly once. Returns EINVALID otherwise.
func (p *Policy) Reorder(productIDs []string) error {
	var problems Problems
	if len(productIDs) != len(p.Products) {
		problems.Add("productIds", Errorf(EINVALID, "The new order must list each of the policy's %d products exactly once; %d were given.", len(p.Products), len(productIDs)))
	}
	out := make([]PolicyProduct, 0, len(productIDs))
	for i, id := range productIDs {
		at := fmt.Sprintf("productIds[%d]", i)
		if slices.Contains(productIDs[:i], id) {
			problems.Add(at, Errorf(EINVALID, "Product %q is listed twice in the new order.", id))
			continue
		}
		j := p.Position(id)
		if j < 0 {
			problems.Add(at, Errorf(EINVALID, "Product %q is not in policy %q.", id, p.Name))
			continue
		}
		out = append(out, p.Products[j])
	}
	if err := problems.Err(); err != nil {
		return err
	}
	p.Products = out
	return nil
}

// SetDisabledPlans sets which service plans a claimed license leaves off, for
// one product, or for every product when productID is "" (each product then
// turns off those of the plans it has; a plan none of them has is refused).
// Returns ENOTFOUND if the product is not in the policy, EINVALID for a plan
// that is unknown or that the policy's app needs.
func (p *Policy) SetDisabledPlans(c *Catalog, productID string, planIDs []string, skuOf SKULookup) error {
	app := c.App(p.AppID)
	if app == nil {
		return Errorf(ENOTFOUND, "App %q was not found in the catalog.", p.AppID)
	}
	targets := make([]int, 0, len(p.Products))
	if productID != "" {
		i, err := p.mustPosition(productID)
		if err != nil {
			return OnField("productId", err)
		}
		targets = append(targets, i)
	} else {
		for i := range p.Products {
			targets = append(targets, i)
		}
	}
	next := slices.Clone(p.Products)
	known := map[string]bool{}
	var problems Problems
	for _, i := range targets {
		sku, err := skuOf(next[i].ProductID)
		if err != nil {
			return err
		}
		for _, id := range planIDs {
			if plan := sku.Plan(id); plan != nil {
				known[plan.ID] = true
			}
		}
		plans, err := checkDisabledPlans(app, sku, next[i].ProductID, planIDs, productID == "")
		if err != nil {
			problems.Add("", err)
			continue
		}
		next[i].DisabledServicePlanIDs = plans
	}
	for j, id := range planIDs {
		if !known[strings.ToLower(id)] {
			problems.Add(fmt.Sprintf("disabledServicePlanIds[%d]", j), Errorf(EINVALID, "Service plan %q is not part of any product of policy %q.", id, p.Name))
		}
	}
	if err := problems.oneEach().Err(); err != nil {
		return err
	}
	p.Products = next
	return nil
}

func (p *Policy) mustPosition(productID string) (int, error) {
	i := p.Position(productID)
	if i < 0 {
		return -1, Errorf(ENOTFOUND, "Product %q is not in policy %q.", productID, p.Name)
	}
	return i, nil
}

// CheckAssignedPlans checks the service plans to leave off in a license of p
// assigned directly: each must be one of the product's plans. It returns them
// normalized. Returns EINVALID.
func CheckAssignedPlans(p *Product, ids []string) ([]string, error) {
	if p.SKU == nil {
		return nil, Errorf(ECONFLICT, "Product %q is of a SKU the catalog no longer lists.", p.ID)
	}
	var problems Problems
	out := make([]string, 0, len(ids))
	for j, id := range ids {
		plan := p.SKU.Plan(id)
		if plan == nil {
			problems.Add(fmt.Sprintf("disabledServicePlanIds[%d]", j), Errorf(EINVALID, "Service plan %q is not part of %s.", id, p.SKU.DisplayName))
			continue
		}
		if !slices.Contains(out, plan.ID) {
			out = append(out, plan.ID)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}
