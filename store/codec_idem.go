package store

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/autoclaim/autoclaim/license"
)

// An idempotency entry is the first answer to a claim made with an
// idempotency key, a field of an idempotency bucket hash (see keys.idem):
//
//	request|outcome|reason|policy|product|available|event|at|total|assigned|created|license[;released]
//
// The field is the digest of the caller and the key (idemField). request is
// the digest of what the claim asked (requestDigest); policy and product are
// numbers (0 when none); available the licenses available after the claim;
// event the decision's event id and at its time (ms); total, assigned and
// created the claimed product's pool after the claim and when it was added
// (ms), empty when no license was claimed; license the license record as
// claimed (codec_license.go), last because it holds | itself, empty when
// none; released, after a ; when the claim gave licenses back (superseded
// by the one claimed), those licenses as a user's license list
// (codec_license.go, whose records hold no ;). The claim script writes and reads it; its Lua twins are idem_encode
// and idem_decode of lua/lib/codec.lua.

// idemEntry is an idempotency entry.
type idemEntry struct {
	request   string
	outcome   license.Outcome
	reason    license.Reason
	policy    int64
	product   int64
	available int
	event     string
	at        time.Time
	// The claimed product's counts, and the license record; zero and "" when
	// no license was claimed.
	total, assigned int
	created         time.Time
	license         string
	released        string
}

// digestLen is how many bytes of a SHA-256 digest the entries keep: 128 bits.
const digestLen = 16

// digest is the first 128 bits of the SHA-256 of parts, each ended by a
// zero byte, in unpadded URL-safe base64 (22 characters, never a |).
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:digestLen])
}

// idemField names a caller's idempotency key in its bucket: 128 bits of
// digest of the caller and the key, and the bucket (0-255) they choose.
type idemField struct {
	text   string
	bucket byte
}

// idemFieldOf returns the field of a caller's idempotency key.
func idemFieldOf(caller, key string) idemField {
	text := digest("idempotency key", caller, key)
	raw, _ := base64.RawURLEncoding.DecodeString(text)
	return idemField{text: text, bucket: raw[0]}
}

// requestDigest identifies what a claim asks, to tell a retry from another
// claim reusing a key: 128 bits, so no two requests meet by chance.
func requestDigest(r license.ClaimRequest) string {
	return digest("claim", r.UserID, r.AppID, string(r.Trigger))
}

// encodeIdem writes an idempotency entry.
func encodeIdem(e idemEntry) string {
	total, assigned, created := "", "", ""
	if e.license != "" {
		total, assigned, created = strconv.Itoa(e.total), strconv.Itoa(e.assigned), itoa(ms(e.created))
	}
	return strings.Join([]string{e.request, string(e.outcome), string(e.reason), itoa(e.policy), itoa(e.product),
		strconv.Itoa(e.available), e.event, itoa(ms(e.at)), total, assigned, created, released(e.license, e.released)}, "|")
}

// released appends the licenses a claim gave back to its license record.
func released(license, released string) string {
	if released == "" {
		return license
	}
	return license + ";" + released
}

// decodeIdem reads an idempotency entry of a key. Returns EINTERNAL when it
// is malformed.
func decodeIdem(key, s string) (idemEntry, error) {
	f := strings.SplitN(s, "|", 12)
	bad := func() (idemEntry, error) {
		return idemEntry{}, malformed("idempotency entry", s, "idempotency key "+key)
	}
	if len(f) != 12 {
		return bad()
	}
	policy, ok1 := decimal(f[3])
	product, ok2 := decimal(f[4])
	available, ok3 := decimal(f[5])
	at, ok4 := decimal(f[7])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return bad()
	}
	e := idemEntry{request: f[0], outcome: license.Outcome(f[1]), reason: license.Reason(f[2]), policy: policy,
		product: product, available: int(available), event: f[6], at: fromMS(at)}
	e.license, e.released, _ = strings.Cut(f[11], ";")
	if f[8] != "" || f[9] != "" || f[10] != "" {
		total, ok1 := decimal(f[8])
		assigned, ok2 := decimal(f[9])
		created, ok3 := decimal(f[10])
		if !ok1 || !ok2 || !ok3 {
			return bad()
		}
		e.total, e.assigned, e.created = int(total), int(assigned), fromMS(created)
	}
	return e, nil
}
