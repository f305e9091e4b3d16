package store

import (
	"context"
	"strconv"
	"strings"
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
func (s *Store) Report(ctx context.Context, tenantID string, days int) (*license.Report, error) {
	if err := license.ValidateReportDays(days); err != nil {
		return nil, err
	}
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	policies, err := s.Policies(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	k := s.keys(tenantID)
	var timeCmd *redis.TimeCmd
	cmds := make([]*redis.MapStringStringCmd, len(policies))
	var unserved *redis.MapStringStringCmd // the denials of apps without a policy
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		timeCmd = p.Time(ctx)
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
	now := timeCmd.Val().UTC()
	first, since := period(now, days)
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

// ClaimedUsers pages through the users who claimed under a policy in the
// past days, newest first. A cursor is "<claimed at ms>:<user id>".
func (s *Store) ClaimedUsers(ctx context.Context, policyID string, days, first int, after string) (*license.ClaimedUserPage, error) {
	if err := license.ValidateReportDays(days); err != nil {
		return nil, err
	}
	if first < 0 || first > MaxPageSize {
		return nil, license.Errorf(license.EINVALID, "first must be between 0 and %d; got %d.", MaxPageSize, first)
	}
	tenantID, n, err := license.ParsePolicyID(policyID)
	if err != nil {
		return nil, err
	}
	max, afterUser := "+inf", ""
	if after != "" {
		score, user, ok := strings.Cut(after, ":")
		if _, err := strconv.ParseInt(score, 10, 64); !ok || err != nil || user == "" {
			return nil, license.Errorf(license.EINVALID, "The cursor %q is not one this API returned.", after)
		}
		max, afterUser = score, user
	}
	now, err := s.redisNow(ctx)
	if err != nil {
		return nil, err
	}
	_, since := period(now, days)
	min := strconv.FormatInt(since.UnixMilli(), 10)
	key := s.keys(tenantID).claimed(n)
	total, err := s.rdb.ZCount(ctx, key, min, "+inf").Result()
	if err != nil {
		return nil, s.fail(err)
	}
	page := &license.ClaimedUserPage{TotalCount: int(total)}
	// Members with the cursor's score come in reverse order of user id; those
	// at or above the cursor's user were on earlier pages.
	for offset := int64(0); len(page.Users) <= first; {
		batch, err := s.rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Max: max, Min: min, Offset: offset, Count: int64(first) + 64}).Result()
		if err != nil {
			return nil, s.fail(err)
		}
		for _, z := range batch {
			user, _ := z.Member.(string)
			score := strconv.FormatInt(int64(z.Score), 10)
			if afterUser != "" && score == max && user >= afterUser {
				continue
			}
			page.Users = append(page.Users, &license.ClaimedUser{TenantID: tenantID, UserID: user, ClaimedAt: time.UnixMilli(int64(z.Score)).UTC()})
		}
		if len(batch) < first+64 {
			break
		}
		offset += int64(len(batch))
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
