package license_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/autoclaim/autoclaim/license"
)

func TestValidateReclaimDays(t *testing.T) {
	tests := []struct {
		in   int
		code string
	}{
		{license.MinReclaimDays, ""},
		{30, ""},
		{license.MaxReclaimDays, ""},
		{license.MinReclaimDays - 1, license.EINVALID},
		{license.MaxReclaimDays + 1, license.EINVALID},
		{0, license.EINVALID},
		{-7, license.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			var parts []string
			if tt.code != "" {
				parts = []string{"7", "365", fmt.Sprint(tt.in)}
			}
			checkErr(t, fmt.Sprintf("ValidateReclaimDays(%d)", tt.in), license.ValidateReclaimDays(tt.in), tt.code, parts...)
		})
	}
}

func TestValidateThreshold(t *testing.T) {
	tests := []struct {
		in   int
		code string
	}{
		{0, ""},
		{5, ""},
		{license.MaxQuantity, ""},
		{-1, license.EINVALID},
		{license.MaxQuantity + 1, license.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			var parts []string
			if tt.code != "" {
				parts = []string{"threshold", fmt.Sprint(tt.in)}
			}
			checkErr(t, fmt.Sprintf("ValidateThreshold(%d)", tt.in), license.ValidateThreshold(tt.in), tt.code, parts...)
		})
	}
}

func TestProductRunningLow(t *testing.T) {
	tests := []struct {
		total, assigned, threshold int
		want                       bool
	}{
		{10, 7, 3, true},  // at the threshold
		{10, 8, 3, true},  // below it
		{10, 6, 3, false}, // above it
		{10, 10, 0, false},
		{0, 0, 0, false}, // off
		{0, 0, 1, true},
	}
	for _, tt := range tests {
		p := &license.Product{TotalLicenses: tt.total, AssignedLicenses: tt.assigned, LowLicenseThreshold: tt.threshold}
		if got := p.RunningLow(); got != tt.want {
			t.Errorf("%d of %d assigned, threshold %d: RunningLow() = %v; want %v", tt.assigned, tt.total, tt.threshold, got, tt.want)
		}
	}
}

func TestPolicyApplySettings(t *testing.T) {
	days := func(n int) *int { return &n }
	version := func(n int64) *int64 { return &n }
	on := license.Update[bool]{Set: true, Value: true}
	off := license.Update[bool]{Set: true, Value: false}
	tests := []struct {
		name     string
		before   license.Policy
		settings license.PolicySettings
		code     string
		after    license.Policy
		changes  []string // field:before>after, "-" for none
	}{
		{"OK", license.Policy{Version: 3}, license.PolicySettings{WaitlistEnabled: on, ReclaimInactiveAfterDays: license.Update[*int]{Set: true, Value: days(30)}}, "",
			license.Policy{Version: 3, WaitlistEnabled: true, ReclaimInactiveAfterDays: 30}, []string{"waitlistEnabled:false>true", "reclaimInactiveAfterDays:->30"}},
		{"OnlyWhatIsSet", license.Policy{WaitlistEnabled: true, ReclaimInactiveAfterDays: 30}, license.PolicySettings{ReclaimInactiveAfterDays: license.Update[*int]{Set: true, Value: days(7)}}, "",
			license.Policy{WaitlistEnabled: true, ReclaimInactiveAfterDays: 7}, []string{"reclaimInactiveAfterDays:30>7"}},
		{"NullTurnsReclaimOff", license.Policy{WaitlistEnabled: true, ReclaimInactiveAfterDays: 30}, license.PolicySettings{WaitlistEnabled: off, ReclaimInactiveAfterDays: license.Update[*int]{Set: true}}, "",
			license.Policy{}, []string{"waitlistEnabled:true>false", "reclaimInactiveAfterDays:30>-"}},
		{"NothingSet", license.Policy{ReclaimInactiveAfterDays: 30}, license.PolicySettings{}, "", license.Policy{ReclaimInactiveAfterDays: 30}, nil},
		{"ExpectedVersion", license.Policy{Version: 4}, license.PolicySettings{WaitlistEnabled: on, ExpectedVersion: version(4)}, "",
			license.Policy{Version: 4, WaitlistEnabled: true}, []string{"waitlistEnabled:false>true"}},
		{"ErrStaleVersion", license.Policy{Version: 4}, license.PolicySettings{WaitlistEnabled: on, ExpectedVersion: version(3)}, license.ECONFLICT,
			license.Policy{Version: 4}, nil},
		{"ErrReclaimDays", license.Policy{}, license.PolicySettings{WaitlistEnabled: on, ReclaimInactiveAfterDays: license.Update[*int]{Set: true, Value: days(6)}}, license.EINVALID,
			license.Policy{}, nil},
		{"ApprovalOn", license.Policy{Version: 2}, license.PolicySettings{ApprovalRequired: on, ExpectedVersion: version(2)}, "",
			license.Policy{Version: 2, ApprovalRequired: true}, []string{"approvalRequired:false>true"}},
		{"ApprovalOffAlone", license.Policy{ApprovalRequired: true, WaitlistEnabled: true}, license.PolicySettings{ApprovalRequired: off}, "",
			license.Policy{WaitlistEnabled: true}, []string{"approvalRequired:true>false"}},
		{"ApprovalAsItIs", license.Policy{ApprovalRequired: true}, license.PolicySettings{ApprovalRequired: on}, "",
			license.Policy{ApprovalRequired: true}, nil},
		{"ErrVersionBelowOne", license.Policy{Version: 4}, license.PolicySettings{WaitlistEnabled: on, ExpectedVersion: version(-5)}, license.EINVALID,
			license.Policy{Version: 4}, nil},
		{"ErrReleaseSupersededOnAStaleVersion", license.Policy{Version: 4}, license.PolicySettings{ReleaseSupersededLicenses: on, ExpectedVersion: version(3)}, license.ECONFLICT,
			license.Policy{Version: 4}, nil},
		{"ErrApprovalOnAStaleVersion", license.Policy{Version: 4}, license.PolicySettings{ApprovalRequired: on, ExpectedVersion: version(3)}, license.ECONFLICT,
			license.Policy{Version: 4}, nil},
	}
	t.Run("ErrEveryBadSettingAtOnce", func(t *testing.T) {
		p := license.Policy{Version: 4}
		err := p.ApplySettings(license.PolicySettings{ExpectedVersion: version(-5), ReclaimInactiveAfterDays: license.Update[*int]{Set: true, Value: days(3)}})
		var problems license.Problems
		if !errors.As(err, &problems) || len(problems) != 2 || problems[0].Field != "expectedVersion" || problems[1].Field != "reclaimInactiveAfterDays" {
			t.Fatalf("ApplySettings = %v; want one problem for each field", err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.before
			err := p.ApplySettings(tt.settings)
			checkErr(t, "ApplySettings", err, tt.code)
			if !reflect.DeepEqual(p, tt.after) {
				t.Fatalf("policy after = %+v; want %+v", p, tt.after)
			}
			var changes []string
			for _, c := range license.PolicyChanges(&tt.before, &p) {
				changes = append(changes, c.Field+":"+orDash(c.Before)+">"+orDash(c.After))
			}
			if !reflect.DeepEqual(changes, tt.changes) {
				t.Fatalf("PolicyChanges = %v; want %v", changes, tt.changes)
			}
		})
	}
}

func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
