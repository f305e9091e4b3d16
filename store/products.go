package store

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// AddProduct adds a pool of licenses of a catalog SKU to a tenant.
func (s *Store) AddProduct(ctx context.Context, tenantID, skuPartNumber string, quantity int) (*license.Product, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, license.OnField("tenantId", err)
	}
	var problems license.Problems
	if s.catalog.SKU(skuPartNumber) == nil {
		problems.Add("skuPartNumber", license.Errorf(license.EINVALID, "Product %q is not in the catalog; known products are %s.", skuPartNumber, strings.Join(s.catalog.SKUPartNumbers(), ", ")))
	}
	problems.Add("quantity", license.ValidateQuantity(quantity))
	if err := problems.Err(); err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		n, err := s.nextNumber(ctx, k, "seq_product", tenantID)
		if err != nil {
			return nil, err
		}
		entry, retention := s.audited(ctx, "addProduct", []string{license.ProductID(tenantID, n)},
			license.FieldChange{Field: "skuPartNumber", After: license.Text(skuPartNumber)},
			license.FieldChange{Field: "totalLicenses", After: license.Text(strconv.Itoa(quantity))})
		_, err = s.runScript(ctx, addProductScript, subject{tenantID: tenantID, sku: skuPartNumber},
			[]string{k.tenant(), k.products(), k.product(n), k.skus(), k.events(), k.audit()},
			n, skuPartNumber, quantity, ms(s.Now()), eventWindow, entry, retention)
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return s.Product(ctx, license.ProductID(tenantID, n))
	}
	return nil, busy()
}

// nextNumber reads the number the next object of a kind will take within
// a tenant; the script that creates it takes the number (lib/number.lua),
// so a creation that is refused takes none, and one that finds it taken
// reads again.
func (s *Store) nextNumber(ctx context.Context, k keys, field, tenantID string) (int64, error) {
	var exists *redis.IntCmd
	var last *redis.StringCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, k.tenant())
		last = p.HGet(ctx, k.tenant(), field)
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return 0, s.fail(err)
	}
	if exists.Val() == 0 {
		return 0, notFoundTenant(tenantID)
	}
	return number(last.Val()) + 1, nil
}

// SetLicenseQuantity sets a product's total number of licenses.
func (s *Store) SetLicenseQuantity(ctx context.Context, productID string, quantity int) (*license.Product, error) {
	if err := license.ValidateQuantity(quantity); err != nil {
		return nil, s.withMissing(ctx, license.OnField("quantity", err), "productId", productID)
	}
	tenantID, n, err := license.ParseProductID(productID)
	if err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	fed, err := s.waitlistsFed(ctx, tenantID, func(id string) bool { return id == productID })
	if err != nil {
		return nil, err
	}
	entry, retention := s.audited(ctx, "setLicenseQuantity", []string{productID})
	if _, err := s.runFeeding(ctx, setQuantityScript, subject{productID: productID, n: quantity}, tenantID, fed,
		[]string{k.product(n), k.events(), k.audit()}, nil, quantity, n, eventWindow, entry, retention); err != nil {
		return nil, err
	}
	return s.Product(ctx, productID)
}

// SetLowLicenseThreshold sets the available count at or below which a
// product is running low (0: off).
func (s *Store) SetLowLicenseThreshold(ctx context.Context, productID string, threshold int) (*license.Product, error) {
	if err := license.ValidateThreshold(threshold); err != nil {
		return nil, s.withMissing(ctx, license.OnField("threshold", err), "productId", productID)
	}
	tenantID, n, err := license.ParseProductID(productID)
	if err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	entry, retention := s.audited(ctx, "setLowLicenseThreshold", []string{productID})
	if _, err := s.runScript(ctx, setThresholdScript, subject{productID: productID},
		[]string{k.product(n), k.events(), k.audit()}, threshold, n, eventWindow, entry, retention); err != nil {
		return nil, err
	}
	return s.Product(ctx, productID)
}

// withMissing returns err, a refusal of an argument, with a NOT_FOUND on
// field when id names no product, policy or license request of its tenant:
// a request with a bad argument beside an id of nothing hears of both. A
// failure to read is left to the caller's own read.
func (s *Store) withMissing(ctx context.Context, err error, field, id string) error {
	var missing error
	switch {
	case isID(license.ParseProductID, id):
		_, missing = s.Product(ctx, id)
	case isID(license.ParsePolicyID, id):
		_, missing = s.Policy(ctx, id)
	case isID(license.ParseRequestID, id):
		_, missing = s.LicenseRequest(ctx, id)
	default:
		missing = license.Errorf(license.ENOTFOUND, "%s %q was not found.", license.KindOf(id), id)
	}
	if license.ErrorCode(missing) != license.ENOTFOUND {
		return err
	}
	var problems license.Problems
	problems.Add("", err)
	problems.Add(field, missing)
	return problems.Err()
}

// isID says whether parse reads id.
func isID(parse func(string) (string, int64, error), id string) bool {
	_, _, err := parse(id)
	return err == nil
}

// Product returns a product.
func (s *Store) Product(ctx context.Context, id string) (*license.Product, error) {
	ps, err := s.ProductsByID(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// ProductsByID returns products in the given order, in one round trip.
func (s *Store) ProductsByID(ctx context.Context, ids []string) ([]*license.Product, error) {
	type ref struct {
		tenant string
		n      int64
	}
	refs := make([]ref, len(ids))
	for i, id := range ids {
		t, n, err := license.ParseProductID(id)
		if err != nil {
			return nil, err
		}
		refs[i] = ref{t, n}
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = p.HGetAll(ctx, s.keys(r.tenant).product(r.n))
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	out := make([]*license.Product, len(ids))
	for i, c := range cmds {
		p := decodeProduct(s.catalog, refs[i].tenant, refs[i].n, c.Val())
		if p == nil {
			return nil, notFoundProduct(ids[i])
		}
		out[i] = p
	}
	return out, nil
}

// Products returns a tenant's products in the order they were added.
func (s *Store) Products(ctx context.Context, tenantID string) ([]*license.Product, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	nums, err := s.rdb.ZRange(ctx, s.keys(tenantID).products(), 0, -1).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	ids := make([]string, len(nums))
	for i, v := range nums {
		n, _ := strconv.ParseInt(v, 10, 64)
		ids[i] = license.ProductID(tenantID, n)
	}
	return s.ProductsByID(ctx, ids)
}

// skuLookup returns a license.SKULookup for products of one tenant.
func (s *Store) skuLookup(ctx context.Context, tenantID string) license.SKULookup {
	return func(productID string) (*license.SKU, error) {
		t, _, err := license.ParseProductID(productID)
		if err != nil || t != tenantID {
			return nil, notFoundProduct(productID)
		}
		p, err := s.Product(ctx, productID)
		if err != nil {
			return nil, err
		}
		if p.SKU == nil {
			return nil, license.Errorf(license.ECONFLICT, "Product %q is of a SKU the catalog no longer lists.", productID)
		}
		return p.SKU, nil
	}
}
