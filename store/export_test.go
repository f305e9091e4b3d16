package store

import (
	"io/fs"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// What the tests of package store_test use of the store's insides: the
// codecs, and the script loader.

// LuaFiles are the embedded scripts and libraries.
var LuaFiles fs.FS = luaFiles

// ExpandScript is expandScript.
func ExpandScript(fsys fs.FS, file string) (string, error) { return expandScript(fsys, file) }

// LuaScript returns a script of the text src, which may include the
// libraries of lua/lib as a script of lua/ does.
func LuaScript(src string) (*redis.Script, error) {
	expanded, err := expandSource(luaFiles, "lua/test.lua", src)
	if err != nil {
		return nil, err
	}
	return redis.NewScript(expanded), nil
}

// ScriptSource returns the text a script of lua/ runs, its libraries included.
func ScriptSource(name string) (string, error) { return expandScript(luaFiles, "lua/"+name) }

// Codecs of records.
var (
	EncodeLicense        = encodeLicense
	DecodeLicense        = decodeLicense
	EncodeClaimRow       = encodeClaimRow
	DecodeClaimRow       = decodeClaimRow
	EncodeAuditEntry     = encodeAuditEntry
	DecodeAuditEntry     = decodeAuditEntry
	EncodeAuditArg       = encodeAuditArg
	EncodeProfile        = encodeProfile
	DecodeProfile        = decodeProfile
	EncodePolicyProducts = encodePolicyProducts
	DecodePolicyProducts = decodePolicyProducts
	EncodeEvent          = encodeEvent
	DecodeEvent          = decodeEvent
	ReportField          = reportField
)

// HeldLicense is one entry of a user's licenses.
type HeldLicense struct {
	Product int64
	Record  string
}

// EncodeLicenses is encodeLicenses.
func EncodeLicenses(held []HeldLicense) string {
	in := make([]heldLicense, len(held))
	for i, h := range held {
		in[i] = heldLicense{product: h.Product, record: h.Record}
	}
	return encodeLicenses(in)
}

// DecodeLicenses is decodeLicenses.
func DecodeLicenses(userID, s string) ([]HeldLicense, error) {
	held, err := decodeLicenses(userID, s)
	out := make([]HeldLicense, len(held))
	for i, h := range held {
		out[i] = HeldLicense{Product: h.product, Record: h.record}
	}
	return out, err
}

// Coverage is one SKU of a covering list.
type Coverage struct{ SKU, Plan string }

// EncodeCovering is encodeCovering.
func EncodeCovering(list []Coverage) string {
	in := make([]coverage, len(list))
	for i, c := range list {
		in[i] = coverage{sku: c.SKU, plan: c.Plan}
	}
	return encodeCovering(in)
}

// DecodeCovering is decodeCovering.
func DecodeCovering(s string) []Coverage {
	var out []Coverage
	for _, c := range decodeCovering(s) {
		out = append(out, Coverage{SKU: c.sku, Plan: c.plan})
	}
	return out
}

// Supersession is one pair of a supersedes list.
type Supersession struct{ SKU, Lesser string }

// EncodeSupersedes is encodeSupersedes.
func EncodeSupersedes(list []Supersession) string {
	in := make([]supersession, len(list))
	for i, s := range list {
		in[i] = supersession{sku: s.SKU, lesser: s.Lesser}
	}
	return encodeSupersedes(in)
}

// DecodeSupersedes is decodeSupersedes.
func DecodeSupersedes(s string) []Supersession {
	var out []Supersession
	for _, p := range decodeSupersedes(s) {
		out = append(out, Supersession{SKU: p.sku, Lesser: p.lesser})
	}
	return out
}

// SupersedesOf is the supersedes list of an app in a catalog.
func SupersedesOf(c *license.Catalog, app string) []Supersession {
	return DecodeSupersedes(encodeSupersedes(supersedesOf(c, app)))
}

// CoveringOf is the covering list of an app's trigger in a catalog.
func CoveringOf(c *license.Catalog, app string, trigger license.Trigger) []Coverage {
	return DecodeCovering(encodeCovering(coveringOf(c, app, trigger)))
}

// IdemEntry is an idempotency entry.
type IdemEntry struct {
	Request         string
	Outcome         license.Outcome
	Reason          license.Reason
	Policy, Product int64
	Available       int
	Event           string
	AtMS            int64
	Total, Assigned int
	CreatedMS       int64
	License         string
	Released        string
}

// EncodeIdem is encodeIdem.
func EncodeIdem(e IdemEntry) string {
	return encodeIdem(idemEntry{request: e.Request, outcome: e.Outcome, reason: e.Reason, policy: e.Policy,
		product: e.Product, available: e.Available, event: e.Event, at: fromMS(e.AtMS), total: e.Total,
		assigned: e.Assigned, created: fromMS(e.CreatedMS), license: e.License, released: e.Released})
}

// DecodeIdem is decodeIdem.
func DecodeIdem(key, s string) (IdemEntry, error) {
	e, err := decodeIdem(key, s)
	out := IdemEntry{Request: e.request, Outcome: e.outcome, Reason: e.reason, Policy: e.policy, Product: e.product,
		Available: e.available, Event: e.event, AtMS: ms(e.at), Total: e.total, Assigned: e.assigned, License: e.license,
		Released: e.released}
	if !e.created.IsZero() {
		out.CreatedMS = ms(e.created)
	}
	return out, err
}

// RequestDigest is requestDigest.
var RequestDigest = requestDigest

// IdemBucketKey returns the key of the idempotency bucket of a caller's key
// on a day, and the key's field in it.
func (s *Store) IdemBucketKey(tenantID string, day int64, caller, key string) (bucket, field string) {
	f := idemFieldOf(caller, key)
	return s.keys(tenantID).idem(day, f), f.text
}

// Denial is a denial log entry.
type Denial struct {
	Reason      license.Reason
	Scope, User string
}

// EncodeDenial is encodeDenial.
func EncodeDenial(d Denial) string {
	return encodeDenial(denial{reason: d.Reason, scope: d.Scope, user: d.User})
}

// DecodeDenial is decodeDenial.
func DecodeDenial(s string) (Denial, bool) {
	d, ok := decodeDenial(s)
	return Denial{Reason: d.reason, Scope: d.scope, User: d.user}, ok
}

// ReportCounter is what a field of a report hash counts.
type ReportCounter struct {
	Day, Product int64
	Reason       license.Reason
	Flow         string
}

// DecodeReportField is decodeReportField.
func DecodeReportField(field string) (ReportCounter, bool) {
	c, ok := decodeReportField(field)
	return ReportCounter{Day: c.day, Product: c.product, Reason: c.reason, Flow: c.flow}, ok
}

// FlowCountField is flowCountField; FlowFills and FlowReclaims are what
// its counts count.
var FlowCountField = flowCountField

// What a flow count counts.
const (
	FlowFills    = flowFills
	FlowReclaims = flowReclaims
)

// Waiter is a user's place on a waitlist.
type Waiter struct {
	Seq     int64
	Trigger license.Trigger
}

// EncodeWaiterScore is encodeWaiterScore.
func EncodeWaiterScore(w Waiter) float64 {
	return encodeWaiterScore(waiter{seq: w.Seq, trigger: w.Trigger})
}

// DecodeWaiterScore is decodeWaiterScore, with the time the user was queued.
func DecodeWaiterScore(score float64) (Waiter, time.Time, bool) {
	w, ok := decodeWaiterScore(score)
	return Waiter{Seq: w.seq, Trigger: w.trigger}, w.queuedAt(), ok
}

// WaiterSeq is waiterSeq.
var WaiterSeq = waiterSeq

// Codecs of the members of the index of claimed licenses and of a tenant's
// work.
var (
	HeldMember       = heldMember
	DecodeHeldMember = decodeHeldMember
	WorkMember       = workMember
	DecodeWorkMember = decodeWorkMember
)

// Kinds of background work.
const (
	WorkFill     = workFill
	WorkSweep    = workSweep
	WorkRelease  = workRelease
	WorkWaitlist = workWaitlist
	WorkApproval = workApproval
	WorkRequests = workRequests
)

// RequestRecord is a license request's record, times in ms (DecidedMS 0:
// none).
type RequestRecord struct {
	Status                 license.RequestStatus
	Policy                 int64
	User, App              string
	Trigger                license.Trigger
	RequestedMS, DecidedMS int64
	Outcome                license.Outcome
	Reason                 license.Reason
	Product                int64
	Roles                  []string
	License, Actor         string
	Message                string
}

// EncodeRequest is encodeRequest.
func EncodeRequest(r RequestRecord) string {
	rec := requestRecord{status: r.Status, policy: r.Policy, user: r.User, app: r.App, trigger: r.Trigger,
		requested: fromMS(r.RequestedMS), outcome: r.Outcome, reason: r.Reason, product: r.Product, roles: r.Roles,
		license: r.License, actor: r.Actor, message: r.Message}
	if r.DecidedMS != 0 {
		rec.decided = fromMS(r.DecidedMS)
	}
	return encodeRequest(rec)
}

// DecodeRequest is decodeRequest.
func DecodeRequest(s string) (RequestRecord, error) {
	r, err := decodeRequest(s, "a test's request")
	out := RequestRecord{Status: r.status, Policy: r.policy, User: r.user, App: r.app, Trigger: r.trigger,
		RequestedMS: ms(r.requested), Outcome: r.outcome, Reason: r.reason, Product: r.product, Roles: r.roles,
		License: r.license, Actor: r.actor, Message: r.message}
	if !r.decided.IsZero() {
		out.DecidedMS = ms(r.decided)
	}
	if err != nil {
		return RequestRecord{}, err
	}
	return out, nil
}

// RequestStatusLetter is the letter a record keeps a status as.
func RequestStatusLetter(s license.RequestStatus) string { return requestStatusLetters[s] }

// EncodeRequestNumbers is encodeRequestNumbers.
var EncodeRequestNumbers = encodeRequestNumbers

// DecodeRequestNumbers is decodeRequestNumbers.
func DecodeRequestNumbers(s string) ([]int64, error) { return decodeRequestNumbers(s, "a test's user") }

// DenialCountField is denialCountField.
var DenialCountField = denialCountField

// HasScriptFailure says whether scriptFailures gives a reason a meaning.
func HasScriptFailure(reason string) bool {
	_, ok := scriptFailures[reason]
	return ok
}

// UserBucket is userBucket.
var UserBucket = userBucket

// ReadReply is readReply.
var ReadReply = readReply
