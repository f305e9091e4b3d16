package store

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

const dayMS = 24 * time.Hour / time.Millisecond

// redisNow reads Redis's clock, the one the claim script stamps claims with.
func (s *Store) redisNow(ctx context.Context) (time.Time, error) {
	t, err := s.rdb.Time(ctx).Result()
	return t, s.fail(err)
}

// period returns the first UTC day (as days since the epoch) of a report of
// the past days, and the time that day starts.
func period(now time.Time, days int) (int64, time.Time) {
	today := now.UnixMilli() / int64(dayMS)
	first := today - int64(days) + 1
	return first, time.UnixMilli(first * int64(dayMS)).UTC()
}

// Report counts claims per policy, product and day from the counters the
// claim script keeps; its cost grows with days x products, not with claims.
// Policies deleted in the period are reported too, under their last name,
// after the others.
func (s *Store) Report(ctx context.Context, tenantID string, days int) (*license.Report, error) {
	if err := license.ValidateReportDays(days); err != nil {
		return nil, license.OnField("days", err)
	}
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	policies, err := s.Policies(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	now, err := s.redisNow(ctx)
	if err != nil {
		return nil, err
	}
	now = now.UTC()
	first, since := period(now, days)
	deleted, err := s.deletedPolicies(ctx, tenantID, since)
	if err != nil {
		return nil, err
	}
	policies = append(policies, deleted...)
	cmds := make([]*redis.MapStringStringCmd, len(policies))
	var unserved *redis.MapStringStringCmd // the denials of apps without a policy
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, pol := range policies {
			_, n, _ := license.ParsePolicyID(pol.ID)
			cmds[i] = p.HGetAll(ctx, k.report(n))
		}
		unserved = p.HGetAll(ctx, k.report(0))
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	rep := &license.Report{Days: days, Since: since, Until: now}
	denials := denialCounts(unserved.Val(), first, days)
	for i, pol := range policies {
		pr := policyReport(pol, cmds[i].Val(), first, days)
		rep.TotalClaims += pr.Claims
		rep.Policies = append(rep.Policies, pr)
		for r, n := range denialCounts(cmds[i].Val(), first, days) {
			denials[r] += n
		}
	}
	rep.Denials = inReasonOrder(denials)
	return rep, nil
}

// deletedPolicies returns the policies of a tenant deleted since a time,
// as they were when they were deleted, oldest first.
func (s *Store) deletedPolicies(ctx context.Context, tenantID string, since time.Time) ([]*license.Policy, error) {
	k := s.keys(tenantID)
	nums, err := s.rdb.ZRangeByScore(ctx, k.deleted(), &redis.ZRangeBy{Min: strconv.FormatInt(since.UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(nums))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, v := range nums {
			cmds[i] = p.HGetAll(ctx, k.policy(number(v)))
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	out := make([]*license.Policy, 0, len(nums))
	for i, c := range cmds {
		if len(c.Val()) == 0 {
			continue // its record expired
		}
		p, err := decodePolicy(tenantID, number(nums[i]), c.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// denialCounts sums a report hash's denial counters of the period per reason.
func denialCounts(counters map[string]string, first int64, days int) map[license.Reason]int {
	out := map[license.Reason]int{}
	for field, v := range counters {
		c, ok := decodeReportField(field)
		if ok && c.reason != "" && c.day >= first && c.day < first+int64(days) {
			out[c.reason] += int(number(v))
		}
	}
	return out
}

// inReasonOrder lists the reasons with a count, in the order of license.Reasons.
func inReasonOrder(counts map[license.Reason]int) []license.DenialCount {
	out := []license.DenialCount{}
	for _, r := range license.Reasons {
		if n := counts[r]; n > 0 {
			out = append(out, license.DenialCount{Reason: r, Count: n})
		}
	}
	return out
}

// policyReport reads one policy's counters (see reportField and
// flowCountField).
func policyReport(pol *license.Policy, counters map[string]string, first int64, days int) *license.PolicyReport {
	pr := &license.PolicyReport{Days: days, Policy: pol, Denials: inReasonOrder(denialCounts(counters, first, days))}
	perProduct := map[string]int{}
	var order []string
	for _, id := range pol.ProductIDs() {
		order = append(order, id)
		perProduct[id] = 0
	}
	for d := range int64(days) {
		day := first + d
		n := int(number(counters[reportField(day, 0)]))
		denied := 0
		for _, r := range license.Reasons {
			denied += int(number(counters[denialCountField(day, r)]))
		}
		fills, reclaimed := int(number(counters[flowCountField(day, flowFills)])), int(number(counters[flowCountField(day, flowReclaims)]))
		pr.Claims += n
		pr.WaitlistFills += fills
		pr.Reclaimed += reclaimed
		pr.Daily = append(pr.Daily, license.DailyClaims{
			Date: time.UnixMilli(day * int64(dayMS)).UTC().Format(time.DateOnly), Claims: n, Denied: denied,
			WaitlistFills: fills, Reclaimed: reclaimed,
		})
	}
	for field, v := range counters {
		c, ok := decodeReportField(field)
		if !ok || c.product == 0 || c.day < first || c.day >= first+int64(days) {
			continue
		}
		id := license.ProductID(pol.TenantID, c.product)
		if _, seen := perProduct[id]; !seen {
			order = append(order, id) // a product removed from the policy since
		}
		perProduct[id] += int(number(v))
	}
	for _, id := range order {
		pr.Products = append(pr.Products, license.ProductClaims{ProductID: id, Claims: perProduct[id]})
	}
	return pr
}

// ClaimedUsers pages through the licenses claimed under a policy (a
// deleted one too) in the past days, newest first, one row per claim, from
// the policy's claims stream; a cursor is a row's id. The total is the
// report's count of the period.
func (s *Store) ClaimedUsers(ctx context.Context, policyID string, days, first int, after string) (*license.ClaimedUserPage, error) {
	var problems license.Problems
	problems.Add("days", license.ValidateReportDays(days))
	id, err := checkPage(first, after)
	problems.Add("", err)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	tenantID, n, err := license.ParsePolicyID(policyID)
	if err != nil {
		return nil, err
	}
	start := "+"
	if after != "" {
		start = "(" + id.String()
	}
	now, err := s.redisNow(ctx)
	if err != nil {
		return nil, err
	}
	firstDay, since := period(now, days)
	k := s.keys(tenantID)
	var rows *redis.XMessageSliceCmd
	var counters *redis.MapStringStringCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if id != (license.EventID{}) || after == "" { // nothing comes before the start of time
			rows = p.XRevRangeN(ctx, k.claims(n), start, strconv.FormatInt(since.UnixMilli(), 10), int64(first)+1)
		}
		counters = p.HGetAll(ctx, k.report(n))
		return nil
	})
	if err != nil {
		return nil, s.fail(err)
	}
	page := &license.ClaimedUserPage{}
	for d := range int64(days) {
		page.TotalCount += int(number(counters.Val()[reportField(firstDay+d, 0)]))
	}
	if rows != nil {
		for _, m := range rows.Val() {
			page.Users = append(page.Users, decodeClaimRow(tenantID, policyID, m))
		}
	}
	if len(page.Users) > first {
		page.HasNextPage = true
		page.Users = page.Users[:first]
	}
	if n := len(page.Users); n > 0 {
		page.EndCursor = page.Users[n-1].Cursor()
	}
	return page, nil
}
