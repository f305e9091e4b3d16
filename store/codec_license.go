package store

import (
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// A license record is one license of one user:
//
//	source|policy|assigned|plans|sku[|used]
//
// source is A (claimed under a policy) or D (assigned directly), policy the
// policy's number (0 when direct), assigned when it was assigned (ms), plans
// the service plans it leaves off ("id,id"), sku the product's
// skuPartNumber, and used, absent until a claim found the license covering,
// the time (ms) of the first such claim of the last UTC day one did: the
// claim script stamps it at most once a day. A user's entry in a license bucket hash lists the user's
// licenses in the order they were assigned:
//
//	<product number>=<record>;<product number>=<record>
//
// The Lua twins are license_encode, license_decode, licenses_encode and
// licenses_decode of lua/lib/codec.lua.

// heldLicense is one entry of a user's licenses.
type heldLicense struct {
	product int64  // the product's number
	record  string // its license record
}

// encodeLicense writes the record of a license of a product of sku; policyN
// is the number of the policy it was claimed under (0 when direct).
func encodeLicense(l *license.License, policyN int64, sku string) string {
	src := "D"
	if l.Source == license.SourceAutoClaim {
		src = "A"
	}
	rec := src + "|" + itoa(policyN) + "|" + itoa(ms(l.AssignedAt)) + "|" + strings.Join(l.DisabledServicePlanIDs, ",") + "|" + sku
	if !l.LastUsedAt.IsZero() && !l.LastUsedAt.Equal(l.AssignedAt) {
		rec += "|" + itoa(ms(l.LastUsedAt))
	}
	return rec
}

// decodeLicense reads the record of a user's license of product productN.
// Returns EINTERNAL for a malformed record.
func decodeLicense(c *license.Catalog, tenantID, userID string, productN int64, rec string) (*license.License, error) {
	f := strings.Split(rec, "|")
	if (len(f) != 5 && len(f) != 6) || (f[0] != "A" && f[0] != "D") || f[4] == "" {
		return nil, malformed("license record", rec, "user "+userID)
	}
	policyN, ok1 := decimal(f[1])
	at, ok2 := decimal(f[2])
	used, ok3 := at, true
	if len(f) == 6 {
		used, ok3 = decimal(f[5])
	}
	if !ok1 || !ok2 || !ok3 || (f[0] == "A") != (policyN > 0) {
		return nil, malformed("license record", rec, "user "+userID)
	}
	l := &license.License{UserID: userID, ProductID: license.ProductID(tenantID, productN), Source: license.SourceDirect,
		AssignedAt: fromMS(at), LastUsedAt: fromMS(used), SKU: c.SKU(f[4])}
	if f[0] == "A" {
		l.Source = license.SourceAutoClaim
		l.PolicyID = license.PolicyID(tenantID, policyN)
	}
	if f[3] != "" {
		l.DisabledServicePlanIDs = strings.Split(f[3], ",")
	}
	return l, nil
}

// encodeLicenses writes a user's entry of a license bucket.
func encodeLicenses(held []heldLicense) string {
	var b strings.Builder
	for i, h := range held {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(itoa(h.product))
		b.WriteByte('=')
		b.WriteString(h.record)
	}
	return b.String()
}

// decodeLicenses reads a user's entry of a license bucket ("" holds none).
// Returns EINTERNAL when it is malformed.
func decodeLicenses(userID, s string) ([]heldLicense, error) {
	var held []heldLicense
	if s == "" {
		return held, nil
	}
	for _, entry := range strings.Split(s, ";") {
		num, rec, ok := strings.Cut(entry, "=")
		n, isNumber := decimal(num)
		if !ok || !isNumber || n == 0 || rec == "" {
			return nil, malformed("licenses", s, "user "+userID)
		}
		held = append(held, heldLicense{product: n, record: rec})
	}
	return held, nil
}
