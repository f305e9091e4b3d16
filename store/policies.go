package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// maxAttempts bounds the read-check-write retries of an update that others
// keep changing underneath.
const maxAttempts = 100

func busy() error {
	return license.Errorf(license.ECONFLICT, "Others are changing the same object at this moment; nothing was changed. Try again.")
}

// CreatePolicy creates an auto-claim policy.
func (s *Store) CreatePolicy(ctx context.Context, np license.NewPolicy) (*license.Policy, error) {
	if err := license.ValidateTenantID(np.TenantID); err != nil {
		return nil, err
	}
	if err := license.ValidateName("policy name", np.Name); err != nil {
		return nil, err
	}
	products, err := s.catalog.CheckProducts(np.AppID, np.Products, s.skuLookup(ctx, np.TenantID))
	if err != nil {
		return nil, err
	}
	k := s.keys(np.TenantID)
	n, err := s.nextNumber(ctx, k, "seq_policy", np.TenantID)
	if err != nil {
		return nil, err
	}
	encoded, order, productKeys := s.encodeProducts(k, products)
	err = createPolicyScript.Run(ctx, s.rdb,
		append([]string{k.tenant(), k.policies(), k.appPolicies(), k.policy(n), k.events()}, productKeys...),
		n, np.AppID, strings.TrimSpace(np.Name), boolArg(np.Enabled), boolArg(np.AutoCreated), ms(s.Now()), encoded, order, eventWindow).Err()
	if reason, arg, ok := scriptReason(err); ok {
		switch reason {
		case "NO_TENANT":
			return nil, notFoundTenant(np.TenantID)
		case "POLICY_LIMIT":
			return nil, license.Errorf(license.ECONFLICT, "The tenant may hold at most %s auto-claim policies and has reached that limit; delete a policy or ask an operator to raise the limit.", arg)
		case "APP_HAS_POLICY":
			other, _ := strconv.ParseInt(arg, 10, 64)
			return nil, license.Errorf(license.ECONFLICT, "%s already has an auto-claim policy (%q); an app can have only one.", s.appName(np.AppID), license.PolicyID(np.TenantID, other))
		}
	}
	if err != nil {
		return nil, s.fail(err)
	}
	s.routes.forget(np.TenantID, np.AppID)
	return s.Policy(ctx, license.PolicyID(np.TenantID, n))
}

func (s *Store) appName(id string) string {
	if a := s.catalog.App(id); a != nil {
		return a.DisplayName
	}
	return id
}

// Policy returns a policy.
func (s *Store) Policy(ctx context.Context, id string) (*license.Policy, error) {
	tenantID, n, err := license.ParsePolicyID(id)
	if err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, s.keys(tenantID).policy(n)).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	return policyFrom(tenantID, n, h)
}

// Policies returns a tenant's policies in the order they were created.
func (s *Store) Policies(ctx context.Context, tenantID string) ([]*license.Policy, error) {
	if err := license.ValidateTenantID(tenantID); err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	nums, err := s.rdb.ZRange(ctx, k.policies(), 0, -1).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(nums))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, v := range nums {
			n, _ := strconv.ParseInt(v, 10, 64)
			cmds[i] = p.HGetAll(ctx, k.policy(n))
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	out := make([]*license.Policy, 0, len(nums))
	for i, c := range cmds {
		n, _ := strconv.ParseInt(nums[i], 10, 64)
		if len(c.Val()) == 0 {
			continue // deleted between the two reads
		}
		p, err := policyFrom(tenantID, n, c.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// UpdatePolicy reads a policy, applies edit and writes it back if nobody
// changed it in between; otherwise it reads again and retries.
func (s *Store) UpdatePolicy(ctx context.Context, id string, edit func(*license.Policy, license.SKULookup) error) (*license.Policy, error) {
	tenantID, n, err := license.ParsePolicyID(id)
	if err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	skuOf := s.skuLookup(ctx, tenantID)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		p, err := s.Policy(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := edit(p, skuOf); err != nil {
			return nil, err
		}
		encoded, order, productKeys := s.encodeProducts(k, p.Products)
		now := s.Now()
		version, err := updatePolicyScript.Run(ctx, s.rdb, append([]string{k.policy(n), k.events()}, productKeys...),
			p.Version, p.Name, boolArg(p.Enabled), ms(now), encoded, n, order, eventWindow).Int64()
		if reason, _, ok := scriptReason(err); ok {
			switch reason {
			case "STALE":
				continue
			case "NO_POLICY":
				return nil, notFoundPolicy(id)
			}
		}
		if err != nil {
			return nil, s.fail(err)
		}
		s.routes.forget(tenantID, p.AppID)
		// The policy as this call wrote it, not as others may have changed it since.
		p.Version, p.UpdatedAt = version, now.UTC().Truncate(time.Millisecond)
		return p, nil
	}
	return nil, busy()
}

// DeletePolicy deletes a policy; licenses claimed under it stay with their holders.
func (s *Store) DeletePolicy(ctx context.Context, id string) error {
	tenantID, n, err := license.ParsePolicyID(id)
	if err != nil {
		return err
	}
	k := s.keys(tenantID)
	app, err := deletePolicyScript.Run(ctx, s.rdb, []string{k.policy(n), k.policies(), k.appPolicies(), k.report(n), k.claimed(n), k.events()}, n, eventWindow).Text()
	if reason, _, ok := scriptReason(err); ok && reason == "NO_POLICY" {
		return notFoundPolicy(id)
	}
	if err != nil {
		return s.fail(err)
	}
	s.routes.forget(tenantID, app)
	return nil
}

func notFoundPolicy(id string) error {
	return license.Errorf(license.ENOTFOUND, "Policy %q was not found.", id)
}

// encodeProducts writes a policy's products as "<n>=<plan>,<plan>;...", and
// returns their numbers as "<n>,<n>" and the keys of their hashes, in order.
func (s *Store) encodeProducts(k keys, products []license.PolicyProduct) (encoded, order string, productKeys []string) {
	var b, o strings.Builder
	productKeys = make([]string, len(products))
	for i, pp := range products {
		_, n, _ := license.ParseProductID(pp.ProductID)
		if i > 0 {
			b.WriteByte(';')
			o.WriteByte(',')
		}
		o.WriteString(strconv.FormatInt(n, 10))
		b.WriteString(strconv.FormatInt(n, 10))
		b.WriteByte('=')
		b.WriteString(strings.Join(pp.DisabledServicePlanIDs, ","))
		productKeys[i] = k.product(n)
	}
	return b.String(), o.String(), productKeys
}

func policyFrom(tenantID string, n int64, h map[string]string) (*license.Policy, error) {
	id := license.PolicyID(tenantID, n)
	if len(h) == 0 {
		return nil, notFoundPolicy(id)
	}
	version, _ := strconv.ParseInt(h["version"], 10, 64)
	p := &license.Policy{
		ID: id, TenantID: tenantID, Name: h["name"], AppID: h["app"],
		Enabled: h["enabled"] == "1", AutoCreated: h["auto"] == "1", Version: version,
		CreatedAt: fromMS(h["created"]), UpdatedAt: fromMS(h["updated"]),
	}
	p.ClaimedLicenses, _ = strconv.Atoi(h["claimed"])
	for _, entry := range strings.Split(h["products"], ";") {
		num, plans, ok := strings.Cut(entry, "=")
		pn, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			return nil, license.Internal(fmt.Errorf("policy %s: malformed products %q", id, h["products"]))
		}
		pp := license.PolicyProduct{ProductID: license.ProductID(tenantID, pn)}
		if plans != "" {
			pp.DisabledServicePlanIDs = strings.Split(plans, ",")
		}
		p.Products = append(p.Products, pp)
	}
	return p, nil
}
