package store

import (
	"hash/crc32"

	"github.com/autoclaim/autoclaim/license"
)

// keys builds the keys of one tenant. Every key carries the hash tag
// {t:<tenantID>}, so all of a tenant's keys live in one cluster slot.
type keys struct{ p string }

func (s *Store) keys(tenantID string) keys {
	return keys{p: s.prefix + "{t:" + tenantID + "}:"}
}

// The records under these keys, and their codecs, are described in
// codec_*.go.

func (k keys) tenant() string         { return k.p + "tenant" }             // hash (codec_tenant.go)
func (k keys) products() string       { return k.p + "products" }           // zset of product numbers
func (k keys) product(n int64) string { return k.p + "product:" + itoa(n) } // hash (codec_product.go)
func (k keys) skus() string           { return k.p + "skus" }               // hash: skuPartNumber -> product number
func (k keys) policies() string       { return k.p + "policies" }           // zset of policy numbers
func (k keys) appPolicies() string    { return k.p + "apps" }               // hash: app id -> policy number
func (k keys) upns() string           { return k.p + "upns" }               // hash: lower-case upn -> user id
func (k keys) directory() string      { return k.p + "dir" }                // zset of user ids, all scored 0: the directory in id order
func (k keys) events() string         { return k.p + "events" }             // stream of claim and admin events (codec_event.go)
func (k keys) audit() string          { return k.p + "audit" }              // stream of admin and operator changes (codec_audit.go)

// policy is a policy's hash (codec_policy.go).
func (k keys) policy(n int64) string { return k.p + "policy:" + itoa(n) }

// report is a policy's claim counters (codec_report.go).
func (k keys) report(n int64) string { return k.p + "report:" + itoa(n) }

// claims: stream of the licenses claimed under a policy, one entry per
// claim (codec_claimrow.go), kept for the report window.
func (k keys) claims(n int64) string { return k.p + "claims:" + itoa(n) }

// deleted: zset of the numbers of a tenant's deleted policies, scored by
// when they were deleted (ms); their records stay while their claims are
// in the report window.
func (k keys) deleted() string { return k.p + "deleted" }

// waitlist is a policy's queue: zset of user ids scored by their place,
// which tells when they were queued (the store's clock) and for which
// trigger (codec_flow.go).
func (k keys) waitlist(n int64) string { return k.p + "wl:" + itoa(n) }

// approvedWaiters are the users of a policy's waitlist an approval queued:
// hash of user id -> the score it queued them with (their waitlist entry
// then; a later entry of the same user is not approved). Turning approval
// on keeps them, and only them, waiting.
func (k keys) approvedWaiters(n int64) string { return k.p + "wlok:" + itoa(n) }

// held is a policy's index of the licenses claimed under it that their
// holders still have: zset of "<product number>:<user id>" scored by a time
// (ms) at or before the license's last use: when it was claimed, put
// forward by reclaims that find it used since (codec_flow.go, reclaim.go).
func (k keys) held(n int64) string { return k.p + "held:" + itoa(n) }

// work is a tenant's background work: zset of "<kind>:<policy number>"
// scored by when it is due (ms, the store's clock; codec_flow.go).
func (k keys) work() string { return k.p + "work" }

// lease is a lease on one piece of a tenant's work (a string holding its
// holder's token, set with NX and an expiry).
func (k keys) lease(what string) string { return k.p + "lease:" + what }

// requests holds a tenant's license requests: request number -> request
// record (codec_request.go).
func (k keys) requests() string { return k.p + "rq" }

// requestIndex is an index of a tenant's license requests: zset of request
// numbers, each scored by its number (the order they were made). status
// "" indexes them all, a license.RequestStatus those that were recorded in
// it (a pending request past its expiry stays among the PENDING until the
// sweep records it EXPIRED).
func (k keys) requestIndex(status license.RequestStatus) string {
	if status == "" {
		return k.p + "rq:all"
	}
	return k.p + "rq:" + string(status)
}

// requestsDue: zset of request numbers scored by when each is next due for
// the sweep (ms, the store's clock): a pending request at its expiry, a
// decided or expired one when it is to be dropped.
func (k keys) requestsDue() string { return k.p + "rq:due" }

// userRequests is a bucket of users' license requests: user id -> the
// numbers of the user's requests (codec_request.go).
func (k keys) userRequests(bucket int64) string { return k.p + "rqu:" + itoa(bucket) }

// A tenant's users are spread over userBuckets hashes by a hash of their id,
// so that each bucket stays small enough for Redis's compact encoding
// (listpack, up to 128 entries) until a tenant has about 130,000 users.
const userBuckets = 1024

func userBucket(id string) int64 { return int64(crc32.ChecksumIEEE([]byte(id)) % userBuckets) }

// profiles is a bucket of users: user id -> directory entry (codec_profile.go).
func (k keys) profiles(bucket int64) string { return k.p + "u:" + itoa(bucket) }

// licenseBucket is a bucket of users' licenses: user id -> the user's
// licenses (codec_license.go).
func (k keys) licenseBucket(bucket int64) string { return k.p + "l:" + itoa(bucket) }

// Idempotency keys live in a bucket of the UTC day (Redis's) they were
// first used, spread over 256 hashes by the first byte of the key's digest
// (see idemField).
//
// idem is the bucket of day (days since the epoch) of an idempotency field:
// field -> idempotency entry (codec_idem.go).
func (k keys) idem(day int64, field idemField) string {
	return k.p + "i:" + itoa(day) + ":" + itoa(int64(field.bucket))
}

// denials is a tenant's denial log of a UTC day (codec_denial.go): which
// (reason, policy or app, user) had a denial event that day.
func (k keys) denials(day int64) string { return k.p + "dn:" + itoa(day) }

// eventWindow is how long events stay in a tenant's stream (ms), as an argument to scripts.
var eventWindow = license.ReportWindow.Milliseconds()

// flowTenants is the set of tenants that have background work (a waitlist
// on, a reclaim period set): the one key of the store that is not a
// tenant's. The workers read it, and nothing else, to find their work.
func (s *Store) flowTenants() string { return s.prefix + "flow" }
