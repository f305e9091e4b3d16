package store

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// A policy's waitlist is a sorted set of user ids scored by their place
// (codec_flow.go): the claim script queues a user whose claim finds no
// license, lib/fill.lua gives waiting users the licenses that become
// available, in order. A user who waited license.WaitlistExpiry leaves it:
// the claim script and the fills drop such users as they meet them, and
// pages and places leave them out meanwhile.

// waitedTooLong is the lowest score of a user who has not waited too long,
// by the store's clock.
func (s *Store) waitedTooLong() float64 {
	return encodeWaiterScore(waiter{seq: waiterSeq(s.Now().Add(-license.WaitlistExpiry)), trigger: license.AllTriggers[0]})
}

// Waitlist implements license.FlowService: a page of a policy's waitlist
// in queue order. A cursor is the score of the last user of a page.
func (s *Store) Waitlist(ctx context.Context, policyID string, first int, after string) (*license.WaitlistPage, error) {
	score, err := strconv.ParseFloat(after, 64)
	_, ok := decodeWaiterScore(score)
	if err := pageProblems(first, after, after == "" || (err == nil && ok)); err != nil {
		return nil, err
	}
	p, err := s.Policy(ctx, policyID)
	if err != nil {
		return nil, err
	}
	tenantID, n, _ := license.ParsePolicyID(policyID)
	key := s.keys(tenantID).waitlist(n)
	oldest := strconv.FormatFloat(s.waitedTooLong(), 'f', -1, 64)
	from, cursor := oldest, "" // cursor: the score the page follows, when it is a live user's
	if after != "" {
		if score >= s.waitedTooLong() {
			from, cursor = "("+after, after
		}
	}
	var total, ahead *redis.IntCmd
	var page *redis.ZSliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		total = pl.ZCount(ctx, key, oldest, "+inf")
		if cursor != "" {
			ahead = pl.ZCount(ctx, key, oldest, cursor)
		}
		page = pl.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: from, Max: "+inf", Count: int64(first) + 1})
		return nil
	}); err != nil {
		return nil, s.fail(err)
	}
	out := &license.WaitlistPage{TotalCount: int(total.Val())}
	entries := page.Val()
	if len(entries) > first {
		out.HasNextPage = true
		entries = entries[:first]
	}
	position := 0 // of the user before the page
	if ahead != nil {
		position = int(ahead.Val())
	}
	for _, z := range entries {
		w, ok := decodeWaiterScore(z.Score)
		if !ok {
			return nil, malformed("waitlist score", strconv.FormatFloat(z.Score, 'f', -1, 64), "policy "+policyID)
		}
		position++
		user, _ := z.Member.(string)
		out.Entries = append(out.Entries, &license.WaitlistEntry{TenantID: p.TenantID, PolicyID: policyID, UserID: user,
			QueuedAt: w.queuedAt(), Trigger: w.trigger, Position: position})
		out.Cursors = append(out.Cursors, strconv.FormatFloat(z.Score, 'f', -1, 64))
	}
	return out, nil
}

// RemoveFromWaitlist implements license.FlowService.
func (s *Store) RemoveFromWaitlist(ctx context.Context, policyID, userID string) error {
	if err := license.ValidateCallerID("user id", userID); err != nil {
		// No id a claim would take can be waiting.
		return s.withMissing(ctx, license.OnField("userId", err), "policyId", policyID)
	}
	tenantID, n, err := license.ParsePolicyID(policyID)
	if err != nil {
		return err
	}
	on := subject{policyID: policyID, userID: userID}
	k := s.keys(tenantID)
	entry, retention := s.audited(ctx, "removeFromWaitlist", []string{policyID, userID})
	_, err = s.runScript(ctx, removeWaiterScript, on, []string{k.policy(n), k.waitlist(n), k.events(), k.audit()},
		userID, n, eventWindow, entry, retention)
	return err
}
