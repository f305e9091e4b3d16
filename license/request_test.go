package license_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/license"
)

func TestLicenseRequestAt(t *testing.T) {
	made := time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	expires := made.Add(license.RequestExpiry)
	decided := made.Add(time.Hour)
	tests := []struct {
		name    string
		status  license.RequestStatus
		decided time.Time
		now     time.Time
		want    license.RequestStatus
		at      time.Time // DecidedAt as seen then
	}{
		{"PendingJustMade", license.RequestPending, time.Time{}, made, license.RequestPending, time.Time{}},
		{"PendingAMillisecondBefore", license.RequestPending, time.Time{}, expires.Add(-time.Millisecond), license.RequestPending, time.Time{}},
		{"ExpiredAtItsExpiry", license.RequestPending, time.Time{}, expires, license.RequestExpired, expires},
		{"ExpiredLongAfter", license.RequestPending, time.Time{}, expires.Add(90 * 24 * time.Hour), license.RequestExpired, expires},
		{"ApprovedStaysApproved", license.RequestApproved, decided, expires.Add(time.Hour), license.RequestApproved, decided},
		{"DeniedStaysDenied", license.RequestDenied, decided, expires.Add(time.Hour), license.RequestDenied, decided},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &license.LicenseRequest{ID: "t1:request:1", RequestedAt: made, Status: tt.status, DecidedAt: tt.decided}
			got := r.At(tt.now)
			if got.Status != tt.want || !got.DecidedAt.Equal(tt.at) {
				t.Fatalf("At(%v) = %s decided %v; want %s decided %v", tt.now, got.Status, got.DecidedAt, tt.want, tt.at)
			}
			if r.Status != tt.status {
				t.Fatalf("At changed the request it was called on: %s", r.Status)
			}
		})
	}
}

func TestValidateRequestMessage(t *testing.T) {
	tests := []struct {
		name, msg string
		code      string
		words     []string
	}{
		{"Empty", "", "", nil},
		{"Sentence", "Budget freeze until April; ask your manager. — Merci, 新しい", "", nil},
		{"Longest", strings.Repeat("é", license.MaxRequestMessageLength), "", nil},
		{"ErrTooLong", strings.Repeat("a", license.MaxRequestMessageLength+1), license.EINVALID, []string{"500", "501"}},
		{"ErrLineBreak", "one\ntwo", license.EINVALID, []string{"control"}},
		{"ErrTab", "one\ttwo", license.EINVALID, []string{"control"}},
		{"ErrUnitSeparator", "one\x1ftwo", license.EINVALID, []string{"control"}},
		{"ErrNotUTF8", "caf\xe9", license.EINVALID, []string{"UTF-8"}},
		{"ErrRightToLeftOverride", "Approved \u202edeineD", license.EINVALID, []string{"invisible"}},
		{"ErrZeroWidthSpace", "no\u200bpe", license.EINVALID, []string{"invisible"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, fmt.Sprintf("ValidateRequestMessage(%q)", tt.msg), license.ValidateRequestMessage(tt.msg), tt.code, tt.words...)
		})
	}
}

func TestRequestIDs(t *testing.T) {
	id := license.RequestID("contoso", 12)
	if id != "contoso:request:12" {
		t.Fatalf("RequestID = %q", id)
	}
	if tenant, n, err := license.ParseRequestID(id); err != nil || tenant != "contoso" || n != 12 {
		t.Fatalf("ParseRequestID(%q) = %q, %d, %v", id, tenant, n, err)
	}
	if tenant, ok := license.TenantOf(id); !ok || tenant != "contoso" {
		t.Fatalf("TenantOf(%q) = %q, %v", id, tenant, ok)
	}
	if kind := license.KindOf(id); kind != "License request" {
		t.Fatalf("KindOf(%q) = %q", id, kind)
	}
	for _, bad := range []string{"contoso:request:0", "contoso:request:012", "contoso:policy:1", "contoso:request:", "Contoso:request:1", "request:1"} {
		if _, _, err := license.ParseRequestID(bad); license.ErrorCode(err) != license.ENOTFOUND {
			t.Errorf("ParseRequestID(%q): %v; want ENOTFOUND", bad, err)
		}
	}
}
