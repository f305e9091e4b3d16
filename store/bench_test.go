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

// BenchmarkAuditEntryBytes reports the Redis memory an audit entry takes
// (bytes/entry, from MEMORY USAGE of the audit stream on the real Redis):
// each iteration is one quantity change, written with its entry.
func BenchmarkAuditEntryBytes(b *testing.B) {
	be := redistest.Real(b)
	s := mustOpen(b, be)
	tenant := "audit" + redistest.Prefix()[5:11]
	products := tenantWithProducts(b, s, tenant, 10)
	ctx := context.Background()
	key := be.Prefix + "{t:" + tenant + "}:audit"
	base, _ := be.Client.MemoryUsage(ctx, key).Result()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.SetLicenseQuantity(ctx, products["FLOW_PER_USER"], 10+i%1000); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	used, err := be.Client.MemoryUsage(ctx, key, 0).Result()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(used-base)/float64(int64(b.N)), "bytes/entry")
}
