package store

import "github.com/autoclaim/autoclaim/license"

// A product is a hash (see keys.product) with the fields sku
// (skuPartNumber), total and assigned (licenses), created (ms) and low (its
// low-license threshold; absent when off). The script add_product.lua
// writes it; the claim script reads it, and answers its fields for the
// product it claims from.

// decodeProduct reads the hash of a tenant's product number n; nil when the
// hash is empty (no such product).
func decodeProduct(c *license.Catalog, tenantID string, n int64, h map[string]string) *license.Product {
	if len(h) == 0 {
		return nil
	}
	return &license.Product{
		ID: license.ProductID(tenantID, n), TenantID: tenantID, SkuPartNumber: h["sku"], SKU: c.SKU(h["sku"]),
		TotalLicenses: int(intField(h, "total")), AssignedLicenses: int(intField(h, "assigned")), CreatedAt: fromMS(intField(h, "created")),
		LowLicenseThreshold: int(intField(h, "low")),
	}
}
