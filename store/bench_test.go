package store_test

import (
	"context"
	"fmt"
	"sync"
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

// BenchmarkClaimLicensed measures a licensed re-claim through the store:
// 2,000 users hold a license, and each iteration claims again for one of
// them (ALREADY_LICENSED), as apps do at every launch.
func BenchmarkClaimLicensed(b *testing.B) {
	for _, backend := range []func(testing.TB) *redistest.Backend{redistest.Mini, redistest.Real} {
		be := backend(b)
		b.Run(be.Name, func(b *testing.B) {
			s := mustOpen(b, be)
			tenant := "bench" + redistest.Prefix()[5:11]
			products := tenantWithProducts(b, s, tenant, license.MaxQuantity)
			automatePolicy(b, s, tenant, products)
			ctx := context.Background()
			const holders = 2000
			for i := range holders {
				if _, err := s.Claim(ctx, license.ClaimRequest{TenantID: tenant, UserID: fmt.Sprint("u", i), AppID: "POWER_AUTOMATE",
					Trigger: license.TriggerTriggerPremiumFlow}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r, err := s.Claim(ctx, license.ClaimRequest{TenantID: tenant, UserID: fmt.Sprint("u", i%holders), AppID: "POWER_AUTOMATE",
					Trigger: license.TriggerTriggerPremiumFlow})
				if err != nil || r.Outcome != license.AlreadyLicensed {
					b.Fatalf("re-claim: %v %v", r, err)
				}
			}
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

// BenchmarkWaitlistFills measures how fast licenses that become available go
// to the users waiting (fills/s), and the Redis memory a waiting user takes
// (bytes/waiting-user: its place on the waitlist; bytes/queued-user: all
// that queueing it wrote, with its directory entry and its QUEUED event),
// on the real Redis: b.N users queue, then one quantity raise gives each a
// license, in queue order, a batch of users per script. Run it with a fixed
// count (-benchtime 20000x): each round queues its b.N users first.
func BenchmarkWaitlistFills(b *testing.B) {
	be := redistest.Real(b)
	s := mustOpen(b, be)
	ctx := context.Background()
	tenant := "wlbench" + redistest.Prefix()[5:11]
	products := claimTenant(b, s, tenant, map[string]int{})
	p := mustCreatePolicy(b, s, tenant, powerAutomate, true, skuProducts(products, flowSKU)...)
	waitlistOn(b, s, p.ID)
	before := be.Measure(b)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				r, err := s.Claim(ctx, license.ClaimRequest{TenantID: tenant, UserID: fmt.Sprint("u", i), AppID: powerAutomate, Trigger: cloudFlow})
				if err != nil || r.Outcome != license.Queued {
					b.Errorf("queue: %v %v", r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	queued := be.Measure(b)
	waitlistKey := fmt.Sprintf("%s{t:%s}:wl:%d", be.Prefix, tenant, idNumber(b, p.ID))
	waiting, err := be.Client.MemoryUsage(ctx, waitlistKey, 0).Result()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if _, err := s.SetLicenseQuantity(ctx, products[flowSKU], b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if page, err := s.Waitlist(ctx, p.ID, 0, ""); err != nil || page.TotalCount != 0 {
		b.Fatalf("after the raise, %v users wait (%v); want none", page, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fills/s")
	b.ReportMetric(float64(waiting)/float64(b.N), "bytes/waiting-user")
	b.ReportMetric(float64(queued.Memory-before.Memory)/float64(b.N), "bytes/queued-user")
}
