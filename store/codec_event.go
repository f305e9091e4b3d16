package store

import (
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// An event is an entry of a tenant's stream (see keys.events); its id is
// its time (ms) and a sequence. A claim decision has the fields, in this
// order, kind (claim), policy and product (numbers, 0 when none), user, app,
// trigger, outcome, reason ('' unless denied), available (licenses
// available across the policy's products after the claim) and, for a
// decision about a license request, request (its number). An admin change
// has kind (a license.ChangeKind) and those of policy, product, user, enabled
// (0/1), order (the policy's product numbers, "n,n"), version, total,
// assigned, actor (who made it), roles (the actor's, "R,R"), threshold (a
// product's low-license threshold) and request (a license request's
// number) that it sets, in that order. The Lua twins are event_encode and
// event_decode of lua/lib/codec.lua; scripts append events with emit
// (lua/lib/events.lua).

// claimKind is the kind of a claim decision's event.
const claimKind = "claim"

// encodeEvent writes an event's fields and values, in order.
func encodeEvent(ev license.Event) []string {
	if c := ev.Claim; c != nil {
		fields := []string{"kind", claimKind, "policy", itoa(objectNumber(c.PolicyID)), "user", c.UserID, "app", c.AppID,
			"product", itoa(objectNumber(c.ProductID)), "trigger", string(c.Trigger), "outcome", string(c.Outcome),
			"reason", string(c.Reason), "available", strconv.Itoa(c.AvailableAfter)}
		if c.RequestID != "" {
			fields = append(fields, "request", itoa(objectNumber(c.RequestID)))
		}
		return fields
	}
	c := ev.Change
	fields := []string{"kind", string(c.Kind)}
	add := func(name, value string) { fields = append(fields, name, value) }
	if c.PolicyID != "" {
		add("policy", itoa(objectNumber(c.PolicyID)))
	}
	if c.ProductID != "" {
		add("product", itoa(objectNumber(c.ProductID)))
	}
	if c.UserID != "" {
		add("user", c.UserID)
	}
	if c.Enabled != nil {
		add("enabled", itoa(int64(boolArg(*c.Enabled))))
	}
	if c.ProductIDs != nil {
		order := make([]string, len(c.ProductIDs))
		for i, id := range c.ProductIDs {
			order[i] = itoa(objectNumber(id))
		}
		add("order", strings.Join(order, ","))
	}
	if c.Version != 0 {
		add("version", itoa(c.Version))
	}
	if c.TotalLicenses != nil {
		add("total", strconv.Itoa(*c.TotalLicenses))
		add("assigned", strconv.Itoa(*c.AssignedLicenses))
	}
	if c.Actor != nil {
		add("actor", c.Actor.Subject)
		add("roles", strings.Join(c.Actor.Roles, ","))
	}
	if c.Threshold != nil {
		add("threshold", strconv.Itoa(*c.Threshold))
	}
	if c.RequestID != "" {
		add("request", itoa(objectNumber(c.RequestID)))
	}
	return fields
}

// decodeEvent reads an entry of a tenant's stream.
func decodeEvent(tenantID string, m redis.XMessage) license.Event {
	f := func(name string) string { v, _ := m.Values[name].(string); return v }
	num := func(name string) int64 { n, _ := strconv.ParseInt(f(name), 10, 64); return n }
	id, _ := license.ParseEventID(m.ID)
	at := time.UnixMilli(int64(id.MS)).UTC()
	policyID, productID := "", ""
	if n := num("policy"); n > 0 {
		policyID = license.PolicyID(tenantID, n)
	}
	if n := num("product"); n > 0 {
		productID = license.ProductID(tenantID, n)
	}
	requestID := ""
	if n := num("request"); n > 0 {
		requestID = license.RequestID(tenantID, n)
	}
	if f("kind") == claimKind {
		return license.Event{Claim: &license.ClaimEvent{
			ID: m.ID, TenantID: tenantID, PolicyID: policyID, UserID: f("user"), AppID: f("app"),
			ProductID: productID, Trigger: license.Trigger(f("trigger")), Outcome: license.Outcome(f("outcome")),
			Reason: license.Reason(f("reason")), At: at, AvailableAfter: int(num("available")), RequestID: requestID,
		}}
	}
	c := &license.ChangeEvent{ID: m.ID, TenantID: tenantID, Kind: license.ChangeKind(f("kind")), At: at,
		PolicyID: policyID, ProductID: productID, UserID: f("user"), Version: num("version"), RequestID: requestID}
	if v := f("enabled"); v != "" {
		b := v == "1"
		c.Enabled = &b
	}
	if v := f("order"); v != "" {
		for _, n := range strings.Split(v, ",") {
			pn, _ := strconv.ParseInt(n, 10, 64)
			c.ProductIDs = append(c.ProductIDs, license.ProductID(tenantID, pn))
		}
	}
	if f("total") != "" {
		total, assigned := int(num("total")), int(num("assigned"))
		c.TotalLicenses, c.AssignedLicenses = &total, &assigned
	}
	if f("threshold") != "" {
		threshold := int(num("threshold"))
		c.Threshold = &threshold
	}
	if actor, ok := m.Values["actor"].(string); ok {
		c.Actor = &license.Actor{Subject: actor, Roles: splitList(m.Values["roles"])}
	}
	return license.Event{Change: c}
}

// objectNumber returns the number at the end of a product, policy or
// license request id, 0 for "".
func objectNumber(id string) int64 {
	if _, n, err := license.ParseProductID(id); err == nil {
		return n
	}
	if _, n, err := license.ParseRequestID(id); err == nil {
		return n
	}
	_, n, _ := license.ParsePolicyID(id)
	return n
}
