package store

import (
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// A policy's report hash (see keys.report) counts its claims: the field
// "<day>" those of a UTC day (days since the epoch), "<day>:<product number>"
// those from one product that day, "<day>:<REASON>" the claims denied that
// day for a reason, "<day>:fills" the claims that gave a waiting user a
// license (counted in "<day>" too) and "<day>:reclaims" the licenses
// reclaimed as idle; the field trimmed is the last day the scripts dropped
// counters older than the report window. Policy 0's report counts the
// denials of apps that had no policy. The Lua twins are
// report_field_encode, denial_count_field_encode, flow_count_field_encode
// and report_field_decode of lua/lib/codec.lua.

// reportField names the counter of a day (product 0) or of a product that day.
func reportField(day, product int64) string {
	if product == 0 {
		return itoa(day)
	}
	return itoa(day) + ":" + itoa(product)
}

// denialCountField names the counter of a day's denials for a reason.
func denialCountField(day int64, reason license.Reason) string {
	return itoa(day) + ":" + string(reason)
}

// What a flow count counts.
const (
	flowFills    = "fills"    // claims that gave a waiting user a license
	flowReclaims = "reclaims" // licenses reclaimed as idle
)

// flowCountField names the counter of a day's fills or reclaims.
func flowCountField(day int64, what string) string {
	return itoa(day) + ":" + what
}

// reportCounter is what a field of a report hash counts.
type reportCounter struct {
	day     int64
	product int64          // 0 for a day's total, a denial count or a flow count
	reason  license.Reason // "" but for a denial count
	flow    string         // "" but for a flow count: flowFills or flowReclaims
}

// decodeReportField reads what a counter counts; ok is false for any other
// field.
func decodeReportField(field string) (c reportCounter, ok bool) {
	dayStr, rest, hasRest := strings.Cut(field, ":")
	if c.day, ok = decimal(dayStr); !ok {
		return reportCounter{}, false
	}
	switch {
	case !hasRest:
	case rest != "" && strings.Trim(rest, "0123456789") == "":
		if c.product, ok = decimal(rest); !ok || c.product == 0 {
			return reportCounter{}, false
		}
	case rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' && strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == "":
		c.reason = license.Reason(rest)
	case rest == flowFills || rest == flowReclaims:
		c.flow = rest
	default:
		return reportCounter{}, false
	}
	return c, true
}
