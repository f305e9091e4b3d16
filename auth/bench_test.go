package auth_test

import (
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/auth"
)

// BenchmarkVerify measures token verification: Cached is a token seen before
// (every request after a caller's first), Cold a token verified from scratch.
func BenchmarkVerify(b *testing.B) {
	secret := []byte("benchmark-secret")
	tok, err := auth.Issue(secret, auth.Caller{Subject: "app", TenantID: "contoso", Roles: []auth.Role{auth.App}}, time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Cached", func(b *testing.B) {
		v := auth.NewVerifier(secret, nil)
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := auth.NewVerifier(secret, nil).Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
