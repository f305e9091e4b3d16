package store

import (
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// A covering list names the SKUs that cover an app's trigger, each with the
// service plan the app needs; the claim script takes it as an argument:
//
//	,SKU:plan,SKU:plan,
//
// The Lua twins are covering_encode and covering_decode of lua/lib/codec.lua.

// coverage is one SKU of a covering list.
type coverage struct {
	sku  string // skuPartNumber
	plan string // the id of the service plan the app needs
}

// encodeCovering writes a covering list.
func encodeCovering(list []coverage) string {
	var b strings.Builder
	b.WriteByte(',')
	for _, c := range list {
		b.WriteString(c.sku)
		b.WriteByte(':')
		b.WriteString(c.plan)
		b.WriteByte(',')
	}
	return b.String()
}

// decodeCovering reads a covering list.
func decodeCovering(s string) []coverage {
	var list []coverage
	for _, entry := range strings.Split(s, ",") {
		if sku, plan, ok := strings.Cut(entry, ":"); ok {
			list = append(list, coverage{sku: sku, plan: plan})
		}
	}
	return list
}

// coveringOf lists the SKUs of a catalog that cover an app's trigger.
func coveringOf(c *license.Catalog, app string, trigger license.Trigger) []coverage {
	var list []coverage
	for _, sku := range c.SKUsCovering(app, trigger) {
		list = append(list, coverage{sku: sku, plan: c.SKU(sku).Coverage(app).RequiredPlan})
	}
	return list
}
