package api_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
)

// countingHook counts commands sent to Redis, pipelines counting once each.
type countingHook struct {
	trips    atomic.Int64
	commands atomic.Int64
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.trips.Add(1)
		h.commands.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.trips.Add(1)
		h.commands.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestClaimIsOneRoundTrip: once the app's policy is cached, a claim through
// the real handler, asking for everything a claim answer holds that came from
// the claim itself, costs exactly one Redis round trip (the EVALSHA): a new
// claim, a licensed user's re-claim, a claim queued on the waitlist and a
// waiting user's asking again, a claim that makes a license request and
// the same user's asking again.
func TestClaimIsOneRoundTrip(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		ta := newTestAPI(t, b)
		f := ta.newFixture("trips")
		ta.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"tenantId": "trips", "name": "PA", "appId": "POWER_AUTOMATE",
				"products": []any{map[string]any{"productId": f.products["FLOW_PER_USER"]}}}}, nil)
		ta.mustDo(f.admin, `mutation { setAutoClaimEnabled(tenantId: "trips", enabled: true) { id } }`, nil, nil)
		app := f.admin // a Global admin may claim, and may read the pool counts the answer carries
		const claim = `mutation($u: ID!) { claimLicense(input: {tenantId: "trips", userId: $u, appId: "POWER_AUTOMATE", trigger: TRIGGER_PREMIUM_FLOW}) {
			outcome reason replayed product { id skuPartNumber displayName totalLicenses assignedLicenses availableLicenses }
			license { source assignedAt disabledServicePlans { id name } } event { id policyId productId outcome reason at availableAfter requestId }
			request { id userId policyId trigger requestedAt status decidedAt outcome } } }`
		ta.mustDo(app, claim, map[string]any{"u": "warm-up"}, nil) // loads and caches the policy

		hook := &countingHook{}
		b.Client.AddHook(hook)
		count := func(user, want string) {
			t.Helper()
			hook.trips.Store(0)
			hook.commands.Store(0)
			var out struct{ ClaimLicense struct{ Outcome string } }
			ta.mustDo(app, claim, map[string]any{"u": user}, &out)
			if out.ClaimLicense.Outcome != want {
				t.Fatalf("outcome %s; want %s", out.ClaimLicense.Outcome, want)
			}
			if got := hook.trips.Load(); got != 1 {
				t.Fatalf("%s took %d Redis round trips (%d commands); want 1", want, got, hook.commands.Load())
			}
		}
		count("counted", "CLAIMED")
		count("counted", "ALREADY_LICENSED")

		// With the waitlist on and the pools empty: queued, and asking again.
		ta.mustDo(f.admin, `mutation { updateAutoClaimPolicySettings(input: {policyId: "trips:policy:1", waitlistEnabled: true}) { id } }`, nil, nil)
		ta.mustDo(f.admin, `mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 2) { id } }`, map[string]any{"p": f.products["FLOW_PER_USER"]}, nil)
		ta.mustDo(app, claim, map[string]any{"u": "warm-up-again"}, nil) // the policy changed: its route is read again
		count("waiting", "QUEUED")
		count("waiting", "QUEUED")

		// With approval required: the request made, and asking again.
		ta.mustDo(f.admin, `mutation { updateAutoClaimPolicySettings(input: {policyId: "trips:policy:1", approvalRequired: true}) { id } }`, nil, nil)
		ta.mustDo(app, claim, map[string]any{"u": "warm-up-approval"}, nil) // the policy changed: its route is read again
		count("asking", "PENDING_APPROVAL")
		count("asking", "PENDING_APPROVAL")
	})
}
