package store

import "github.com/autoclaim/autoclaim/license"

// A tenant is a hash (see keys.tenant) with the fields name, limit (policies
// it may hold), enabled (the org-wide auto-claim setting, 0/1), created (ms),
// and seq_product and seq_policy (the last numbers given to its products and
// policies). How many users its directory holds is the size of its
// directory index (keys.directory). The script
// create_tenant.lua writes it.

// decodeTenant reads the hash of tenant id. Returns ENOTFOUND when the hash
// is empty (no such tenant).
func decodeTenant(id string, h map[string]string) (*license.Tenant, error) {
	if len(h) == 0 {
		return nil, notFoundTenant(id)
	}
	return &license.Tenant{
		ID: id, Name: h["name"], AutoClaimEnabled: h["enabled"] == "1", PolicyLimit: int(intField(h, "limit")),
		CreatedAt: fromMS(intField(h, "created")),
	}, nil
}
