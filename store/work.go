package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// Every instance runs a worker (Work) that does the tenants' background
// work when it is due:
//
//   - the waitlist fills that calls left unfinished (lib/fill.lua marks
//     them "f:<policy>" in the tenant's work, due a second after the call;
//     the fill that finishes one takes the mark off), and
//   - the waitlists fed by licenses given back, superseded ("p:<product>",
//     marked by the claim or fill that gave them back, due a second later;
//     finishing it takes the mark off), and
//   - the reclaim sweeps of the policies with a reclaim period
//     ("s:<policy>", due when the period is set, then every
//     license.SweepInterval), and
//   - the sweep of the tenant's license requests ("r:0", due when the
//     first request is to expire or to be dropped; requests.go).
//
// Waitlists that are on ("w:<policy>") and policies that require approval
// ("a:<policy>") are never due: they keep their tenant listed.
//
// The tenants with background work are listed in one set (flowTenants),
// which callers add a tenant to before the change that gives it work; a
// worker takes a tenant off when its work is empty, then looks again and
// puts it back if a change gave it work in between. Each piece of work is
// done under a lease (SET NX PX): with many instances one does it at a
// time, and a crashed one's lease lapses. Times are the store's clock
// (Store.Now).

// workTick is how often a worker looks for due work.
const workTick = time.Second

// workPerTenant bounds the pieces of a tenant's work one tick takes.
const workPerTenant = 32

// fillLease and sweepLease are how long a worker holds a piece of work
// before others may take it; a sweep renews its lease after each batch.
const (
	fillLease  = 10 * time.Second
	sweepLease = time.Minute
)

// Work runs this instance's worker until ctx ends: a Tick every second.
// Failures are logged, and the next tick tries again.
func (s *Store) Work(ctx context.Context) {
	t := time.NewTicker(workTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "background work failed; trying again in a second", "err", err)
		}
	}
}

// Tick does the background work that is due now, once: the fills calls
// left unfinished and the reclaim sweeps due, of every tenant with work.
func (s *Store) Tick(ctx context.Context) error {
	tenants, err := s.rdb.SMembers(ctx, s.flowTenants()).Result()
	if err != nil {
		return s.fail(err)
	}
	now := strconv.FormatInt(ms(s.Now()), 10)
	due := make([]*redis.StringSliceCmd, len(tenants))
	exists := make([]*redis.IntCmd, len(tenants))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, t := range tenants {
			k := s.keys(t)
			due[i] = p.ZRangeByScore(ctx, k.work(), &redis.ZRangeBy{Min: "-inf", Max: now, Count: workPerTenant})
			exists[i] = p.Exists(ctx, k.work())
		}
		return nil
	}); err != nil {
		return s.fail(err)
	}
	var errs []error
	for i, tenantID := range tenants {
		if exists[i].Val() == 0 {
			errs = append(errs, s.unlistFlow(ctx, tenantID))
			continue
		}
		for _, m := range due[i].Val() {
			switch kind, n, _ := decodeWorkMember(m); kind {
			case workFill:
				errs = append(errs, s.finishFill(ctx, tenantID, n))
			case workSweep:
				errs = append(errs, s.sweep(ctx, tenantID, n))
			case workRelease:
				errs = append(errs, s.finishRelease(ctx, tenantID, n))
			case workRequests:
				errs = append(errs, s.sweepRequests(ctx, tenantID))
			}
		}
	}
	return errors.Join(errs...)
}

// unlistFlow takes a tenant without work off the list of those with work,
// and puts it back if a change gave it work meanwhile.
func (s *Store) unlistFlow(ctx context.Context, tenantID string) error {
	if err := s.rdb.SRem(ctx, s.flowTenants(), tenantID).Err(); err != nil {
		return s.fail(err)
	}
	n, err := s.rdb.Exists(ctx, s.keys(tenantID).work()).Result()
	if err != nil || n == 0 {
		return s.fail(err)
	}
	return s.registerFlow(ctx, tenantID)
}

// lease is a lease on a piece of a tenant's work, held by this store.
type lease struct {
	s   *Store
	key string
}

// takeLease takes the lease on a piece of a tenant's work for ttl; ok is
// false when another holds it.
func (s *Store) takeLease(ctx context.Context, tenantID, what string, ttl time.Duration) (l lease, ok bool, err error) {
	key := s.keys(tenantID).lease(what)
	ok, err = s.rdb.SetNX(ctx, key, s.token, ttl).Result()
	return lease{s: s, key: key}, ok, s.fail(err)
}

// renew holds the lease ttl longer; ok is false when it lapsed and another
// took it.
func (l lease) renew(ctx context.Context, ttl time.Duration) (ok bool, err error) {
	n, err := l.s.runScript(ctx, leaseScript, subject{}, []string{l.key}, l.s.token, "renew", ttl.Milliseconds())
	return n == int64(1), err
}

// release gives the lease back, if it is still this store's.
func (l lease) release(ctx context.Context) error {
	_, err := l.s.runScript(ctx, leaseScript, subject{}, []string{l.key}, l.s.token, "release")
	return err
}

// finishFill finishes a waitlist fill a call left unfinished, from the head
// of the queue.
func (s *Store) finishFill(ctx context.Context, tenantID string, n int64) error {
	l, ok, err := s.takeLease(ctx, tenantID, workMember(workFill, n), fillLease)
	if err != nil || !ok {
		return err
	}
	defer l.release(context.WithoutCancel(ctx))
	_, err = s.fillRest(ctx, tenantID, itoa(n)+"=0")
	return err
}

// sweep reclaims the idle licenses of a policy whose sweep is due, and
// makes the next due license.SweepInterval later.
func (s *Store) sweep(ctx context.Context, tenantID string, n int64) error {
	k := s.keys(tenantID)
	what := workMember(workSweep, n)
	l, ok, err := s.takeLease(ctx, tenantID, what, sweepLease)
	if err != nil || !ok {
		return err
	}
	defer l.release(context.WithoutCancel(ctx))
	// Another worker may have swept it since this one read the work.
	now := s.Now()
	due, err := s.rdb.ZScore(ctx, k.work(), what).Result()
	if errors.Is(err, redis.Nil) || (err == nil && int64(due) > ms(now)) {
		return nil
	}
	if err != nil {
		return s.fail(err)
	}
	policyID := license.PolicyID(tenantID, n)
	p, err := s.Policy(ctx, policyID)
	if license.ErrorCode(err) == license.ENOTFOUND {
		return nil // deleted since: its work with it
	}
	if err != nil {
		return err
	}
	if p.ReclaimInactiveAfterDays > 0 {
		if _, err := s.reclaim(ctx, policyID, s.idleSince(p.ReclaimInactiveAfterDays), func() (bool, error) {
			return l.renew(ctx, sweepLease)
		}); err != nil {
			return err
		}
	}
	return s.fail(s.rdb.ZAddXX(ctx, k.work(), redis.Z{Score: float64(ms(now.Add(license.SweepInterval))), Member: what}).Err())
}
