package api_test

import (
	"testing"

	"github.com/autoclaim/autoclaim/internal/gqltest"
	"github.com/autoclaim/autoclaim/internal/redistest"
)

// TestClaimAnswersShowAppsOnlyWhatTheyNeed: an APP or USER caller reads the
// outcome, the product's name and its own license from a claim, but not the
// tenant's pool counts, the policy's contents or another user's record.
func TestClaimAnswersShowAppsOnlyWhatTheyNeed(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		sf := newSubscriptionFixture(t, b, "nested")
		user := sf.ta.token("megan", "nested", "USER")
		claim := func(token, userID, selection string) gqltest.Response {
			return sf.ta.do(token, `mutation($u: ID!) { claimLicense(input: {tenantId: "nested", userId: $u, appId: "POWER_AUTOMATE", trigger: SIGN_IN}) { `+selection+` } }`,
				map[string]any{"u": userID})
		}
		if r := claim(sf.app, "alex", `outcome product { id displayName } license { source policy { name } } event { id userId availableAfter }`); len(r.Errors) > 0 {
			t.Fatalf("an app's claim answer: %+v", r.Errors)
		}
		for name, tc := range map[string]struct{ token, user, selection string }{
			"AppPoolCounts":      {sf.app, "lee", `outcome product { totalLicenses }`},
			"AppOtherUser":       {sf.app, "diego", `outcome event { user { userPrincipalName } }`},
			"AppPolicyProducts":  {sf.app, "alex", `outcome license { policy { products { product { id } } } }`},
			"UserPolicyCounts":   {user, "megan", `outcome license { policy { availableLicenses } }`},
			"UserProductCounts":  {user, "megan", `outcome license { product { assignedLicenses } }`},
			"UserPolicyContents": {user, "megan", `outcome license { policy { primaryProduct { id } } }`},
		} {
			t.Run(name, func(t *testing.T) {
				if r := claim(tc.token, tc.user, tc.selection); r.Code() != "FORBIDDEN" {
					t.Fatalf("code %q (%s); want FORBIDDEN", r.Code(), r.Data)
				}
			})
		}
	})
}
