package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/autoclaim/autoclaim/internal/redistest"
)

// BenchmarkClaimHandler measures a claimLicense request through the real
// gqlgen handler in-process (no network between client and handler; Redis
// over loopback): token check, cached parse, one EVALSHA, the JSON answer.
func BenchmarkClaimHandler(b *testing.B) {
	for _, backend := range []func(testing.TB) *redistest.Backend{redistest.Mini, redistest.Real} {
		be := backend(b)
		b.Run(be.Name, func(b *testing.B) {
			ta := newTestAPI(b, be)
			tenant := "hb" + redistest.Prefix()[5:11]
			f := ta.newFixture(tenant)
			ta.mustDo(f.admin, `mutation($in: CreateAutoClaimPolicyInput!) { createAutoClaimPolicy(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"tenantId": tenant, "name": "PA", "appId": "POWER_APPS",
					"products": []any{map[string]any{"productId": f.products["POWERAPPS_PER_USER"]}}}}, nil)
			ta.mustDo(f.admin, `mutation($t: ID!) { setAutoClaimEnabled(tenantId: $t, enabled: true) { id } }`, map[string]any{"t": tenant}, nil)
			ta.mustDo(f.admin, `mutation($p: ID!) { setLicenseQuantity(productId: $p, quantity: 10000000) { id } }`,
				map[string]any{"p": f.products["POWERAPPS_PER_USER"]}, nil)
			auth := "Bearer " + ta.token("app", tenant, "APP")
			head := []byte(`{"query":"mutation($t: ID!, $u: ID!) { claimLicense(input: {tenantId: $t, userId: $u, appId: \"POWER_APPS\", trigger: LAUNCH_PREMIUM_APP}) { outcome reason } }","variables":{"t":"` + tenant + `","u":"`)
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var body bytes.Buffer
				for pb.Next() {
					body.Reset()
					body.Write(head)
					fmt.Fprintf(&body, "u%d\"}}", n.Add(1))
					req := httptest.NewRequest(http.MethodPost, "/graphql", &body)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", auth)
					rec := httptest.NewRecorder()
					ta.handler.ServeHTTP(rec, req)
					if !bytes.Contains(rec.Body.Bytes(), []byte(`"CLAIMED"`)) {
						b.Fatalf("answer %s", rec.Body)
					}
				}
			})
		})
	}
}
