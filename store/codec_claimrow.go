package store

import (
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// A claim row is an entry of a policy's claims stream (see keys.claims):
// one license claimed under the policy, its id its time (ms) and a
// sequence. Its fields, in order: user, product (its number), trigger. The
// Lua twins are claim_row_encode and claim_row_decode of
// lua/lib/codec.lua; the claim script appends the rows.

// encodeClaimRow writes a claim row's fields and values, in order.
func encodeClaimRow(c *license.ClaimedUser) []string {
	return []string{"user", c.UserID, "product", itoa(objectNumber(c.ProductID)), "trigger", string(c.Trigger)}
}

// decodeClaimRow reads an entry of a policy's claims stream.
func decodeClaimRow(tenantID, policyID string, m redis.XMessage) *license.ClaimedUser {
	f := func(name string) string { v, _ := m.Values[name].(string); return v }
	id, _ := license.ParseEventID(m.ID)
	row := &license.ClaimedUser{ID: m.ID, TenantID: tenantID, PolicyID: policyID, UserID: f("user"),
		Trigger: license.Trigger(f("trigger")), ClaimedAt: time.UnixMilli(int64(id.MS)).UTC()}
	if n := number(f("product")); n > 0 {
		row.ProductID = license.ProductID(tenantID, n)
	}
	return row
}
