package store

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// MaxPageSize bounds a page of users.
const MaxPageSize = 500

// CreateUser adds a user to a tenant's directory.
func (s *Store) CreateUser(ctx context.Context, u license.NewUser) (*license.User, error) {
	if err := license.ValidateTenantID(u.TenantID); err != nil {
		return nil, err
	}
	if u.ID == "" {
		u.ID = randomUUID()
	} else if err := license.ValidateCallerID("user id", u.ID); err != nil {
		return nil, err
	}
	if err := license.ValidateUserPrincipalName(u.UserPrincipalName); err != nil {
		return nil, err
	}
	if err := license.ValidateName("display name", u.DisplayName); err != nil {
		return nil, err
	}
	k := s.keys(u.TenantID)
	err := createUserScript.Run(ctx, s.rdb, []string{k.tenant(), k.users(), k.user(u.ID), k.upns()},
		u.ID, strings.ToLower(u.UserPrincipalName), u.UserPrincipalName, strings.TrimSpace(u.DisplayName), ms(s.Now())).Err()
	if reason, arg, ok := scriptReason(err); ok {
		switch reason {
		case "NO_TENANT":
			return nil, notFoundTenant(u.TenantID)
		case "UPN_TAKEN":
			return nil, license.Errorf(license.ECONFLICT, "User principal name %q is already used by user %q.", u.UserPrincipalName, arg)
		case "USER_EXISTS":
			return nil, license.Errorf(license.ECONFLICT, "A user with id %q already exists.", u.ID)
		}
	}
	if err != nil {
		return nil, s.fail(err)
	}
	return s.User(ctx, u.TenantID, u.ID)
}

// User returns a user of a tenant.
func (s *Store) User(ctx context.Context, tenantID, userID string) (*license.User, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	if license.ValidateCallerID("user id", userID) != nil {
		return nil, notFoundUser(userID)
	}
	h, err := s.rdb.HGetAll(ctx, s.keys(tenantID).user(userID)).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	if len(h) == 0 {
		return nil, notFoundUser(userID)
	}
	return userFrom(tenantID, userID, h), nil
}

func userFrom(tenantID, id string, h map[string]string) *license.User {
	return &license.User{ID: id, TenantID: tenantID, UserPrincipalName: h["upn"], DisplayName: h["name"], CreatedAt: fromMS(h["created"])}
}

// Users returns up to first users whose id sorts after after, ordered by id.
func (s *Store) Users(ctx context.Context, tenantID string, first int, after string) (*license.UserPage, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	if first < 0 || first > MaxPageSize {
		return nil, license.Errorf(license.EINVALID, "first must be between 0 and %d; got %d.", MaxPageSize, first)
	}
	k := s.keys(tenantID)
	exists, err := s.rdb.Exists(ctx, k.tenant()).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	if exists == 0 {
		return nil, notFoundTenant(tenantID)
	}
	start := "-"
	if after != "" {
		start = "(" + after
	}
	var idsCmd *redis.StringSliceCmd
	var totalCmd *redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		idsCmd = p.ZRangeByLex(ctx, k.users(), &redis.ZRangeBy{Min: start, Max: "+", Count: int64(first) + 1})
		totalCmd = p.ZCard(ctx, k.users())
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	ids, total := idsCmd.Val(), totalCmd.Val()
	page := &license.UserPage{TotalCount: int(total)}
	if len(ids) > first {
		page.HasNextPage = true
		ids = ids[:first]
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, k.user(id))
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	for i, c := range cmds {
		page.Users = append(page.Users, userFrom(tenantID, ids[i], c.Val()))
	}
	return page, nil
}

// Licenses returns the licenses a user holds, ordered by product.
func (s *Store) Licenses(ctx context.Context, tenantID, userID string) ([]*license.License, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, s.keys(tenantID).licenses(userID)).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	out := make([]*license.License, 0, len(h))
	for field, rec := range h {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return nil, license.Internal(fmt.Errorf("license field %q of user %s: %w", field, userID, err))
		}
		l, err := s.decodeLicense(tenantID, userID, n, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProductID < out[j].ProductID })
	return out, nil
}

// AssignLicense gives a user a license of a product directly.
func (s *Store) AssignLicense(ctx context.Context, userID, productID string, disabled []string) (*license.License, error) {
	tenantID, n, err := license.ParseProductID(productID)
	if err != nil {
		return nil, err
	}
	if license.ValidateCallerID("user id", userID) != nil {
		return nil, notFoundUser(userID)
	}
	p, err := s.Product(ctx, productID)
	if err != nil {
		return nil, err
	}
	plans, err := license.CheckAssignedPlans(p, disabled)
	if err != nil {
		return nil, err
	}
	l := &license.License{
		UserID: userID, ProductID: productID, Source: license.SourceDirect,
		DisabledServicePlanIDs: plans, AssignedAt: s.Now().UTC().Truncate(1e6),
	}
	k := s.keys(tenantID)
	err = assignLicenseScript.Run(ctx, s.rdb, []string{k.user(userID), k.licenses(userID), k.product(n), k.events()},
		n, encodeLicense(l, 0, p.SKU.SkuPartNumber), userID, eventWindow).Err()
	if reason, arg, ok := scriptReason(err); ok {
		switch reason {
		case "NO_USER":
			return nil, notFoundUser(userID)
		case "NO_PRODUCT":
			return nil, notFoundProduct(productID)
		case "ALREADY_HOLDS":
			return nil, license.Errorf(license.ECONFLICT, "User %q already holds a license of product %q.", userID, productID)
		case "NO_AVAILABLE":
			return nil, license.Errorf(license.ECONFLICT, "All %s licenses of product %q are assigned; buy more or remove some first.", arg, productID)
		}
	}
	if err != nil {
		return nil, s.fail(err)
	}
	return l, nil
}

// RemoveLicense takes a user's license of a product back to its pool.
func (s *Store) RemoveLicense(ctx context.Context, userID, productID string) error {
	tenantID, n, err := license.ParseProductID(productID)
	if err != nil {
		return err
	}
	if license.ValidateCallerID("user id", userID) != nil {
		return notFoundUser(userID)
	}
	k := s.keys(tenantID)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		rec, err := s.rdb.HGet(ctx, k.licenses(userID), strconv.FormatInt(n, 10)).Result()
		if err == redis.Nil {
			return license.Errorf(license.ENOTFOUND, "User %q holds no license of product %q.", userID, productID)
		}
		if err != nil {
			return s.fail(err)
		}
		l, err := s.decodeLicense(tenantID, userID, n, rec)
		if err != nil {
			return err
		}
		policyKey, claimed := k.tenant(), "0"
		if l.PolicyID != "" {
			_, pn, _ := license.ParsePolicyID(l.PolicyID)
			policyKey, claimed = k.policy(pn), "1"
		}
		err = removeLicenseScript.Run(ctx, s.rdb, []string{k.licenses(userID), k.product(n), policyKey, k.events()},
			n, rec, claimed, userID, eventWindow).Err()
		reason, _, ok := scriptReason(err)
		switch {
		case ok && reason == "STALE":
			continue
		case ok && reason == "NO_LICENSE":
			return license.Errorf(license.ENOTFOUND, "User %q holds no license of product %q.", userID, productID)
		}
		return s.fail(err)
	}
	return busy()
}

func notFoundUser(id string) error {
	return license.Errorf(license.ENOTFOUND, "User %q was not found.", id)
}

// encodeLicense writes a license record:
// source (A or D)|policy number|assigned at (ms)|plan,plan|skuPartNumber.
// The claim script writes the same form and reads the SKU from its end.
func encodeLicense(l *license.License, policyN int64, sku string) string {
	src := "D"
	if l.Source == license.SourceAutoClaim {
		src = "A"
	}
	return src + "|" + strconv.FormatInt(policyN, 10) + "|" + strconv.FormatInt(ms(l.AssignedAt), 10) + "|" + strings.Join(l.DisabledServicePlanIDs, ",") + "|" + sku
}

func (s *Store) decodeLicense(tenantID, userID string, productN int64, rec string) (*license.License, error) {
	f := strings.Split(rec, "|")
	if len(f) != 5 {
		return nil, license.Internal(fmt.Errorf("license record %q of user %s is malformed", rec, userID))
	}
	l := &license.License{UserID: userID, ProductID: license.ProductID(tenantID, productN), Source: license.SourceDirect,
		AssignedAt: fromMS(f[2]), SKU: s.catalog.SKU(f[4])}
	if f[0] == "A" {
		l.Source = license.SourceAutoClaim
		pn, _ := strconv.ParseInt(f[1], 10, 64)
		l.PolicyID = license.PolicyID(tenantID, pn)
	}
	if f[3] != "" {
		l.DisabledServicePlanIDs = strings.Split(f[3], ",")
	}
	return l, nil
}
