package store

import (
	"io/fs"

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
	DecodeReportField    = decodeReportField
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

// CoveringOf is the covering list of an app's trigger in a catalog.
func CoveringOf(c *license.Catalog, app string, trigger license.Trigger) []Coverage {
	return DecodeCovering(encodeCovering(coveringOf(c, app, trigger)))
}

// IdemEntry is an idempotency entry.
type IdemEntry struct {
	Fingerprint     string
	Outcome         license.Outcome
	Reason          license.Reason
	Policy, Product int64
	Available       int
	Event           string
	AtMS            int64
}

// EncodeIdem is encodeIdem.
func EncodeIdem(e IdemEntry) string {
	return encodeIdem(idemEntry{fingerprint: e.Fingerprint, outcome: e.Outcome, reason: e.Reason, policy: e.Policy,
		product: e.Product, available: e.Available, event: e.Event, at: fromMS(e.AtMS)})
}

// DecodeIdem is decodeIdem.
func DecodeIdem(key, s string) (IdemEntry, error) {
	e, err := decodeIdem(key, s)
	return IdemEntry{Fingerprint: e.fingerprint, Outcome: e.outcome, Reason: e.reason, Policy: e.policy, Product: e.product,
		Available: e.available, Event: e.event, AtMS: ms(e.at)}, err
}

// HasScriptFailure says whether scriptFailures gives a reason a meaning.
func HasScriptFailure(reason string) bool {
	_, ok := scriptFailures[reason]
	return ok
}
