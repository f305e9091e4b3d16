package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// maxLimiters bounds the callers whose claim rate is remembered; the table
// starts afresh when full.
const maxLimiters = 100_000

// claimLimiter limits claimLicense calls per caller, in process: it adds no
// Redis round trip. The caller's class (auth.ClaimRate) picks the rate.
type claimLimiter struct {
	limits Limits
	now    func() time.Time

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func newClaimLimiter(l Limits, now func() time.Time) *claimLimiter {
	return &claimLimiter{limits: l, now: now}
}

// AllowClaim takes a token for the caller's next claim. Returns
// ERATELIMITED, with how long to wait, when the caller has none left.
func (l *claimLimiter) AllowClaim(c *auth.Caller) error {
	r, burst := l.limits.ClaimRate, l.limits.ClaimBurst
	if c.ClaimRate() == auth.ClaimRateUser {
		r, burst = l.limits.UserClaimRate, l.limits.UserClaimBurst
	}
	if r == 0 {
		return nil
	}
	l.mu.Lock()
	lim := l.limiters[c.Key()]
	if lim == nil {
		if l.limiters == nil || len(l.limiters) >= maxLimiters {
			l.limiters = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(rate.Limit(r), max(1, burst))
		l.limiters[c.Key()] = lim
	}
	l.mu.Unlock()
	now := l.now()
	res := lim.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	if wait == 0 {
		return nil
	}
	res.CancelAt(now)
	le := license.Errorf(license.ERATELIMITED, "Too many claims from this caller; retry in %.1f s.", wait.Seconds())
	le.RetryAfter = wait
	return le
}
