package store

import (
	"strconv"
	"strings"
	"time"

	"github.com/autoclaim/autoclaim/license"
)

// An idempotency entry is the first answer to a claim made with an
// idempotency key, a field of an idempotency bucket hash (see keys.idem):
//
//	fingerprint|outcome|reason|policy|product|available|event|at
//
// fingerprint identifies the request (see claimFingerprint), policy and
// product are numbers (0 when none), available the licenses available after
// the claim, event the decision's event id and at its time (ms). The claim
// script writes and reads it; its Lua twins are idem_encode and idem_decode
// of lua/lib/codec.lua.

// idemEntry is an idempotency entry.
type idemEntry struct {
	fingerprint string
	outcome     license.Outcome
	reason      license.Reason
	policy      int64
	product     int64
	available   int
	event       string
	at          time.Time
}

// encodeIdem writes an idempotency entry.
func encodeIdem(e idemEntry) string {
	return strings.Join([]string{e.fingerprint, string(e.outcome), string(e.reason), itoa(e.policy), itoa(e.product),
		strconv.Itoa(e.available), e.event, itoa(ms(e.at))}, "|")
}

// decodeIdem reads an idempotency entry of key. Returns EINTERNAL when it is
// malformed.
func decodeIdem(key, s string) (idemEntry, error) {
	f := strings.Split(s, "|")
	if len(f) != 8 {
		return idemEntry{}, malformed("idempotency entry", s, "idempotency key "+key)
	}
	policy, ok1 := decimal(f[3])
	product, ok2 := decimal(f[4])
	available, ok3 := decimal(f[5])
	at, ok4 := decimal(f[7])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return idemEntry{}, malformed("idempotency entry", s, "idempotency key "+key)
	}
	return idemEntry{fingerprint: f[0], outcome: license.Outcome(f[1]), reason: license.Reason(f[2]), policy: policy,
		product: product, available: int(available), event: f[6], at: fromMS(at)}, nil
}
