package store_test

import (
	"context"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// FuzzClaimInputs sends arbitrary claim inputs through the claim script on
// miniredis: each is refused with EINVALID or ENOTFOUND, or answered with a
// valid outcome; nothing is internal, and the pools always add up.
func FuzzClaimInputs(f *testing.F) {
	f.Add("u1", "POWER_AUTOMATE", "SIGN_IN", "", "", "")
	f.Add("u1", "POWER_AUTOMATE", "SIGN_IN", "key-1", "a@b.cd", "A B")
	f.Add("{t:other}", "POWER_APPS", "LAUNCH_PREMIUM_APP", "k;|=", "x@y.z", "|\x1f")
	f.Add("user|with|bars", "POWER_AUTOMATE", "TURN_ON_PREMIUM_FLOW_ATTENDED_RPA", "k\n1", "", "")
	f.Add("", "NOPE", "NOPE", "", "bad", "")
	b := redistest.Mini(f)
	s := mustOpen(f, b)
	products := tenantWithProducts(f, s, "fuzz", 50)
	automatePolicy(f, s, "fuzz", products)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, user, app, trigger, key, upn, name string) {
		r, err := s.Claim(ctx, license.ClaimRequest{TenantID: "fuzz", UserID: user, AppID: app, Trigger: license.Trigger(trigger),
			IdempotencyKey: key, UserPrincipalName: upn, DisplayName: name})
		switch code := license.ErrorCode(err); code {
		case "":
			switch r.Outcome {
			case license.Claimed, license.AlreadyLicensed, license.Denied:
			default:
				t.Fatalf("outcome %q", r.Outcome)
			}
		case license.EINVALID, license.ENOTFOUND:
		default:
			t.Fatalf("Claim(%q, %q, %q, %q, %q, %q): %v", user, app, trigger, key, upn, name, err)
		}
		for _, id := range products {
			p, err := s.Product(ctx, id)
			if err != nil || p.AssignedLicenses < 0 || p.AssignedLicenses > p.TotalLicenses {
				t.Fatalf("product %s after the claim: %+v, %v", id, p, err)
			}
		}
	})
}
