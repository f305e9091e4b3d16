package store

import (
	"strconv"
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// A policy is a hash (see keys.policy) with the fields app, name, enabled
// (0/1), auto (0/1, preconfigured), created and updated (ms), version (bumped
// by every change), claimed (licenses claimed under it still held),
// waitlist (0/1; absent: 0), reclaim (the reclaim period in days; absent or
// 0: off), supersede (0/1, release superseded licenses; absent: 0), approval (0/1, approval required; absent: 0), deleted (ms; only on a deleted policy, kept for reports) and
// products, its products in claim order:
//
//	<product number>=<plan id>,<plan id>;<product number>=;...
//
// each with the service plans a license claimed from it leaves off. The
// scripts create_policy.lua and update_policy.lua write the hash; the Lua
// twins of the product list are products_encode and products_decode of
// lua/lib/codec.lua.

// encodePolicyProducts writes a policy's product list. The products' ids
// must be product ids (the domain checked them).
func encodePolicyProducts(products []license.PolicyProduct) string {
	var b strings.Builder
	for i, pp := range products {
		_, n, _ := license.ParseProductID(pp.ProductID)
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(itoa(n))
		b.WriteByte('=')
		b.WriteString(strings.Join(pp.DisabledServicePlanIDs, ","))
	}
	return b.String()
}

// decodePolicyProducts reads the product list of a policy of a tenant (""
// lists none). Returns EINTERNAL when it is malformed.
func decodePolicyProducts(tenantID, policyID, s string) ([]license.PolicyProduct, error) {
	var products []license.PolicyProduct
	if s == "" {
		return products, nil
	}
	for _, entry := range strings.Split(s, ";") {
		num, plans, ok := strings.Cut(entry, "=")
		n, isNumber := decimal(num)
		if !ok || !isNumber || n == 0 {
			return nil, malformed("products", s, "policy "+policyID)
		}
		pp := license.PolicyProduct{ProductID: license.ProductID(tenantID, n)}
		if plans != "" {
			pp.DisabledServicePlanIDs = strings.Split(plans, ",")
		}
		products = append(products, pp)
	}
	return products, nil
}

// decodePolicy reads the hash of a tenant's policy number n. Returns
// ENOTFOUND when the hash is empty (no such policy), EINTERNAL when it is
// malformed.
func decodePolicy(tenantID string, n int64, h map[string]string) (*license.Policy, error) {
	id := license.PolicyID(tenantID, n)
	if len(h) == 0 {
		return nil, notFoundPolicy(id)
	}
	products, err := decodePolicyProducts(tenantID, id, h["products"])
	if err != nil {
		return nil, err
	}
	if len(products) == 0 {
		return nil, malformed("products", h["products"], "policy "+id)
	}
	p := &license.Policy{
		ID: id, TenantID: tenantID, Name: h["name"], AppID: h["app"], Products: products,
		Enabled: h["enabled"] == "1", AutoCreated: h["auto"] == "1", Version: intField(h, "version"),
		ClaimedLicenses: int(intField(h, "claimed")), CreatedAt: fromMS(intField(h, "created")), UpdatedAt: fromMS(intField(h, "updated")),
		WaitlistEnabled: h["waitlist"] == "1", ReclaimInactiveAfterDays: int(intField(h, "reclaim")),
		ReleaseSupersededLicenses: h["supersede"] == "1",
		ApprovalRequired:          h["approval"] == "1",
	}
	if h["deleted"] != "" {
		p.DeletedAt = fromMS(intField(h, "deleted"))
	}
	return p, nil
}

// intField reads a number of a hash; 0 when absent.
func intField(h map[string]string, name string) int64 {
	n, _ := strconv.ParseInt(h[name], 10, 64)
	return n
}
