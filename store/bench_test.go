package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// BenchmarkClaim measures the claim script through the store: one EVALSHA
// per claim, each a new user of a pool that never runs dry, from parallel
// goroutines, on miniredis and on the real Redis.
func BenchmarkClaim(b *testing.B) {
	for _, backend := range []func(testing.TB) *redistest.Backend{redistest.Mini, redistest.Real} {
		be := backend(b)
		b.Run(be.Name, func(b *testing.B) {
			s := mustOpen(b, be)
			tenant := "bench" + redistest.Prefix()[5:11]
			products := tenantWithProducts(b, s, tenant, license.MaxQuantity)
			automatePolicy(b, s, tenant, products)
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := s.Claim(context.Background(), license.ClaimRequest{TenantID: tenant, UserID: fmt.Sprint("u", n.Add(1)),
						AppID: "POWER_AUTOMATE", Trigger: license.TriggerTriggerPremiumFlow})
					if err != nil || r.Outcome != license.Claimed {
						b.Fatalf("claim: %v %v", r, err)
					}
				}
			})
		})
	}
}
