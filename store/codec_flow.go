package store

import (
	"slices"
	"strings"
	"time"

	"github.com/autoclaim/autoclaim/license"
)

// The records of the flow back of licenses: a waiting user's score on a
// policy's waitlist, a member of a policy's index of claimed licenses, and
// a member of a tenant's background work. The Lua twins are
// waiter_score_encode, waiter_score_decode, held_encode, held_decode,
// work_encode and work_decode of lua/lib/codec.lua.

// A waiter's score is seq*16 + trigger: seq is the time the user was queued
// (ms, the store's clock) * 64 plus its order among those queued in the same
// millisecond, and trigger the index of the claim's trigger in
// license.AllTriggers. Scores stay below 2^53, exact in a float64, until
// the year 2248.
const (
	waiterTriggers = 16 // triggers a score can name
	waiterPerMS    = 64 // seqs of one millisecond
)

// waiter is a user's place on a waitlist, as its score says.
type waiter struct {
	seq     int64
	trigger license.Trigger
}

// queuedAt is when the user was queued.
func (w waiter) queuedAt() time.Time { return fromMS(w.seq / waiterPerMS) }

// waiterSeq is the first seq of the millisecond of t.
func waiterSeq(t time.Time) int64 { return ms(t) * waiterPerMS }

// encodeWaiterScore writes a waiter's score. The trigger must be one of
// license.AllTriggers.
func encodeWaiterScore(w waiter) float64 {
	return float64(w.seq*waiterTriggers + int64(slices.Index(license.AllTriggers, w.trigger)))
}

// decodeWaiterScore reads a waiter's score; ok is false for a score no
// waiter has.
func decodeWaiterScore(score float64) (w waiter, ok bool) {
	n := int64(score)
	if score < 0 || float64(n) != score {
		return waiter{}, false
	}
	t := n % waiterTriggers
	if t >= int64(len(license.AllTriggers)) {
		return waiter{}, false
	}
	return waiter{seq: n / waiterTriggers, trigger: license.AllTriggers[t]}, true
}

// heldMember names a license of product n held by user in a policy's index
// of claimed licenses.
func heldMember(n int64, user string) string { return itoa(n) + ":" + user }

// decodeHeldMember reads a member of a policy's index of claimed licenses.
func decodeHeldMember(m string) (n int64, user string, ok bool) {
	num, user, found := strings.Cut(m, ":")
	n, isNumber := decimal(num)
	if !found || !isNumber || n == 0 || user == "" {
		return 0, "", false
	}
	return n, user, true
}

// Kinds of a tenant's background work.
const (
	workFill     = "f" // a waitlist fill a call left unfinished
	workSweep    = "s" // a policy's next reclaim sweep
	workWaitlist = "w" // a waitlist that is on (never due)
	workApproval = "a" // a policy that requires approval (never due)
	workRequests = "r" // the sweep of the tenant's license requests (of policy 0: of none)
	workRelease  = "p" // licenses of a product given back (superseded), for the waitlists they feed
)

// workMember names a kind of background work of policy n (0 for the
// tenant's license requests; of product n for workRelease).
func workMember(kind string, n int64) string { return kind + ":" + itoa(n) }

// decodeWorkMember reads a member of a tenant's background work.
func decodeWorkMember(m string) (kind string, n int64, ok bool) {
	kind, num, found := strings.Cut(m, ":")
	n, isNumber := decimal(num)
	switch {
	case !found || !isNumber:
		return "", 0, false
	case kind == workRequests && n == 0:
		return kind, n, true
	case n == 0 || (kind != workFill && kind != workSweep && kind != workWaitlist && kind != workApproval && kind != workRelease):
		return "", 0, false
	}
	return kind, n, true
}
