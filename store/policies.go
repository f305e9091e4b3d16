package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// maxAttempts bounds the read-check-write retries of an update that others
// keep changing underneath.
const maxAttempts = 100

// CreatePolicy creates an auto-claim policy.
func (s *Store) CreatePolicy(ctx context.Context, np license.NewPolicy) (*license.Policy, error) {
	if err := license.ValidateTenantID(np.TenantID); err != nil {
		return nil, license.OnField("tenantId", err)
	}
	var problems license.Problems
	problems.Add("name", license.ValidateName("policy name", np.Name))
	products, err := s.catalog.CheckProducts(np.AppID, np.Products, s.skuLookup(ctx, np.TenantID))
	if code := license.ErrorCode(err); code == license.EINTERNAL || code == license.EUNAVAILABLE {
		return nil, err
	}
	var each license.Problems
	if errors.As(err, &each) {
		problems = append(problems, each...)
	} else {
		problems.Add("", err)
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	k := s.keys(np.TenantID)
	on := subject{tenantID: np.TenantID, app: s.appName(np.AppID)}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		n, err := s.nextNumber(ctx, k, "seq_policy", np.TenantID)
		if err != nil {
			return nil, err
		}
		id := license.PolicyID(np.TenantID, n)
		created := &license.Policy{ID: id, Name: strings.TrimSpace(np.Name), AppID: np.AppID, Enabled: np.Enabled, Products: products}
		entry, retention := s.audited(ctx, "createAutoClaimPolicy", []string{id}, license.PolicyCreated(created)...)
		_, err = s.runScript(ctx, createPolicyScript, on,
			append([]string{k.tenant(), k.policies(), k.appPolicies(), k.policy(n), k.events(), k.audit()}, productKeys(k, products)...),
			n, np.AppID, strings.TrimSpace(np.Name), boolArg(np.Enabled), boolArg(np.AutoCreated), ms(s.Now()),
			encodePolicyProducts(products), eventWindow, entry, retention)
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.routes.forget(np.TenantID, np.AppID)
		return s.Policy(ctx, id)
	}
	return nil, busy()
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
	p, err := decodePolicy(tenantID, n, h)
	if err == nil && !p.DeletedAt.IsZero() {
		return nil, notFoundPolicy(id) // kept for reports only
	}
	return p, err
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
		p, err := decodePolicy(tenantID, n, c.Val())
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
		before := *p
		before.Products = slices.Clone(p.Products)
		if err := edit(p, skuOf); err != nil {
			return nil, err
		}
		now := s.Now()
		// Licenses the edit makes available to the policy's waitlist (it is
		// turned on, or gains a product or an order) go to it.
		var fed []*license.Policy
		if p.WaitlistEnabled && p.Enabled {
			fed = []*license.Policy{p}
		}
		if needsWorker(p) {
			if err := s.registerFlow(ctx, tenantID); err != nil {
				return nil, err
			}
		}
		changes := license.PolicyChanges(&before, p)
		if len(changes) == 0 {
			return p, nil // nothing to change: no version, no event, no audit entry
		}
		entry, retention := s.audited(ctx, "updateAutoClaimPolicy", []string{id}, changes...)
		var version int64
		_, err = s.runFeeding(ctx, updatePolicyScript, subject{policyID: id}, tenantID, fed,
			append([]string{k.policy(n), k.events(), k.audit(), k.waitlist(n), k.work(), k.approvedWaiters(n)}, productKeys(k, p.Products)...),
			func(name, v string) {
				if name == "version" {
					version = number(v)
				}
			},
			p.Version, p.Name, boolArg(p.Enabled), ms(now), encodePolicyProducts(p.Products), n, eventWindow, entry, retention,
			boolArg(p.WaitlistEnabled), p.ReclaimInactiveAfterDays, len(p.Products), boolArg(p.ReleaseSupersededLicenses), boolArg(p.ApprovalRequired))
		if errors.Is(err, errStale) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if needsWorker(p) {
			// Again after the change, in case a worker took the tenant off
			// the list in between (work.go).
			if err := s.registerFlow(ctx, tenantID); err != nil {
				return nil, err
			}
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
	entry, retention := s.audited(ctx, "deleteAutoClaimPolicy", []string{id})
	reply, err := s.runScript(ctx, deletePolicyScript, subject{policyID: id},
		[]string{k.policy(n), k.policies(), k.appPolicies(), k.report(n), k.claims(n), k.events(), k.audit(), k.deleted(),
			k.waitlist(n), k.held(n), k.work(), k.approvedWaiters(n)}, n, eventWindow, entry, retention, tenantID, license.ReportWindow.Milliseconds())
	if err != nil {
		return err
	}
	app, _ := reply.(string)
	s.routes.forget(tenantID, app)
	return nil
}

// needsWorker says whether a policy gives its tenant background work: a
// waitlist to fill, reclaim sweeps, license requests to expire.
func needsWorker(p *license.Policy) bool {
	return p.WaitlistEnabled || p.ReclaimInactiveAfterDays > 0 || p.ApprovalRequired
}

// productKeys returns the keys of a policy's products' hashes, in order.
func productKeys(k keys, products []license.PolicyProduct) []string {
	out := make([]string, len(products))
	for i, pp := range products {
		_, n, _ := license.ParseProductID(pp.ProductID)
		out[i] = k.product(n)
	}
	return out
}
