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

// A supersedes list names, for an app, each product that serves it with a
// product it supersedes (license.SKU.Supersedes); the claim script and the
// fills take it as an argument:
//
//	,SKU>LESSER,SKU>LESSER,
//
// (skuPartNumbers hold neither , nor >). The Lua twins are
// supersedes_encode and supersedes_decode of lua/lib/codec.lua.

// supersession is one pair of a supersedes list.
type supersession struct {
	sku    string // the product claimed
	lesser string // a product it supersedes
}

// encodeSupersedes writes a supersedes list.
func encodeSupersedes(list []supersession) string {
	var b strings.Builder
	b.WriteByte(',')
	for _, s := range list {
		b.WriteString(s.sku)
		b.WriteByte('>')
		b.WriteString(s.lesser)
		b.WriteByte(',')
	}
	return b.String()
}

// decodeSupersedes reads a supersedes list.
func decodeSupersedes(s string) []supersession {
	var list []supersession
	for _, entry := range strings.Split(s, ",") {
		if sku, lesser, ok := strings.Cut(entry, ">"); ok {
			list = append(list, supersession{sku: sku, lesser: lesser})
		}
	}
	return list
}

// supersedesOf lists the products of a catalog that serve app with the
// products each supersedes.
func supersedesOf(c *license.Catalog, app string) []supersession {
	var list []supersession
	for _, sku := range c.SKUPartNumbers() {
		if !c.SKU(sku).Serves(app) {
			continue
		}
		for _, lesser := range c.Superseded(sku) {
			list = append(list, supersession{sku: sku, lesser: lesser})
		}
	}
	return list
}
