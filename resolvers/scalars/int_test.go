package scalars_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/resolvers/scalars"
)

func TestUnmarshalInt(t *testing.T) {
	tests := []struct {
		in   any
		want int
		ok   bool
	}{
		{7, 7, true},
		{int64(-3), -3, true},
		{json.Number("30"), 30, true},
		{json.Number("7.0"), 7, true}, // a JSON number with no fraction
		{json.Number("1e1"), 10, true},
		{json.Number("2147483647"), 2147483647, true},
		{json.Number("-2147483648"), -2147483648, true},
		{json.Number("2147483648"), 0, false},
		{json.Number("9223372036854775808"), 0, false},
		{json.Number("7.5"), 0, false},
		{json.Number("1e400"), 0, false},
		{float64(2.5), 0, false},
		{int64(1) << 40, 0, false},
		{"8", 0, false}, // digits in a string are no Int
		{true, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		got, err := scalars.UnmarshalInt(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("UnmarshalInt(%#v) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
		if !tt.ok && license.ErrorCode(err) != license.EINVALID {
			t.Errorf("UnmarshalInt(%#v) = %d, %v; want EINVALID", tt.in, got, err)
		}
	}
}

// TestMarshalTimeMilliseconds: a Time goes out in UTC with at most
// millisecond precision, as the schema documents.
func TestMarshalTimeMilliseconds(t *testing.T) {
	at := time.Date(2026, 12, 1, 3, 4, 5, 964_641_123, time.FixedZone("x", 3600))
	var b strings.Builder
	scalars.MarshalTime(at).MarshalGQL(&b)
	if got, want := b.String(), `"2026-12-01T02:04:05.964Z"`; got != want {
		t.Fatalf("MarshalTime = %s; want %s", got, want)
	}
}
