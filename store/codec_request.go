package store

import (
	"strconv"
	"strings"
	"time"

	"github.com/autoclaim/autoclaim/license"
)

// A license request is a field of a tenant's requests hash (see
// keys.requests), its number -> its record:
//
//	status|policy|user|app|trigger|requested|decided|outcome|reason|product|roles|<l>|<a>|<license><actor><message>
//
// status is P (pending), A (approved), D (denied) or E (expired); policy the
// number of the policy it was made under; user, app and trigger the
// claim's; requested and decided times (ms, the store's clock; decided ''
// while pending); outcome and reason what an approval led to ('' else);
// product the number of the product an approval gave or found ('0' when
// none); roles the decider's ("R,R"; '' when none). Then three texts, one
// after the other with nothing between: the license record an approval
// gave or found (see codec_license.go), l bytes long; the decider's subject,
// a bytes long; and the denial's message, the rest. The lengths keep
// whatever the subject and the message hold from being read as a delimiter.
// The Lua twins are request_encode and request_decode of
// lua/lib/codec.lua.
//
// A user's requests are a field of a bucket hash (see keys.userRequests):
// user id -> the numbers of the user's requests, "n,n", in the order they
// were made. The Lua twins are list_encode and list_decode.

// requestRecord is a license request as its record holds it.
type requestRecord struct {
	status    license.RequestStatus
	policy    int64
	user, app string
	trigger   license.Trigger
	requested time.Time
	decided   time.Time // zero while pending
	outcome   license.Outcome
	reason    license.Reason
	product   int64
	roles     []string
	license   string // a license record, '' when none
	actor     string
	message   string
}

// requestStatusLetters are the letters records keep statuses as.
var requestStatusLetters = map[license.RequestStatus]string{
	license.RequestPending: "P", license.RequestApproved: "A", license.RequestDenied: "D", license.RequestExpired: "E",
}

// encodeRequest writes a request's record.
func encodeRequest(r requestRecord) string {
	decided := ""
	if !r.decided.IsZero() {
		decided = itoa(ms(r.decided))
	}
	return strings.Join([]string{requestStatusLetters[r.status], itoa(r.policy), r.user, r.app, string(r.trigger),
		itoa(ms(r.requested)), decided, string(r.outcome), string(r.reason), itoa(r.product), strings.Join(r.roles, ","),
		strconv.Itoa(len(r.license)), strconv.Itoa(len(r.actor)), r.license + r.actor + r.message}, "|")
}

// decodeRequest reads a request's record; owner names it in the error.
// Returns EINTERNAL when it is malformed.
func decodeRequest(rec, owner string) (requestRecord, error) {
	bad := func() (requestRecord, error) { return requestRecord{}, malformed("license request", rec, owner) }
	f := strings.SplitN(rec, "|", 14)
	if len(f) != 14 || f[2] == "" || f[3] == "" || f[4] == "" {
		return bad()
	}
	var r requestRecord
	for status, letter := range requestStatusLetters {
		if f[0] == letter {
			r.status = status
		}
	}
	policy, ok1 := decimal(f[1])
	requested, ok2 := decimal(f[5])
	decided, ok3 := int64(0), f[6] == ""
	if !ok3 {
		decided, ok3 = decimal(f[6])
	}
	product, ok4 := decimal(f[9])
	licenseLen, ok5 := decimal(f[11])
	actorLen, ok6 := decimal(f[12])
	if r.status == "" || policy == 0 || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		(r.status == license.RequestPending) != (f[6] == "") || licenseLen+actorLen > int64(len(f[13])) {
		return bad()
	}
	r.policy, r.user, r.app, r.trigger = policy, f[2], f[3], license.Trigger(f[4])
	r.requested, r.outcome, r.reason, r.product = fromMS(requested), license.Outcome(f[7]), license.Reason(f[8]), product
	if f[6] != "" {
		r.decided = fromMS(decided)
	}
	if f[10] != "" {
		r.roles = strings.Split(f[10], ",")
	}
	rest := f[13]
	r.license, r.actor, r.message = rest[:licenseLen], rest[licenseLen:licenseLen+actorLen], rest[licenseLen+actorLen:]
	return r, nil
}

// licenseRequest builds the request number n of a tenant from its record.
// Returns EINTERNAL when the license it holds is malformed.
func (s *Store) licenseRequest(tenantID string, n int64, r requestRecord) (*license.LicenseRequest, error) {
	out := &license.LicenseRequest{ID: license.RequestID(tenantID, n), TenantID: tenantID, UserID: r.user, AppID: r.app,
		PolicyID: license.PolicyID(tenantID, r.policy), Trigger: r.trigger, RequestedAt: r.requested, Status: r.status,
		DecidedAt: r.decided, Message: r.message, Outcome: r.outcome, Reason: r.reason}
	if r.actor != "" || len(r.roles) > 0 {
		out.DecidedBy = &license.Actor{Subject: r.actor, Roles: r.roles}
		if out.DecidedBy.Roles == nil {
			out.DecidedBy.Roles = []string{}
		}
	}
	if r.license != "" && r.product != 0 {
		l, err := decodeLicense(s.catalog, tenantID, r.user, r.product, r.license)
		if err != nil {
			return nil, err
		}
		out.License = l
	}
	return out, nil
}

// encodeRequestNumbers writes a user's requests; decodeRequestNumbers
// reads them ("" is none). Returns EINTERNAL when they are malformed.
func encodeRequestNumbers(numbers []int64) string {
	parts := make([]string, len(numbers))
	for i, n := range numbers {
		parts[i] = itoa(n)
	}
	return strings.Join(parts, ",")
}

func decodeRequestNumbers(s, owner string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int64, len(parts))
	for i, p := range parts {
		n, ok := decimal(p)
		if !ok || n == 0 {
			return nil, malformed("license requests", s, owner)
		}
		out[i] = n
	}
	return out, nil
}
