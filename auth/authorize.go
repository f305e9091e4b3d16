package auth

import (
	"context"

	"github.com/autoclaim/autoclaim/license"
)

// This file is the one place that answers "may this caller do this": the
// roles a field needs (Require, behind @hasRole), which tenant a caller acts
// on (CheckTenant, behind @tenantScoped), whether an object belongs to a
// tenant (CheckOwned), who may claim for whom (MayClaim) and how fast
// (ClaimRate).

// Require returns the caller if it holds one of roles. Returns
// EUNAUTHENTICATED without a valid token and EFORBIDDEN without the role.
func Require(ctx context.Context, roles ...Role) (*Caller, error) {
	c, err := CallerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !c.Has(roles...) {
		return nil, license.Errorf(license.EFORBIDDEN, "Your role can't do this; it needs one of %v.", roles)
	}
	return c, nil
}

// CheckTenant returns nil if the caller may act on objects of tenantID:
// operators on any tenant, everyone else on their own. Another tenant's object
// is answered as ENOTFOUND, so its existence is not revealed; what names it in
// that message.
func CheckTenant(ctx context.Context, tenantID string, what string) error {
	c, err := CallerFrom(ctx)
	if err != nil {
		return err
	}
	return c.checkTenant(tenantID, what)
}

func (c *Caller) checkTenant(tenantID, what string) error {
	if c.Has(Operator) || c.TenantID == tenantID {
		return nil
	}
	return license.Errorf(license.ENOTFOUND, "%s was not found.", what)
}

// CheckOwned returns ENOTFOUND unless id is the id of an object of kind
// ("Product", "Policy") of tenantID: a tenant's field that takes an object
// id never reaches into another tenant.
func CheckOwned(tenantID, kind, id string) error {
	if t, ok := license.TenantOf(id); ok && t == tenantID && license.KindOf(id) == kind {
		return nil
	}
	return license.Errorf(license.ENOTFOUND, "%s %q was not found.", kind, id)
}

// MayClaim returns nil if the caller may claim a license for userID in
// tenantID for appID: a GLOBAL_ADMIN or an APP of that tenant for any of its
// users, a USER for itself only; an APP token bound to an app, for that app
// only. Returns ENOTFOUND for another tenant and EFORBIDDEN otherwise.
func (c *Caller) MayClaim(tenantID, userID, appID string) error {
	if c.TenantID != tenantID {
		return license.Errorf(license.ENOTFOUND, "Tenant %q was not found.", tenantID)
	}
	if c.App != "" && c.App != appID {
		return license.Errorf(license.EFORBIDDEN, "This token may claim licenses for %s only, not %s.", c.App, appID)
	}
	switch {
	case c.Has(App, GlobalAdmin):
		return nil
	case c.Has(User) && userID == c.Subject:
		return nil
	case c.Has(User):
		return license.Errorf(license.EFORBIDDEN, "A user can claim a license only for itself (userId must be %q).", c.Subject)
	}
	return license.Errorf(license.EFORBIDDEN, "Your role can't claim licenses; it needs one of %v.", []Role{App, User, GlobalAdmin})
}

// MayDescribeUsers returns nil if the caller may give a new user's
// principal and display names with a claim: apps and admins, which know the
// directory; a USER may not name itself (it could take another's name).
// Returns EFORBIDDEN otherwise.
func (c *Caller) MayDescribeUsers() error {
	if c.Has(App, GlobalAdmin) {
		return nil
	}
	return license.Errorf(license.EFORBIDDEN, "Only apps and admins may give a new user's userPrincipalName and displayName.")
}

// ClaimRate is the class of claim rate limit a caller falls under.
type ClaimRate int

// Claim rate classes.
const (
	// ClaimRateService applies to apps and admins, which claim for many users.
	ClaimRateService ClaimRate = iota
	// ClaimRateUser applies to a user claiming for itself.
	ClaimRateUser
)

// ClaimRate returns the rate-limit class of the caller's claims.
func (c *Caller) ClaimRate() ClaimRate {
	if c.Has(App, GlobalAdmin) {
		return ClaimRateService
	}
	return ClaimRateUser
}

// Key identifies the caller across its requests (for rate limits): its
// tenant and subject.
func (c *Caller) Key() string { return c.TenantID + "\x00" + c.Subject }
