package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// A policy's index of claimed licenses (keys.held) holds each license
// claimed under it, scored by a time at or before its last use: the claim
// script (and a waitlist fill) adds it with the time it was claimed, the
// scripts that take licenses away drop it. A licensed re-claim stamps the
// license's record only (it writes nothing else), so the index is a list
// of candidates: a license claimed days ago or more may be idle that long,
// one claimed since can't be. The record decides, read here for the dry
// run and in reclaim.lua for the reclaim, which puts a candidate used
// since forward in the index to its last use: sweeps keep the candidates
// close to the licenses idle.

// reclaimBatch is how many licenses one reclaim.lua takes at most: it
// bounds how long a script runs.
const reclaimBatch = 64

// idleBatch is how many candidates one read of the index takes.
const idleBatch = 500

// idleSince is the time a license unused since has been idle for days, by
// the store's clock.
func (s *Store) idleSince(days int) time.Time {
	return s.Now().Add(-time.Duration(days) * 24 * time.Hour)
}

// idleLicense is a license of a policy's index found idle.
type idleLicense struct {
	l      *license.License
	score  float64 // in the index
	member string
}

// heldCursor is a place in a policy's index of claimed licenses: after the
// member of a score (the index's order: by score, then member); from the
// start when not set.
type heldCursor struct {
	set    bool
	score  float64
	member string
}

// heldAfter returns the next members, up to count, of a policy's index
// whose scores are at most max (ms), after the cursor.
func (s *Store) heldAfter(ctx context.Context, key string, max time.Time, after heldCursor, count int64) ([]redis.Z, error) {
	min := "-inf"
	if after.set {
		min = strconv.FormatFloat(after.score, 'f', -1, 64)
	}
	for offset := int64(0); ; {
		batch, err := s.rdb.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: min, Max: strconv.FormatInt(ms(max), 10), Offset: offset, Count: count}).Result()
		if err != nil {
			return nil, s.fail(err)
		}
		var out []redis.Z
		for _, z := range batch {
			if m, _ := z.Member.(string); !after.set || z.Score > after.score || m > after.member {
				out = append(out, z)
			}
		}
		if len(out) > 0 || int64(len(batch)) < count {
			return out, nil
		}
		offset += int64(len(batch)) // all at the cursor's score, before it
	}
}

// idleLicenses calls visit with each license of policy n of tenantID unused
// since (by its record), in the index's order (the longest idle first),
// until visit returns false.
func (s *Store) idleLicenses(ctx context.Context, tenantID string, n int64, since time.Time, visit func(idleLicense) bool) error {
	k := s.keys(tenantID)
	var cursor heldCursor
	for {
		batch, err := s.heldAfter(ctx, k.held(n), since, cursor, idleBatch)
		if err != nil || len(batch) == 0 {
			return err
		}
		records := make([]*redis.StringCmd, len(batch))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, z := range batch {
				_, user, _ := decodeHeldMember(z.Member.(string))
				records[i] = p.HGet(ctx, k.licenseBucket(userBucket(user)), user)
			}
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) { // redis.Nil: a user who holds no license any more
			return s.fail(err)
		}
		for i, z := range batch {
			member := z.Member.(string)
			cursor = heldCursor{set: true, score: z.Score, member: member}
			product, user, ok := decodeHeldMember(member)
			if !ok {
				continue
			}
			held, err := decodeLicenses(user, records[i].Val())
			if err != nil {
				continue
			}
			for _, h := range held {
				if h.product != product {
					continue
				}
				l, err := decodeLicense(s.catalog, tenantID, user, product, h.record)
				if err == nil && l.PolicyID == license.PolicyID(tenantID, n) && !l.LastUsedAt.After(since) {
					if !visit(idleLicense{l: l, score: z.Score, member: member}) {
						return nil
					}
				}
			}
		}
	}
}

// InactiveLicenses implements license.FlowService. A cursor is
// "<score>|<member>" of the last license of a page.
func (s *Store) InactiveLicenses(ctx context.Context, policyID string, days, first int, after string) (*license.InactiveLicensePage, error) {
	score, afterMember, ok := strings.Cut(after, "|")
	ms, isMS := decimal(score) // scores are times in ms: a cursor holds no other number
	afterScore := float64(ms)
	_, _, isMember := decodeHeldMember(afterMember)
	var problems license.Problems
	problems.Add("days", license.ValidateReclaimDays(days))
	problems.Add("", pageProblems(first, after, after == "" || (ok && isMS && isMember)))
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if _, err := s.Policy(ctx, policyID); err != nil {
		return nil, err
	}
	tenantID, n, _ := license.ParsePolicyID(policyID)
	page := &license.InactiveLicensePage{}
	err := s.idleLicenses(ctx, tenantID, n, s.idleSince(days), func(il idleLicense) bool {
		page.TotalCount++
		if afterMember != "" && (il.score < afterScore || (il.score == afterScore && il.member <= afterMember)) {
			return true
		}
		if len(page.Licenses) == first {
			page.HasNextPage = true
			return true
		}
		page.Licenses = append(page.Licenses, il.l)
		page.Cursors = append(page.Cursors, strconv.FormatFloat(il.score, 'f', -1, 64)+"|"+il.member)
		return true
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// ReclaimInactiveLicenses implements license.FlowService: it reclaims the
// licenses InactiveLicenses lists, a batch per script, each batch feeding
// the waitlists in the same script.
func (s *Store) ReclaimInactiveLicenses(ctx context.Context, policyID string, days int) (int, error) {
	if err := license.ValidateReclaimDays(days); err != nil {
		return 0, s.withMissing(ctx, license.OnField("days", err), "policyId", policyID)
	}
	if _, err := s.Policy(ctx, policyID); err != nil {
		return 0, err
	}
	return s.reclaim(ctx, policyID, s.idleSince(days), nil)
}

// reclaim releases the licenses of a policy unused since a time, walking
// its index once; after each batch, goOn (when set) says whether to go on.
// The licenses the walk's own releases gave to waiting users are passed
// over, whatever the clocks say of them.
func (s *Store) reclaim(ctx context.Context, policyID string, since time.Time, goOn func() (bool, error)) (int, error) {
	tenantID, n, _ := license.ParsePolicyID(policyID)
	k := s.keys(tenantID)
	policies, err := s.Policies(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	reclaimed := 0
	given := map[string]bool{}
	var cursor heldCursor
	for {
		batch, err := s.heldAfter(ctx, k.held(n), since, cursor, reclaimBatch)
		if err != nil || len(batch) == 0 {
			return reclaimed, err
		}
		keys := []string{k.policy(n), k.held(n), k.report(n), k.claims(n), k.events(), k.audit()}
		kl := newKeyList(keys...)
		candidates := make([][]any, 0, len(batch))
		freed := map[string]bool{}
		for _, z := range batch {
			m, _ := z.Member.(string)
			cursor = heldCursor{set: true, score: z.Score, member: m}
			if given[m] {
				continue
			}
			product, user, ok := decodeHeldMember(m)
			if !ok { // names no license: only a bug writes one
				if err := s.rdb.ZRem(ctx, k.held(n), m).Err(); err != nil {
					return reclaimed, s.fail(err)
				}
				continue
			}
			candidates = append(candidates, []any{user, itoa(product), kl.add(k.licenseBucket(userBucket(user))), kl.add(k.product(product))})
			freed[license.ProductID(tenantID, product)] = true
		}
		var fed []*license.Policy
		for _, p := range policies {
			if p.WaitlistEnabled && p.Enabled && slices.ContainsFunc(p.ProductIDs(), func(id string) bool { return freed[id] }) {
				fed = append(fed, p)
			}
		}
		arg, _ := json.Marshal(candidates)
		entry, retention := s.audited(ctx, "reclaimInactiveLicenses", []string{policyID})
		released := 0
		fills, err := s.runFeeding(ctx, reclaimScript, subject{policyID: policyID}, tenantID, fed, kl.keys,
			func(name, v string) {
				if name == "reclaimed" {
					released = int(number(v))
				}
			},
			n, ms(since), string(arg), eventWindow, entry, retention, tenantID)
		if err != nil {
			return reclaimed, err
		}
		for _, m := range fills {
			given[m] = true
		}
		reclaimed += released
		s.flowed(0, released)
		if goOn != nil {
			if ok, err := goOn(); err != nil || !ok {
				return reclaimed, err
			}
		}
	}
}
