package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// CreateTenant creates a tenant and its first Global admin, the person who signed up.
func (s *Store) CreateTenant(ctx context.Context, t license.NewTenant) (*license.Tenant, *license.User, error) {
	if t.ID == "" {
		t.ID = "t" + randomID(11)
	} else if err := license.ValidateTenantID(t.ID); err != nil {
		return nil, nil, license.Errorf(license.EINVALID, "Tenant id %q must be 2 to 40 characters of a-z, 0-9 and -, starting with a letter or digit.", t.ID)
	}
	if err := license.ValidateName("tenant name", t.Name); err != nil {
		return nil, nil, err
	}
	if err := license.ValidateUserPrincipalName(t.AdminUserPrincipalName); err != nil {
		return nil, nil, err
	}
	if err := license.ValidateName("admin's display name", t.AdminDisplayName); err != nil {
		return nil, nil, err
	}
	if t.AdminID == "" {
		t.AdminID = randomUUID()
	} else if err := license.ValidateCallerID("admin's user id", t.AdminID); err != nil {
		return nil, nil, err
	}
	now := s.Now()
	admin := &license.User{
		ID: t.AdminID, TenantID: t.ID, UserPrincipalName: t.AdminUserPrincipalName,
		DisplayName: strings.TrimSpace(t.AdminDisplayName), CreatedAt: now.UTC().Truncate(1e6),
	}
	k := s.keys(t.ID)
	err := createTenantScript.Run(ctx, s.rdb,
		[]string{k.tenant(), k.profiles(userBucket(admin.ID)), k.upns()},
		strings.TrimSpace(t.Name), license.DefaultPolicyLimit, boolArg(t.AutoClaimEnabled), ms(now),
		admin.ID, strings.ToLower(admin.UserPrincipalName), encodeProfile(admin)).Err()
	if reason, _, ok := scriptReason(err); ok && reason == "TENANT_EXISTS" {
		return nil, nil, license.Errorf(license.ECONFLICT, "A tenant with id %q already exists.", t.ID)
	}
	if err != nil {
		return nil, nil, s.fail(err)
	}
	tenant := &license.Tenant{ID: t.ID, Name: strings.TrimSpace(t.Name), AutoClaimEnabled: t.AutoClaimEnabled,
		PolicyLimit: license.DefaultPolicyLimit, CreatedAt: admin.CreatedAt}
	return tenant, admin, nil
}

// Tenant returns a tenant.
func (s *Store) Tenant(ctx context.Context, id string) (*license.Tenant, error) {
	if err := license.ValidateTenantID(id); err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, s.keys(id).tenant()).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	if len(h) == 0 {
		return nil, notFoundTenant(id)
	}
	limit, _ := strconv.Atoi(h["limit"])
	return &license.Tenant{
		ID: id, Name: h["name"], AutoClaimEnabled: h["enabled"] == "1", PolicyLimit: limit,
		CreatedAt: fromMS(h["created"]),
	}, nil
}

// SetPolicyLimit sets how many policies a tenant may hold.
func (s *Store) SetPolicyLimit(ctx context.Context, tenantID string, limit int) (*license.Tenant, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	if err := license.ValidatePolicyLimit(limit); err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	err := setPolicyLimitScript.Run(ctx, s.rdb, []string{k.tenant(), k.policies()}, limit).Err()
	if reason, arg, ok := scriptReason(err); ok {
		switch reason {
		case "NO_TENANT":
			return nil, notFoundTenant(tenantID)
		case "LIMIT_BELOW_COUNT":
			return nil, license.Errorf(license.ECONFLICT, "The tenant holds %s policies, more than a limit of %d allows; delete policies first.", arg, limit)
		}
	}
	if err != nil {
		return nil, s.fail(err)
	}
	return s.Tenant(ctx, tenantID)
}

// SetAutoClaimEnabled turns the org-wide auto-claim setting on or off.
func (s *Store) SetAutoClaimEnabled(ctx context.Context, tenantID string, enabled bool) (*license.Tenant, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	err := setEnabledScript.Run(ctx, s.rdb, []string{k.tenant(), k.events()}, boolArg(enabled), eventWindow).Err()
	if reason, _, ok := scriptReason(err); ok && reason == "NO_TENANT" {
		return nil, notFoundTenant(tenantID)
	}
	if err != nil {
		return nil, s.fail(err)
	}
	return s.Tenant(ctx, tenantID)
}

func notFoundTenant(id string) error {
	return license.Errorf(license.ENOTFOUND, "Tenant %q was not found.", id)
}

func boolArg(b bool) int {
	if b {
		return 1
	}
	return 0
}
