package store

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// MaxPageSize bounds a page of users, claims or audit entries.
const MaxPageSize = 500

// checkPage checks a page's size and its cursor, a stream entry's id, and
// returns the cursor; every problem is on its argument, "first" or "after".
func checkPage(first int, after string) (license.EventID, error) {
	id, err := license.ParseEventID(after)
	return id, pageProblems(first, after, after == "" || err == nil)
}

// pageProblems returns the problems of a page's size (0 to MaxPageSize) and
// of its cursor, when it is not one this API returned (cursorOK false).
func pageProblems(first int, after string, cursorOK bool) error {
	var problems license.Problems
	if first < 0 || first > MaxPageSize {
		problems.Add("first", license.Errorf(license.EINVALID, "first must be between 0 and %d; got %d.", MaxPageSize, first))
	}
	if !cursorOK {
		problems.Add("after", license.Errorf(license.EINVALID, "The cursor %q is not one this API returned.", after))
	}
	return problems.Err()
}

// CreateUser adds a user to a tenant's directory.
func (s *Store) CreateUser(ctx context.Context, u license.NewUser) (*license.User, error) {
	if err := license.ValidateTenantID(u.TenantID); err != nil {
		return nil, license.OnField("tenantId", err)
	}
	var problems license.Problems
	if u.ID == "" {
		u.ID = randomUUID()
	} else {
		problems.Add("id", license.ValidateCallerID("user id", u.ID))
	}
	problems.Add("userPrincipalName", license.ValidateUserPrincipalName(u.UserPrincipalName))
	problems.Add("displayName", license.ValidateName("display name", u.DisplayName))
	if err := problems.Err(); err != nil {
		return nil, err
	}
	user := &license.User{ID: u.ID, TenantID: u.TenantID, UserPrincipalName: u.UserPrincipalName,
		DisplayName: strings.TrimSpace(u.DisplayName), CreatedAt: s.Now().UTC().Truncate(time.Millisecond)}
	k := s.keys(u.TenantID)
	entry, retention := s.audited(ctx, "createUser", []string{u.ID},
		license.FieldChange{Field: "userPrincipalName", After: license.Text(user.UserPrincipalName)},
		license.FieldChange{Field: "displayName", After: license.Text(user.DisplayName)})
	if _, err := s.runScript(ctx, createUserScript, subject{tenantID: u.TenantID, userID: u.ID, upn: u.UserPrincipalName},
		[]string{k.tenant(), k.profiles(userBucket(u.ID)), k.upns(), k.directory(), k.audit()},
		u.ID, strings.ToLower(u.UserPrincipalName), encodeProfile(user), entry, retention); err != nil {
		return nil, err
	}
	return user, nil
}

// UsersByID returns users of a tenant in the given order, in one round
// trip; nil for an id the directory lacks.
func (s *Store) UsersByID(ctx context.Context, tenantID string, ids []string) ([]*license.User, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGet(ctx, k.profiles(userBucket(id)), id)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.fail(err)
	}
	out := make([]*license.User, len(ids))
	for i, c := range cmds {
		if c.Err() != nil {
			continue // not in the directory
		}
		if out[i], err = decodeProfile(tenantID, ids[i], c.Val()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// User returns a user of a tenant.
func (s *Store) User(ctx context.Context, tenantID, userID string) (*license.User, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	if license.ValidateCallerID("user id", userID) != nil {
		return nil, notFoundUser(userID)
	}
	rec, err := s.rdb.HGet(ctx, s.keys(tenantID).profiles(userBucket(userID)), userID).Result()
	if errors.Is(err, redis.Nil) {
		return nil, notFoundUser(userID)
	}
	if err != nil {
		return nil, s.fail(err)
	}
	return decodeProfile(tenantID, userID, rec)
}

// Users returns up to first users whose id sorts after after (byte-wise),
// in id order: one read of the directory index for the page's ids and its
// size, then one of just their directory entries, so a page costs in
// proportion to first, not to the directory.
func (s *Store) Users(ctx context.Context, tenantID string, first int, after string) (*license.UserPage, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	if first < 0 || first > MaxPageSize {
		return nil, license.OnField("first", license.Errorf(license.EINVALID, "first must be between 0 and %d; got %d.", MaxPageSize, first))
	}
	k := s.keys(tenantID)
	from := "-"
	if after != "" {
		from = "(" + after
	}
	var exists, total *redis.IntCmd
	var ids *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, k.tenant())
		total = p.ZCard(ctx, k.directory())
		ids = p.ZRangeByLex(ctx, k.directory(), &redis.ZRangeBy{Min: from, Max: "+", Count: int64(first) + 1})
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	if exists.Val() == 0 {
		return nil, notFoundTenant(tenantID)
	}
	page := &license.UserPage{TotalCount: int(total.Val())}
	found := ids.Val()
	if len(found) > first {
		page.HasNextPage = true
		found = found[:first]
	}
	if len(found) == 0 {
		return page, nil
	}
	profiles := make([]*redis.StringCmd, len(found))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range found {
			profiles[i] = p.HGet(ctx, k.profiles(userBucket(id)), id)
		}
		return nil
	}); err != nil {
		return nil, s.fail(err)
	}
	for i, id := range found {
		u, err := decodeProfile(tenantID, id, profiles[i].Val())
		if err != nil {
			return nil, err
		}
		page.Users = append(page.Users, u)
	}
	return page, nil
}

// Licenses returns the licenses a user holds, ordered by product.
func (s *Store) Licenses(ctx context.Context, tenantID, userID string) ([]*license.License, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	held, err := s.rdb.HGet(ctx, s.keys(tenantID).licenseBucket(userBucket(userID)), userID).Result()
	if errors.Is(err, redis.Nil) {
		return []*license.License{}, nil
	}
	if err != nil {
		return nil, s.fail(err)
	}
	entries, err := decodeLicenses(userID, held)
	if err != nil {
		return nil, err
	}
	out := make([]*license.License, len(entries))
	for i, e := range entries {
		if out[i], err = decodeLicense(s.catalog, tenantID, userID, e.product, e.record); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProductID < out[j].ProductID })
	return out, nil
}

// heldRecord returns the record of a user's license of product n, or "".
func (s *Store) heldRecord(ctx context.Context, k keys, userID string, n int64) (string, error) {
	held, err := s.rdb.HGet(ctx, k.licenseBucket(userBucket(userID)), userID).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", s.fail(err)
	}
	entries, err := decodeLicenses(userID, held)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.product == n {
			return e.record, nil
		}
	}
	return "", nil
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
	plans, err := license.CheckAssignedPlans(p, disabled) // problems on disabledServicePlanIds[j]
	if err != nil {
		return nil, err
	}
	l := &license.License{
		UserID: userID, ProductID: productID, Source: license.SourceDirect,
		DisabledServicePlanIDs: plans, AssignedAt: s.Now().UTC().Truncate(1e6),
	}
	k := s.keys(tenantID)
	b := userBucket(userID)
	changes := []license.FieldChange{{Field: "license", After: license.Text(productID + " (" + string(license.SourceDirect) + ")")}}
	if len(plans) > 0 {
		changes = append(changes, license.FieldChange{Field: "disabledServicePlans", After: license.Text(strings.Join(plans, ","))})
	}
	// The waitlists the license may serve: those of the policies of the
	// apps its product serves, each with the triggers it covers.
	policies, err := s.Policies(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	keys := []string{k.profiles(b), k.licenseBucket(b), k.product(n), k.events(), k.audit()}
	covers := [][]int{}
	for _, pol := range policies {
		if !pol.WaitlistEnabled {
			continue
		}
		var triggers []int
		for i, t := range license.AllTriggers {
			if p.SKU.CoversTrigger(pol.AppID, t) {
				triggers = append(triggers, i)
			}
		}
		if len(triggers) > 0 {
			_, pn, _ := license.ParsePolicyID(pol.ID)
			keys = append(keys, k.waitlist(pn))
			covers = append(covers, triggers)
		}
	}
	coversArg, _ := json.Marshal(covers)
	entry, retention := s.audited(ctx, "assignLicense", []string{userID, productID}, changes...)
	if _, err := s.runScript(ctx, assignLicenseScript, subject{userID: userID, productID: productID}, keys,
		n, encodeLicense(l, 0, p.SKU.SkuPartNumber), userID, eventWindow, entry, retention, string(coversArg)); err != nil {
		return nil, err
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
		return license.OnField("userId", notFoundUser(userID))
	}
	k := s.keys(tenantID)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		rec, err := s.heldRecord(ctx, k, userID, n)
		if err != nil {
			return err
		}
		if rec == "" {
			return license.OnField("productId", license.Errorf(license.ENOTFOUND, "User %q holds no license of product %q.", userID, productID))
		}
		l, err := decodeLicense(s.catalog, tenantID, userID, n, rec)
		if err != nil {
			return err
		}
		policyKey, heldKey, claimed := k.tenant(), k.tenant(), "0"
		if l.PolicyID != "" {
			_, pn, _ := license.ParsePolicyID(l.PolicyID)
			policyKey, heldKey, claimed = k.policy(pn), k.held(pn), "1"
		}
		fed, err := s.waitlistsFed(ctx, tenantID, func(id string) bool { return id == productID })
		if err != nil {
			return err
		}
		entry, retention := s.audited(ctx, "removeLicense", []string{userID, productID},
			license.FieldChange{Field: "license", Before: license.Text(productID + " (" + string(l.Source) + ")")})
		_, err = s.runFeeding(ctx, removeLicenseScript, subject{userID: userID, productID: productID}, tenantID, fed,
			[]string{k.licenseBucket(userBucket(userID)), k.product(n), policyKey, k.events(), k.audit(), heldKey}, nil,
			n, rec, claimed, userID, eventWindow, entry, retention)
		if !errors.Is(err, errStale) {
			return err
		}
	}
	return busy()
}
