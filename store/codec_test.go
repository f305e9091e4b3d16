package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// Each record the store keeps as a delimited string is written and read by
// one Go codec (store/codec_*.go) and one Lua codec (lua/lib/codec.lua).
// These tests hold the two to one format on both Lua engines: what Go
// writes, Lua reads and writes back unchanged and Go reads as it was; what
// a script writes, Go reads as the script meant; and what one side finds
// malformed, so does the other.

// lua runs src (which may include libraries, as scripts do) on a backend,
// with keys and args, and returns its reply.
func lua(t *testing.T, b *redistest.Backend, src string, keys []string, args ...any) any {
	t.Helper()
	sc, err := store.LuaScript(src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sc.Eval(context.Background(), b.Client, keys, args...).Result()
	if err != nil {
		t.Fatalf("script failed: %v\n%s", err, src)
	}
	return v
}

// luaText runs src with args and returns its reply, a string.
func luaText(t *testing.T, b *redistest.Backend, src string, args ...any) string {
	t.Helper()
	v, ok := lua(t, b, src, nil, args...).(string)
	if !ok {
		t.Fatalf("script replied %#v; want a string\n%s", v, src)
	}
	return v
}

// luaStrings runs src with args and returns its reply, a list of strings.
func luaStrings(t *testing.T, b *redistest.Backend, src string, args ...any) []string {
	t.Helper()
	raw, ok := lua(t, b, src, nil, args...).([]any)
	if !ok {
		t.Fatalf("script replied %#v; want a list\n%s", raw, src)
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i], _ = v.(string)
	}
	return out
}

// wantMalformed checks that Lua's decoder (decode, a function of the codec
// library) finds each record malformed, and that Go's (goDecode) returns
// EINTERNAL for it.
func wantMalformed(t *testing.T, b *redistest.Backend, decode string, goDecode func(string) error, records ...string) {
	t.Helper()
	src := "--@include lib/codec.lua\nif " + decode + "(ARGV[1]) then return 'read' end\nreturn 'malformed'"
	for _, rec := range records {
		if got := luaText(t, b, src, rec); got != "malformed" {
			t.Errorf("Lua %s(%q) read it; want it malformed", decode, rec)
		}
		if err := goDecode(rec); license.ErrorCode(err) != license.EINTERNAL {
			t.Errorf("Go's decoder of %q: %v; want EINTERNAL", rec, err)
		}
	}
}

func wantSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v; want %#v", what, got, want)
	}
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func TestLicenseRecordRoundTrip(t *testing.T) {
	cat := license.BuiltinCatalog()
	tests := []struct {
		name    string
		product int64
		policyN int64
		sku     string
		l       *license.License
	}{
		{"Claimed", 2, 3, flowSKU, &license.License{UserID: "u1", ProductID: "rt:product:2", PolicyID: "rt:policy:3",
			Source: license.SourceAutoClaim, DisabledServicePlanIDs: []string{planExchange, planFlowCDS},
			AssignedAt: msTime(1764147600123), LastUsedAt: msTime(1764147600123), SKU: cat.SKU(flowSKU)}},
		{"ClaimedAndUsedSince", 2, 3, flowSKU, &license.License{UserID: "u1", ProductID: "rt:product:2", PolicyID: "rt:policy:3",
			Source: license.SourceAutoClaim, AssignedAt: msTime(1764147600123), LastUsedAt: msTime(1764320400456), SKU: cat.SKU(flowSKU)}},
		{"Direct", 1, 0, premiumSKU, &license.License{UserID: "u.2@x", ProductID: "rt:product:1", Source: license.SourceDirect,
			AssignedAt: msTime(0), LastUsedAt: msTime(0), SKU: cat.SKU(premiumSKU)}},
		{"DirectOnePlanOff", 12, 0, appsSKU, &license.License{UserID: "u3", ProductID: "rt:product:12", Source: license.SourceDirect,
			DisabledServicePlanIDs: []string{planExchange}, AssignedAt: msTime(1), LastUsedAt: msTime(2), SKU: cat.SKU(appsSKU)}},
		{"SKUNoLongerInTheCatalog", 7, 9, "RETIRED_SKU", &license.License{UserID: "u4", ProductID: "rt:product:7", PolicyID: "rt:policy:9",
			Source: license.SourceAutoClaim, AssignedAt: msTime(1764147600000), LastUsedAt: msTime(1764147600000)}},
		{"SKUWithPatternCharacters", 4, 1, "Microsoft_365_E3_(no_Teams)+.%-", &license.License{UserID: "u5", ProductID: "rt:product:4",
			PolicyID: "rt:policy:1", Source: license.SourceAutoClaim, AssignedAt: msTime(5), LastUsedAt: msTime(6)}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := store.EncodeLicense(tt.l, tt.policyN, tt.sku)
				again := luaText(t, b, "--@include lib/codec.lua\nreturn license_encode(license_decode(ARGV[1]))", rec)
				if again != rec {
					t.Fatalf("Lua wrote back %q; Go wrote %q", again, rec)
				}
				got, err := store.DecodeLicense(cat, "rt", tt.l.UserID, tt.product, again)
				if err != nil {
					t.Fatal(err)
				}
				wantSame(t, "Go read back", got, tt.l)

				// A license the claim script writes.
				src := "A"
				if tt.l.Source == license.SourceDirect {
					src = "D"
				}
				plans := ""
				for i, p := range tt.l.DisabledServicePlanIDs {
					if i > 0 {
						plans += ","
					}
					plans += p
				}
				used := ""
				if !tt.l.LastUsedAt.Equal(tt.l.AssignedAt) {
					used = strconv.FormatInt(tt.l.LastUsedAt.UnixMilli(), 10)
				}
				written := luaText(t, b, `--@include lib/codec.lua
local used = ARGV[6]
if used == '' then used = nil end
return license_encode({source = ARGV[1], policy = ARGV[2], assigned = ARGV[3], plans = ARGV[4], sku = ARGV[5], used = used})`,
					src, tt.policyN, tt.l.AssignedAt.UnixMilli(), plans, tt.sku, used)
				if written != rec {
					t.Fatalf("Lua wrote %q; Go writes %q", written, rec)
				}
			})
		}
		t.Run("Malformed", func(t *testing.T) {
			wantMalformed(t, b, "license_decode", func(rec string) error {
				_, err := store.DecodeLicense(cat, "rt", "u1", 1, rec)
				return err
			}, "", "A|3|1", "A|0|1||FLOW_PER_USER", "D|3|1||FLOW_PER_USER", "X|0|1||FLOW_PER_USER",
				"A|3|1||", "A|3|x||FLOW_PER_USER", "A|03|1||FLOW_PER_USER", "A|3|1||FLOW_PER_USER|more",
				"A|3|1||FLOW_PER_USER|", "A|3|1||FLOW_PER_USER|01", "A|3|1||FLOW_PER_USER|2|3")
		})
	})
}

func TestUserLicensesRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		held []store.HeldLicense
	}{
		{"None", nil},
		{"One", []store.HeldLicense{{Product: 1, Record: "D|0|5||FLOW_PER_USER"}}},
		{"InOrderAssigned", []store.HeldLicense{{Product: 3, Record: "A|2|7|" + planExchange + "|POWERAPPS_PER_USER"},
			{Product: 1, Record: "D|0|5||FLOW_PER_USER"}, {Product: 12, Record: "A|1|9||POWERAUTOMATE_ATTENDED_RPA"}}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := store.EncodeLicenses(tt.held)
				again := luaText(t, b, "--@include lib/codec.lua\nreturn licenses_encode(licenses_decode(ARGV[1]))", s)
				if again != s {
					t.Fatalf("Lua wrote back %q; Go wrote %q", again, s)
				}
				got, err := store.DecodeLicenses("u1", again)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 && len(tt.held) == 0 {
					return
				}
				wantSame(t, "Go read back", got, tt.held)
				// Scripts find a license by its product, and append one.
				last := tt.held[len(tt.held)-1]
				found := luaText(t, b, `--@include lib/codec.lua
local _, held = find_product(licenses_decode(ARGV[1]), ARGV[2])
return held.record`, s, last.Product)
				if found != last.Record {
					t.Fatalf("find_product(%d) = %q; want %q", last.Product, found, last.Record)
				}
				added := store.HeldLicense{Product: 99, Record: "D|0|1||FLOW_PER_USER"}
				appended := luaText(t, b, `--@include lib/codec.lua
local held = licenses_decode(ARGV[1])
held[#held + 1] = {product = ARGV[2], record = ARGV[3]}
return licenses_encode(held)`, s, added.Product, added.Record)
				if want := store.EncodeLicenses(append(append([]store.HeldLicense{}, tt.held...), added)); appended != want {
					t.Fatalf("Lua appended %q; want %q", appended, want)
				}
			})
		}
		t.Run("Malformed", func(t *testing.T) {
			wantMalformed(t, b, "licenses_decode", func(s string) error {
				_, err := store.DecodeLicenses("u1", s)
				return err
			}, "1", "1=", "=D|0|5||S", "0=D|0|5||S", "01=D|0|5||S", "x=D|0|5||S", "1=D|0|5||S;", ";1=D|0|5||S", "1=D|0|5||S;;2=D|0|5||S")
		})
	})
}

func TestDirectoryEntryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		u    *license.User
	}{
		{"Plain", &license.User{ID: "u1", TenantID: "rt", UserPrincipalName: "megan@contoso.com", DisplayName: "Megan Bowen", CreatedAt: msTime(1764147600123)}},
		{"Unicode", &license.User{ID: "u2", TenantID: "rt", UserPrincipalName: "zoë.ñ@例え.jp", DisplayName: "Zoë Ñúñez 例え 🙂", CreatedAt: msTime(1)}},
		{"Punctuation", &license.User{ID: "u3", TenantID: "rt", UserPrincipalName: "a|b;c=d,e:f@x.io", DisplayName: "O'Brien | Sales; EMEA = 1, 2: \\ %d %s", CreatedAt: msTime(42)}},
		// A user the claim script recorded whose principal name another user had.
		{"NoPrincipalName", &license.User{ID: "u4", TenantID: "rt", DisplayName: "Lee", CreatedAt: msTime(1764147600000)}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := store.EncodeProfile(tt.u)
				again := luaText(t, b, "--@include lib/codec.lua\nreturn profile_encode(profile_decode(ARGV[1]))", rec)
				if again != rec {
					t.Fatalf("Lua wrote back %q; Go wrote %q", again, rec)
				}
				got, err := store.DecodeProfile("rt", tt.u.ID, again)
				if err != nil {
					t.Fatal(err)
				}
				wantSame(t, "Go read back", got, tt.u)
				// The entry the claim script writes for a user it has not seen.
				written := luaText(t, b, "--@include lib/codec.lua\nreturn profile_encode({upn = ARGV[1], name = ARGV[2], created = ARGV[3]})",
					tt.u.UserPrincipalName, tt.u.DisplayName, tt.u.CreatedAt.UnixMilli())
				if written != rec {
					t.Fatalf("Lua wrote %q; Go writes %q", written, rec)
				}
			})
		}
		t.Run("Malformed", func(t *testing.T) {
			wantMalformed(t, b, "profile_decode", func(rec string) error {
				_, err := store.DecodeProfile("rt", "u1", rec)
				return err
			}, "", "a@b.cd", "a@b.cd\x1fA", "a@b.cd\x1fA\x1f", "a@b.cd\x1fA\x1fx", "a\x1fb@c.de\x1fA\x1f5", "a@b.cd\x1fA\x1f5\x1f")
		})
	})
}

func TestPolicyProductsRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		products []license.PolicyProduct
	}{
		{"Primary", []license.PolicyProduct{{ProductID: "rt:product:1"}}},
		{"PlansOff", []license.PolicyProduct{{ProductID: "rt:product:3", DisabledServicePlanIDs: []string{planExchange, planFlowCDS}},
			{ProductID: "rt:product:1"}, {ProductID: "rt:product:22", DisabledServicePlanIDs: []string{planPremiumCDS}}}},
		{"Five", []license.PolicyProduct{{ProductID: "rt:product:5"}, {ProductID: "rt:product:4"}, {ProductID: "rt:product:3"},
			{ProductID: "rt:product:2"}, {ProductID: "rt:product:1"}}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := store.EncodePolicyProducts(tt.products)
				again := luaText(t, b, "--@include lib/codec.lua\nreturn products_encode(products_decode(ARGV[1]))", s)
				if again != s {
					t.Fatalf("Lua wrote back %q; Go wrote %q", again, s)
				}
				got, err := store.DecodePolicyProducts("rt", "rt:policy:1", again)
				if err != nil {
					t.Fatal(err)
				}
				wantSame(t, "Go read back", got, tt.products)
			})
		}
		t.Run("Malformed", func(t *testing.T) {
			wantMalformed(t, b, "products_decode", func(s string) error {
				_, err := store.DecodePolicyProducts("rt", "rt:policy:1", s)
				return err
			}, "1", "x=", "0=", "1=;", ";1=", "1=;;2=")
		})
	})
}

func TestCoveringListRoundTrip(t *testing.T) {
	cat := license.BuiltinCatalog()
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, app := range cat.Apps {
			for _, trigger := range app.Triggers {
				list := store.CoveringOf(cat, app.ID, trigger)
				s := store.EncodeCovering(list)
				again := luaText(t, b, "--@include lib/codec.lua\nreturn covering_encode(covering_decode(ARGV[1]))", s)
				if again != s {
					t.Fatalf("%s %s: Lua wrote back %q; Go wrote %q", app.ID, trigger, again, s)
				}
				wantSame(t, fmt.Sprintf("%s %s read back", app.ID, trigger), store.DecodeCovering(again), list)
			}
		}
	})
}

func TestSupersedesListRoundTrip(t *testing.T) {
	cat := license.BuiltinCatalog()
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, app := range cat.Apps {
			list := store.SupersedesOf(cat, app.ID)
			s := store.EncodeSupersedes(list)
			again := luaText(t, b, "--@include lib/codec.lua\nreturn supersedes_encode(supersedes_decode(ARGV[1]))", s)
			if again != s {
				t.Fatalf("%s: Lua wrote back %q; Go wrote %q", app.ID, again, s)
			}
			wantSame(t, app.ID+" read back", store.DecodeSupersedes(again), list)
		}
		if got, want := store.SupersedesOf(cat, "POWER_AUTOMATE"), []store.Supersession{{SKU: premiumSKU, Lesser: flowSKU}}; !slices.Equal(got, want) {
			t.Fatalf("POWER_AUTOMATE's supersedes list %v; want %v", got, want)
		}
	})
}

func TestIdempotencyEntryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    store.IdemEntry
	}{
		{"Claimed", store.IdemEntry{Request: "q1Zx_-0123456789abcdef", Outcome: license.Claimed, Policy: 1, Product: 2, Available: 41,
			Event: "1764147600123-0", AtMS: 1764147600123, Total: 157, Assigned: 156, CreatedMS: 1764000000000,
			License: "A|1|1764147600123|" + planExchange + "|" + flowSKU}},
		{"ClaimedNoPlansOff", store.IdemEntry{Request: "r", Outcome: license.Claimed, Policy: 12, Product: 3,
			Event: "1-1", AtMS: 1, Total: 1, Assigned: 1, CreatedMS: 1, License: "A|12|1||Microsoft_365_E3_(no_Teams)"}},
		{"Denied", store.IdemEntry{Request: "0", Outcome: license.Denied, Reason: license.ReasonNoPolicy,
			Event: "1764147600123-17", AtMS: 1764147600123}},
		{"ClaimedReleasing", store.IdemEntry{Request: "s", Outcome: license.Claimed, Policy: 2, Product: 4,
			Event: "5-0", AtMS: 5, Total: 3, Assigned: 1, CreatedMS: 2, License: "A|2|5||" + premiumSKU,
			Released: "1=A|2|3|" + planExchange + "|" + flowSKU + "|4;7=A|2|3||" + flowSKU}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := store.EncodeIdem(tt.e)
				again := luaText(t, b, "--@include lib/codec.lua\nreturn idem_encode(idem_decode(ARGV[1]))", s)
				if again != s {
					t.Fatalf("Lua wrote back %q; Go wrote %q", again, s)
				}
				got, err := store.DecodeIdem("k", again)
				if err != nil {
					t.Fatal(err)
				}
				wantSame(t, "Go read back", got, tt.e)
				// The entry the claim script writes.
				written := luaText(t, b, `--@include lib/codec.lua
local function opt(v) if v == '' then return nil end return v end
return idem_encode({request = ARGV[1], outcome = ARGV[2], reason = ARGV[3], policy = ARGV[4], product = ARGV[5],
  available = ARGV[6], event = ARGV[7], at = ARGV[8], total = opt(ARGV[9]), assigned = opt(ARGV[10]),
  created = opt(ARGV[11]), license = opt(ARGV[12]), released = opt(ARGV[13])})`,
					tt.e.Request, string(tt.e.Outcome), string(tt.e.Reason), tt.e.Policy, tt.e.Product, tt.e.Available, tt.e.Event,
					tt.e.AtMS, counts(tt.e.License, tt.e.Total), counts(tt.e.License, tt.e.Assigned), counts(tt.e.License, int(tt.e.CreatedMS)), tt.e.License, tt.e.Released)
				if written != s {
					t.Fatalf("Lua wrote %q; Go writes %q", written, s)
				}
			})
		}
		t.Run("Malformed", func(t *testing.T) {
			wantMalformed(t, b, "idem_decode", func(s string) error {
				_, err := store.DecodeIdem("k", s)
				return err
			}, "", "fp|CLAIMED|", "fp|CLAIMED||1|2|3|1-0|5|6", "fp|CLAIMED||1|2|3|1-0|5|1|||", "fp|CLAIMED||1|2|3|1-0|5||2|3|",
				"fp|CLAIMED||1|2|3|1-0|x||||", "fp|CLAIMED||1|2|3|1-0|5|x|1|1|A|1|1||S")
		})
	})
}

// counts is n as an idempotency entry keeps a product's count: "" when no
// license was claimed.
func counts(license string, n int) string {
	if license == "" {
		return ""
	}
	return strconv.Itoa(n)
}

func TestReportFieldRoundTrip(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range []struct{ day, product int64 }{{20000, 0}, {20000, 3}, {0, 0}, {19, 12}} {
			field := store.ReportField(tt.day, tt.product)
			src := "--@include lib/codec.lua\nreturn report_field_encode(report_field_decode(ARGV[1]))"
			if again := luaText(t, b, src, field); again != field {
				t.Fatalf("Lua wrote back %q; Go wrote %q", again, field)
			}
			c, ok := store.DecodeReportField(field)
			if !ok || c.Day != tt.day || c.Product != tt.product || c.Reason != "" {
				t.Fatalf("DecodeReportField(%q) = %+v, %v; want day %d, product %d", field, c, ok, tt.day, tt.product)
			}
		}
		for _, reason := range license.Reasons {
			field := store.DenialCountField(20000, reason)
			src := "--@include lib/codec.lua\nlocal day, product, reason = report_field_decode(ARGV[1])\n" +
				"if product then return 'product' end\nreturn denial_count_field_encode(day, reason)"
			if again := luaText(t, b, src, field); again != field {
				t.Fatalf("Lua wrote back %q; Go wrote %q", again, field)
			}
			c, ok := store.DecodeReportField(field)
			if !ok || c.Day != 20000 || c.Product != 0 || c.Reason != reason {
				t.Fatalf("DecodeReportField(%q) = %+v, %v; want day 20000, reason %s", field, c, ok, reason)
			}
		}
		for _, what := range []string{store.FlowFills, store.FlowReclaims} {
			field := store.FlowCountField(20000, what)
			src := "--@include lib/codec.lua\nlocal day, product, reason, flow = report_field_decode(ARGV[1])\n" +
				"if product or reason then return 'other' end\nreturn flow_count_field_encode(day, flow)"
			if again := luaText(t, b, src, field); again != field {
				t.Fatalf("Lua wrote back %q; Go wrote %q", again, field)
			}
			c, ok := store.DecodeReportField(field)
			if !ok || c.Day != 20000 || c.Product != 0 || c.Reason != "" || c.Flow != what {
				t.Fatalf("DecodeReportField(%q) = %+v, %v; want day 20000, %s", field, c, ok, what)
			}
		}
		for _, field := range []string{"trimmed", "", "x:1", "1:", "1:0", "01", "-1", "1:2:3", "1:no_policy", "1:_X", "1:A-B", "1:fill", "1:reclaimsx"} {
			src := "--@include lib/codec.lua\nif report_field_decode(ARGV[1]) then return 'read' end\nreturn 'other'"
			if got := luaText(t, b, src, field); got != "other" {
				t.Errorf("Lua read the field %q as a counter", field)
			}
			if _, ok := store.DecodeReportField(field); ok {
				t.Errorf("Go read the field %q as a counter", field)
			}
		}
	})
}

func TestWaiterScoreRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		queued  time.Time
		order   int64
		trigger license.Trigger
	}{
		{"FirstTrigger", msTime(1764147600123), 0, license.AllTriggers[0]},
		{"LastTrigger", msTime(1764147600123), 3, license.AllTriggers[len(license.AllTriggers)-1]},
		{"LastOfAMillisecond", msTime(1764147600999), 63, cloudFlow},
		{"TheYear2200", time.Date(2200, 1, 1, 0, 0, 0, 1e6, time.UTC), 17, attendedRPAFlow},
		{"TheEpoch", msTime(0), 0, license.TriggerSignIn},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := store.Waiter{Seq: store.WaiterSeq(tt.queued) + tt.order, Trigger: tt.trigger}
				score := store.EncodeWaiterScore(w)
				text := strconv.FormatFloat(score, 'f', -1, 64)
				again := luaText(t, b, "--@include lib/codec.lua\nreturn waiter_score_encode(waiter_score_decode(ARGV[1]))", text)
				if again != text {
					t.Fatalf("Lua wrote back %q; Go wrote %q", again, text)
				}
				// As a script writes it: the seq of the millisecond, the order, the trigger's index.
				written := luaText(t, b, "--@include lib/codec.lua\nreturn waiter_score_encode({seq = waiter_seq(tonumber(ARGV[1])) + tonumber(ARGV[2]), trigger = tonumber(ARGV[3])})",
					tt.queued.UnixMilli(), tt.order, slices.Index(license.AllTriggers, tt.trigger))
				if written != text {
					t.Fatalf("Lua wrote %q; Go writes %q", written, text)
				}
				queued := luaText(t, b, "--@include lib/codec.lua\nreturn string.format('%d', waiter_score_decode(ARGV[1]).queued)", text)
				if queued != strconv.FormatInt(tt.queued.UnixMilli(), 10) {
					t.Fatalf("Lua read queued at %s; want %d", queued, tt.queued.UnixMilli())
				}
				// Stored as a sorted set's score, it reads back the same.
				key := b.Prefix + "{t:rt}:wl:1"
				if err := b.Client.ZAdd(context.Background(), key, redis.Z{Score: score, Member: "u"}).Err(); err != nil {
					t.Fatal(err)
				}
				stored, err := b.Client.ZScore(context.Background(), key, "u").Result()
				if err != nil || stored != score {
					t.Fatalf("ZSCORE = %v, %v; want %v", stored, err, score)
				}
				got, at, ok := store.DecodeWaiterScore(stored)
				if !ok || got != w || !at.Equal(tt.queued) {
					t.Fatalf("DecodeWaiterScore(%v) = %+v at %v, %v; want %+v at %v", stored, got, at, ok, w, tt.queued)
				}
			})
		}
		t.Run("Malformed", func(t *testing.T) {
			for _, score := range []string{"-16", "1.5", "x", ""} {
				if got := luaText(t, b, "--@include lib/codec.lua\nif waiter_score_decode(ARGV[1]) then return 'read' end\nreturn 'malformed'", score); got != "malformed" {
					t.Errorf("Lua read the score %q", score)
				}
			}
			for _, score := range []float64{-16, 1.5, float64(len(license.AllTriggers))} {
				if _, _, ok := store.DecodeWaiterScore(score); ok {
					t.Errorf("Go read the score %v", score)
				}
			}
		})
	})
}

func TestHeldAndWorkMembersRoundTrip(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range []struct {
			product int64
			user    string
		}{{1, "u1"}, {12, "a.b_c@d:e-f"}, {3, "5f1c9e2a-7b44-4d1e-9a0c-3e8f2b6d1a77"}} {
			m := store.HeldMember(tt.product, tt.user)
			again := luaText(t, b, "--@include lib/codec.lua\nreturn held_encode(held_decode(ARGV[1]))", m)
			if again != m {
				t.Fatalf("Lua wrote back %q; Go wrote %q", again, m)
			}
			if n, u, ok := store.DecodeHeldMember(again); !ok || n != tt.product || u != tt.user {
				t.Fatalf("DecodeHeldMember(%q) = %d, %q, %v; want %d, %q", again, n, u, ok, tt.product, tt.user)
			}
		}
		for _, kind := range []string{store.WorkFill, store.WorkSweep, store.WorkWaitlist, store.WorkApproval, store.WorkRequests, store.WorkRelease} {
			n := int64(7)
			if kind == store.WorkRequests {
				n = 0 // the tenant's, of no one policy
			}
			m := store.WorkMember(kind, n)
			again := luaText(t, b, "--@include lib/codec.lua\nreturn work_encode(work_decode(ARGV[1]))", m)
			if again != m {
				t.Fatalf("Lua wrote back %q; Go wrote %q", again, m)
			}
			if k, got, ok := store.DecodeWorkMember(again); !ok || k != kind || got != n {
				t.Fatalf("DecodeWorkMember(%q) = %q, %d, %v; want %q, %d", again, k, got, ok, kind, n)
			}
		}
		for _, m := range []string{"", "u1", "0:u1", "x:u1", "1:", "01:u"} {
			if got := luaText(t, b, "--@include lib/codec.lua\nif held_decode(ARGV[1]) then return 'read' end\nreturn 'malformed'", m); got != "malformed" {
				t.Errorf("Lua read the index member %q", m)
			}
			if _, _, ok := store.DecodeHeldMember(m); ok {
				t.Errorf("Go read the index member %q", m)
			}
		}
		for _, m := range []string{"", "f", "f:0", "x:1", "f:01", "s:1:2", "a:0", "r:1", "r:00"} {
			if got := luaText(t, b, "--@include lib/codec.lua\nif work_decode(ARGV[1]) then return 'read' end\nreturn 'malformed'", m); got != "malformed" {
				t.Errorf("Lua read the work member %q", m)
			}
			if _, _, ok := store.DecodeWorkMember(m); ok {
				t.Errorf("Go read the work member %q", m)
			}
		}
	})
}

func TestDenialLogEntryRoundTrip(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, d := range []store.Denial{
			{Reason: license.ReasonPolicyDisabled, Scope: "3", User: "5f1c9e2a-7b44-4d1e-9a0c-3e8f2b6d1a77"},
			{Reason: license.ReasonNoPolicy, Scope: "POWER_APPS", User: "a.b_c@d:e-f"},
		} {
			s := store.EncodeDenial(d)
			again := luaText(t, b, "--@include lib/codec.lua\nreturn denial_encode(denial_decode(ARGV[1]))", s)
			if again != s {
				t.Fatalf("Lua wrote back %q; Go wrote %q", again, s)
			}
			written := luaText(t, b, "--@include lib/codec.lua\nreturn denial_encode({reason = ARGV[1], scope = ARGV[2], user = ARGV[3]})",
				string(d.Reason), d.Scope, d.User)
			if written != s {
				t.Fatalf("Lua wrote %q; Go writes %q", written, s)
			}
			if got, ok := store.DecodeDenial(again); !ok || got != d {
				t.Fatalf("DecodeDenial(%q) = %+v, %v; want %+v", again, got, ok, d)
			}
		}
		for _, s := range []string{"", "NO_POLICY|3", "NO_POLICY||u", "|3|u", "no_policy|3|u", "NO_POLICY|3|u|x"} {
			src := "--@include lib/codec.lua\nif denial_decode(ARGV[1]) then return 'read' end\nreturn 'other'"
			if got := luaText(t, b, src, s); got != "other" {
				t.Errorf("Lua read %q as a denial log entry", s)
			}
			if _, ok := store.DecodeDenial(s); ok {
				t.Errorf("Go read %q as a denial log entry", s)
			}
		}
	})
}

func TestEventRoundTrip(t *testing.T) {
	on, off := true, false
	total, assigned := 10, 4
	tests := []struct {
		name string
		ev   license.Event
	}{
		{"ClaimDecision", license.Event{Claim: &license.ClaimEvent{TenantID: "rt", PolicyID: "rt:policy:1", UserID: "u@1", AppID: "POWER_AUTOMATE",
			ProductID: "rt:product:2", Trigger: cloudFlow, Outcome: license.Claimed, AvailableAfter: 41}}},
		{"ClaimDenied", license.Event{Claim: &license.ClaimEvent{TenantID: "rt", UserID: "u2", AppID: "POWER_APPS",
			Trigger: license.TriggerLaunchPremiumApp, Outcome: license.Denied, Reason: license.ReasonNoPolicy}}},
		{"Setting", license.Event{Change: &license.ChangeEvent{TenantID: "rt", Kind: license.ChangeSetting, Enabled: &on}}},
		{"PolicyUpdated", license.Event{Change: &license.ChangeEvent{TenantID: "rt", Kind: license.ChangePolicyUpdated, PolicyID: "rt:policy:3",
			Enabled: &off, ProductIDs: []string{"rt:product:2", "rt:product:1"}, Version: 7}}},
		{"LicenseRemoved", license.Event{Change: &license.ChangeEvent{TenantID: "rt", Kind: license.ChangeLicenseRemoved, ProductID: "rt:product:1",
			UserID: "u1", TotalLicenses: &total, AssignedLicenses: &assigned}}},
		{"PolicyDeleted", license.Event{Change: &license.ChangeEvent{TenantID: "rt", Kind: license.ChangePolicyDeleted, PolicyID: "rt:policy:3"}}},
		{"LowLicenses", license.Event{Change: &license.ChangeEvent{TenantID: "rt", Kind: license.ChangeLowLicenses, ProductID: "rt:product:1",
			TotalLicenses: &total, AssignedLicenses: &assigned, Threshold: &assigned}}},
		{"WaitlistFill", license.Event{Claim: &license.ClaimEvent{TenantID: "rt", PolicyID: "rt:policy:1", UserID: "u3", AppID: "POWER_AUTOMATE",
			ProductID: "rt:product:2", Trigger: license.TriggerWaitlist, Outcome: license.Claimed, AvailableAfter: 0}}},
		{"Queued", license.Event{Claim: &license.ClaimEvent{TenantID: "rt", PolicyID: "rt:policy:1", UserID: "u4", AppID: "POWER_AUTOMATE",
			Trigger: cloudFlow, Outcome: license.Queued}}},
		{"WithActor", license.Event{Change: &license.ChangeEvent{TenantID: "rt", Kind: license.ChangeSetting, Enabled: &on,
			Actor: &license.Actor{Subject: "adele@contoso", Roles: []string{"GLOBAL_ADMIN", "OPERATOR"}}}}},
		{"PendingApproval", license.Event{Claim: &license.ClaimEvent{TenantID: "rt", PolicyID: "rt:policy:1", UserID: "u5", AppID: "POWER_AUTOMATE",
			Trigger: cloudFlow, Outcome: license.PendingApproval, AvailableAfter: 3, RequestID: "rt:request:12"}}},
		{"RequestApproved", license.Event{Change: &license.ChangeEvent{TenantID: "rt", Kind: license.ChangeRequestApproved, PolicyID: "rt:policy:1",
			UserID: "u5", RequestID: "rt:request:12", Actor: &license.Actor{Subject: "lee", Roles: []string{"LICENSE_ADMIN"}}}}},
		{"RequestExpired", license.Event{Change: &license.ChangeEvent{TenantID: "rt", Kind: license.ChangeRequestExpired, PolicyID: "rt:policy:2",
			UserID: "u6", RequestID: "rt:request:1"}}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		stream := b.Prefix + "{t:rt}:events"
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fields := store.EncodeEvent(tt.ev)
				args := make([]any, len(fields))
				for i, f := range fields {
					args[i] = f
				}
				again := luaStrings(t, b, "--@include lib/codec.lua\nreturn event_encode(event_decode(ARGV))", args...)
				wantSame(t, "Lua wrote back", again, fields)

				// The same event appended to a stream with emit, as scripts do.
				id, _ := lua(t, b, `--@include lib/events.lua
return emit(KEYS[1], ARGV[1], event_decode({unpack(ARGV, 2)}))`, []string{stream}, append([]any{license.ReportWindow.Milliseconds()}, args...)...).(string)
				msgs, err := b.Client.XRange(context.Background(), stream, id, id).Result()
				if err != nil || len(msgs) != 1 {
					t.Fatalf("XRANGE %s: %v, %v", id, msgs, err)
				}
				got := store.DecodeEvent("rt", msgs[0])
				want := withID(tt.ev, id)
				wantSame(t, fmt.Sprintf("event %d read back", i), got, want)
				wantSame(t, "stream fields", streamFields(t, b, stream, id), fields)
			})
		}
	})
}

// withID returns ev as the stream entry id holds it.
func withID(ev license.Event, id string) license.Event {
	eid, _ := license.ParseEventID(id)
	at := time.UnixMilli(int64(eid.MS)).UTC()
	if ev.Claim != nil {
		c := *ev.Claim
		c.ID, c.At = id, at
		return license.Event{Claim: &c}
	}
	c := *ev.Change
	c.ID, c.At = id, at
	return license.Event{Change: &c}
}

// streamFields lists the fields and values of a stream entry in the order
// Redis keeps them.
func streamFields(t *testing.T, b *redistest.Backend, stream, id string) []string {
	t.Helper()
	reply, err := b.Client.Do(context.Background(), "XRANGE", stream, id, id).Slice()
	if err != nil || len(reply) != 1 {
		t.Fatalf("XRANGE %s: %v, %v", id, reply, err)
	}
	entry, _ := reply[0].([]any)
	raw, _ := entry[1].([]any)
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i], _ = v.(string)
	}
	return out
}

func TestAuditEntryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    *license.AuditEntry
	}{
		{"FreeTextAndNoValues", &license.AuditEntry{Action: "renameAutoClaimPolicy",
			Actor: license.Actor{Subject: "adele", Roles: []string{"GLOBAL_ADMIN"}}, TargetIDs: []string{"rt:policy:1"},
			Changes: []license.FieldChange{
				{Field: "name", Before: license.Text("Old, name | with \u00e9 ; and \"quotes\""), After: license.Text("Nouveau nom · 新しい")},
				{Field: "disabledServicePlans[rt:product:2]", Before: license.Text(""), After: nil},
				{Field: "enabled", Before: nil, After: license.Text("true")},
			}}},
		{"NoChangesNoRoles", &license.AuditEntry{Action: "createTenant", Actor: license.System,
			TargetIDs: []string{"rt", "admin-1"}, Changes: nil}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		stream := b.Prefix + "{t:rt}:audit"
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fields := store.EncodeAuditEntry(tt.e)
				args := make([]any, len(fields))
				for i, f := range fields {
					args[i] = f
				}
				again := luaStrings(t, b, "--@include lib/codec.lua\nreturn audit_encode(audit_decode(ARGV))", args...)
				wantSame(t, "Lua wrote back", again, fields)

				// The entry as a script gets it and writes it with audit.
				arg := store.EncodeAuditArg(license.Change{Action: tt.e.Action, Actor: tt.e.Actor}, tt.e.TargetIDs, tt.e.Changes)
				id, _ := lua(t, b, `--@include lib/audit.lua
return audit(KEYS[1], ARGV[1], audit_arg(ARGV[2]))`, []string{stream}, int64(license.DefaultAuditRetention/time.Millisecond), arg).(string)
				msgs, err := b.Client.XRange(context.Background(), stream, id, id).Result()
				if err != nil || len(msgs) != 1 {
					t.Fatalf("XRANGE %s: %v, %v", id, msgs, err)
				}
				got := store.DecodeAuditEntry("rt", msgs[0])
				want := *tt.e
				eid, _ := license.ParseEventID(id)
				want.ID, want.TenantID, want.At = id, "rt", time.UnixMilli(int64(eid.MS)).UTC()
				if want.Actor.Roles == nil {
					want.Actor.Roles = []string{}
				}
				wantSame(t, "entry read back", got, &want)
				wantSame(t, "stream fields", streamFields(t, b, stream, id), fields)
			})
		}
	})
}

func TestClaimRowRoundTrip(t *testing.T) {
	row := &license.ClaimedUser{TenantID: "rt", PolicyID: "rt:policy:2", UserID: "user@x.example", ProductID: "rt:product:3", Trigger: license.TriggerSavePremiumFlowAttendedRPA}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		stream := b.Prefix + "{t:rt}:claims:2"
		fields := store.EncodeClaimRow(row)
		args := make([]any, len(fields))
		for i, f := range fields {
			args[i] = f
		}
		again := luaStrings(t, b, "--@include lib/codec.lua\nreturn claim_row_encode(claim_row_decode(ARGV))", args...)
		wantSame(t, "Lua wrote back", again, fields)
		id, _ := lua(t, b, `--@include lib/events.lua
return log_claim(KEYS[1], ARGV[1], claim_row_decode({unpack(ARGV, 2)}), tonumber(redis.call('TIME')[1]) * 1000)`,
			[]string{stream}, append([]any{license.ReportWindow.Milliseconds()}, args...)...).(string)
		msgs, err := b.Client.XRange(context.Background(), stream, id, id).Result()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("XRANGE %s: %v, %v", id, msgs, err)
		}
		got := store.DecodeClaimRow("rt", "rt:policy:2", msgs[0])
		want := *row
		eid, _ := license.ParseEventID(id)
		want.ID, want.ClaimedAt = id, time.UnixMilli(int64(eid.MS)).UTC()
		wantSame(t, "row read back", got, &want)
		wantSame(t, "stream fields", streamFields(t, b, stream, id), fields)
		src := "--@include lib/codec.lua\nif claim_row_decode(ARGV) then return 'read' end\nreturn 'malformed'"
		for _, bad := range [][]any{{"user", "u", "product", "1"}, {"product", "1", "user", "u", "trigger", "X"}} {
			if got := luaText(t, b, src, bad...); got != "malformed" {
				t.Errorf("Lua read %v; want it malformed", bad)
			}
		}
	})
}

func TestLicenseRequestRoundTrip(t *testing.T) {
	cat := license.BuiltinCatalog()
	claimed := store.EncodeLicense(&license.License{Source: license.SourceAutoClaim, AssignedAt: msTime(1764147600500),
		DisabledServicePlanIDs: []string{planExchange}}, 3, flowSKU)
	tests := []struct {
		name string
		r    store.RequestRecord
	}{
		{"Pending", store.RequestRecord{Status: license.RequestPending, Policy: 3, User: "5f1c9e2a-7b44-4d1e-9a0c-3e8f2b6d1a77",
			App: powerAutomate, Trigger: cloudFlow, RequestedMS: 1764147600123}},
		{"ApprovedClaimed", store.RequestRecord{Status: license.RequestApproved, Policy: 3, User: "u.1@x", App: powerAutomate,
			Trigger: cloudFlow, RequestedMS: 1764147600123, DecidedMS: 1764147600500, Outcome: license.Claimed, Product: 2,
			Roles: []string{"GLOBAL_ADMIN", "LICENSE_ADMIN"}, License: claimed, Actor: "adele"}},
		{"ApprovedDenied", store.RequestRecord{Status: license.RequestApproved, Policy: 1, User: "u2", App: powerApps,
			Trigger: license.TriggerLaunchPremiumApp, RequestedMS: 1, DecidedMS: 2, Outcome: license.Denied,
			Reason: license.ReasonNoLicenses, Roles: []string{"LICENSE_ADMIN"}, Actor: "lee|with|bars"}},
		{"DeniedWithFreeText", store.RequestRecord{Status: license.RequestDenied, Policy: 9, User: "u3", App: powerAutomate,
			Trigger: cloudFlow, RequestedMS: 5, DecidedMS: 6, Roles: []string{"GLOBAL_ADMIN"}, Actor: "ad\u00e8le|1|2",
			Message: "Not this quarter | 12|3| — ask again in April; «merci» 新しい"}},
		{"Expired", store.RequestRecord{Status: license.RequestExpired, Policy: 2, User: "u4", App: powerAutomate,
			Trigger: cloudFlow, RequestedMS: 7, DecidedMS: 7 + license.RequestExpiry.Milliseconds()}},
	}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := store.EncodeRequest(tt.r)
				again := luaText(t, b, "--@include lib/codec.lua\nreturn request_encode(request_decode(ARGV[1]))", rec)
				if again != rec {
					t.Fatalf("Lua wrote back %q; Go wrote %q", again, rec)
				}
				got, err := store.DecodeRequest(again)
				if err != nil {
					t.Fatal(err)
				}
				wantSame(t, "Go read back", got, tt.r)
				// What Lua reads of each field.
				fields := luaStrings(t, b, `--@include lib/codec.lua
local r = request_decode(ARGV[1])
return {r.status, r.policy, r.user, r.actor, r.message, r.license}`, rec)
				wantSame(t, "Lua read", fields, []string{store.RequestStatusLetter(tt.r.Status), strconv.FormatInt(tt.r.Policy, 10), tt.r.User,
					tt.r.Actor, tt.r.Message, tt.r.License})
				if tt.r.License != "" {
					l, err := store.DecodeLicense(cat, "rt", tt.r.User, tt.r.Product, tt.r.License)
					if err != nil || l.SKU == nil || l.SKU.SkuPartNumber != flowSKU {
						t.Fatalf("the request's license: %+v, %v", l, err)
					}
				}
			})
		}
		pending := store.EncodeRequest(tests[0].r)
		wantMalformed(t, b, "request_decode", func(s string) error { _, err := store.DecodeRequest(s); return err },
			"", "P|3|u|APP|T|1|2|||0||0|0|", // pending, yet decided
			"A|3|u|APP|T|1||||0||0|0|", // decided, yet no time
			"X|3|u|APP|T|1||||0||0|0|",
			"P|0|u|APP|T|1||||0||0|0|",
			"P|3||APP|T|1||||0||0|0|",
			"P|3|u|APP|T|1||||0||5|0|abc", // the texts are shorter than their lengths
			"P|3|u|APP|T|x||||0||0|0|",
			pending[:len(pending)-2])
		numbers := store.EncodeRequestNumbers([]int64{1, 12, 300})
		if again := luaText(t, b, "--@include lib/codec.lua\nreturn list_encode(list_decode(ARGV[1]))", numbers); again != numbers || numbers != "1,12,300" {
			t.Fatalf("a user's requests: Go wrote %q, Lua wrote back %q", numbers, again)
		}
		if got, err := store.DecodeRequestNumbers(numbers); err != nil || fmt.Sprint(got) != "[1 12 300]" {
			t.Fatalf("DecodeRequestNumbers(%q) = %v, %v", numbers, got, err)
		}
		for _, bad := range []string{"1,,2", "0", "a", "1,02"} {
			if _, err := store.DecodeRequestNumbers(bad); license.ErrorCode(err) != license.EINTERNAL {
				t.Errorf("DecodeRequestNumbers(%q): %v; want EINTERNAL", bad, err)
			}
		}
	})
}
