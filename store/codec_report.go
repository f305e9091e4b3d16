package store

import "strings"

// A policy's report hash (see keys.report) counts its claims: the field
// "<day>" those of a UTC day (days since the epoch), "<day>:<product number>"
// those from one product that day; the field trimmed is the last day the
// claim script dropped counters older than the report window. The Lua twins
// are report_field_encode and report_field_decode of lua/lib/codec.lua.

// reportField names the counter of a day (product 0) or of a product that day.
func reportField(day, product int64) string {
	if product == 0 {
		return itoa(day)
	}
	return itoa(day) + ":" + itoa(product)
}

// decodeReportField reads a counter's day and product (0 for a day's
// total); ok is false for any other field.
func decodeReportField(field string) (day, product int64, ok bool) {
	dayStr, productStr, hasProduct := strings.Cut(field, ":")
	if day, ok = decimal(dayStr); !ok {
		return 0, 0, false
	}
	if hasProduct {
		if product, ok = decimal(productStr); !ok || product == 0 {
			return 0, 0, false
		}
	}
	return day, product, true
}
