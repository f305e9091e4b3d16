package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// CreateTenant creates a tenant and its first Global admin, the person who signed up.
func (s *Store) CreateTenant(ctx context.Context, t license.NewTenant) (*license.Tenant, *license.User, error) {
	var problems license.Problems
	if t.ID == "" {
		t.ID = "t" + randomID(11)
	} else if err := license.ValidateTenantID(t.ID); err != nil {
		problems.Add("id", license.Errorf(license.EINVALID, "Tenant id %q must be 2 to 40 characters of a-z, 0-9 and -, starting with a letter or digit.", t.ID))
	}
	problems.Add("name", license.ValidateName("tenant name", t.Name))
	problems.Add("adminUserPrincipalName", license.ValidateUserPrincipalName(t.AdminUserPrincipalName))
	problems.Add("adminDisplayName", license.ValidateName("admin's display name", t.AdminDisplayName))
	if t.AdminID == "" {
		t.AdminID = randomUUID()
	} else {
		problems.Add("adminId", license.ValidateCallerID("admin's user id", t.AdminID))
	}
	if err := problems.Err(); err != nil {
		return nil, nil, err
	}
	now := s.Now()
	admin := &license.User{
		ID: t.AdminID, TenantID: t.ID, UserPrincipalName: t.AdminUserPrincipalName,
		DisplayName: strings.TrimSpace(t.AdminDisplayName), CreatedAt: now.UTC().Truncate(1e6),
	}
	k := s.keys(t.ID)
	entry, retention := s.audited(ctx, "createTenant", []string{t.ID, admin.ID},
		license.FieldChange{Field: "name", After: license.Text(strings.TrimSpace(t.Name))},
		license.FieldChange{Field: "autoClaimEnabled", After: license.BoolText(t.AutoClaimEnabled)},
		license.FieldChange{Field: "policyLimit", After: license.Text(strconv.Itoa(license.DefaultPolicyLimit))},
		license.FieldChange{Field: "adminUserPrincipalName", After: license.Text(admin.UserPrincipalName)},
		license.FieldChange{Field: "adminDisplayName", After: license.Text(admin.DisplayName)})
	_, err := s.runScript(ctx, createTenantScript, subject{tenantID: t.ID},
		[]string{k.tenant(), k.profiles(userBucket(admin.ID)), k.upns(), k.directory(), k.audit()},
		strings.TrimSpace(t.Name), license.DefaultPolicyLimit, boolArg(t.AutoClaimEnabled), ms(now),
		admin.ID, strings.ToLower(admin.UserPrincipalName), encodeProfile(admin), entry, retention)
	if err != nil {
		return nil, nil, err
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
	return decodeTenant(id, h)
}

// SetPolicyLimit sets how many policies a tenant may hold.
func (s *Store) SetPolicyLimit(ctx context.Context, tenantID string, limit int) (*license.Tenant, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	if err := license.ValidatePolicyLimit(limit); err != nil {
		return nil, license.OnField("limit", err)
	}
	k := s.keys(tenantID)
	entry, retention := s.audited(ctx, "setTenantPolicyLimit", []string{tenantID})
	if _, err := s.runScript(ctx, setPolicyLimitScript, subject{tenantID: tenantID, n: limit},
		[]string{k.tenant(), k.policies(), k.audit()}, limit, entry, retention); err != nil {
		return nil, err
	}
	return s.Tenant(ctx, tenantID)
}

// SetAutoClaimEnabled turns the org-wide auto-claim setting on or off.
func (s *Store) SetAutoClaimEnabled(ctx context.Context, tenantID string, enabled bool) (*license.Tenant, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	var fed []*license.Policy
	if enabled {
		var err error
		if fed, err = s.waitlistsFed(ctx, tenantID, nil); err != nil {
			return nil, err
		}
	}
	entry, retention := s.audited(ctx, "setAutoClaimEnabled", []string{tenantID})
	if _, err := s.runFeeding(ctx, setEnabledScript, subject{tenantID: tenantID}, tenantID, fed,
		[]string{k.tenant(), k.events(), k.audit()}, nil, boolArg(enabled), eventWindow, entry, retention); err != nil {
		return nil, err
	}
	return s.Tenant(ctx, tenantID)
}

func boolArg(b bool) int {
	if b {
		return 1
	}
	return 0
}
