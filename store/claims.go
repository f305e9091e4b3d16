package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// route is what the server remembers of an app's policy to build the claim
// script's KEYS: the policy number (0 = none), its version and its products in
// order. The script checks the version and answers STALE when it moved on.
type route struct {
	policyN  int64
	version  int64
	products []int64
}

// routes caches a route per (tenant, app).
type routes struct {
	mu sync.RWMutex
	m  map[string]route
}

func routeKey(tenantID, app string) string { return tenantID + "\x00" + app }

func (r *routes) get(tenantID, app string) (route, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rt, ok := r.m[routeKey(tenantID, app)]
	return rt, ok
}

func (r *routes) put(tenantID, app string, rt route) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil || len(r.m) >= 100_000 {
		r.m = map[string]route{}
	}
	r.m[routeKey(tenantID, app)] = rt
}

func (r *routes) forget(tenantID, app string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, routeKey(tenantID, app))
}

// loadRoute reads an app's policy from Redis.
func (s *Store) loadRoute(ctx context.Context, tenantID, app string) (route, error) {
	k := s.keys(tenantID)
	v, err := s.rdb.HGet(ctx, k.appPolicies(), app).Result()
	if err == redis.Nil {
		return route{}, nil
	}
	if err != nil {
		return route{}, s.fail(err)
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	p, err := s.Policy(ctx, license.PolicyID(tenantID, n))
	if license.ErrorCode(err) == license.ENOTFOUND {
		return route{}, nil // deleted in between; the script will say STALE if not
	}
	if err != nil {
		return route{}, err
	}
	rt := route{policyN: n, version: p.Version}
	for _, pp := range p.Products {
		_, pn, _ := license.ParseProductID(pp.ProductID)
		rt.products = append(rt.products, pn)
	}
	return rt, nil
}

// maxClaimAttempts bounds how often a claim re-reads a policy that changed.
const maxClaimAttempts = 3

// Claim decides a claim in one script call (one round trip when the app's
// policy is cached and unchanged).
func (s *Store) Claim(ctx context.Context, r license.ClaimRequest) (*license.ClaimResult, error) {
	if err := r.Validate(s.catalog); err != nil {
		return nil, err
	}
	k := s.keys(r.TenantID)
	covering := s.covering(r.AppID, r.Trigger)
	fingerprint := claimFingerprint(r)
	day := s.Now().UnixMilli() / int64(dayMS)
	for attempt := 0; attempt < maxClaimAttempts; attempt++ {
		rt, cached := s.routes.get(r.TenantID, r.AppID)
		if !cached {
			var err error
			if rt, err = s.loadRoute(ctx, r.TenantID, r.AppID); err != nil {
				return nil, err
			}
			s.routes.put(r.TenantID, r.AppID, rt)
		}
		b := userBucket(r.UserID)
		keys := make([]string, 0, 11+len(rt.products))
		keys = append(keys, k.tenant(), k.appPolicies(), k.policy(rt.policyN), k.profiles(b), k.upns(),
			k.licenseBucket(b), k.idem(day, r.IdempotencyKey), k.idem(day-1, r.IdempotencyKey),
			k.events(), k.report(rt.policyN), k.claimed(rt.policyN))
		args := make([]any, 0, 13+len(rt.products))
		args = append(args, r.UserID, r.AppID, string(r.Trigger), rt.policyN, rt.version, r.IdempotencyKey, fingerprint,
			r.UserPrincipalName, strings.ToLower(r.UserPrincipalName), strings.TrimSpace(r.DisplayName), covering,
			idemBucketTTL, license.ReportWindow.Milliseconds())
		for _, pn := range rt.products {
			keys = append(keys, k.product(pn))
			args = append(args, pn)
		}
		reply, err := claimScript.Run(ctx, s.rdb, keys, args...).StringSlice()
		if reason, _, ok := scriptReason(err); ok {
			switch reason {
			case "NO_TENANT":
				return nil, notFoundTenant(r.TenantID)
			case "IDEM_MISMATCH":
				return nil, license.Errorf(license.EINVALID, "Idempotency key %q was used within the last 24 hours for a different claim; use a new key for a new claim.", r.IdempotencyKey)
			}
		}
		if err != nil {
			return nil, s.fail(err)
		}
		if len(reply) == 1 && reply[0] == "STALE" {
			s.routes.forget(r.TenantID, r.AppID)
			continue
		}
		return s.claimResult(r, reply)
	}
	return nil, busy()
}

// idemBucketTTL keeps a day's idempotency bucket (ms) until a key first used
// at its last moment has been remembered for the whole IdempotencyWindow.
var idemBucketTTL = (license.IdempotencyWindow + 24*time.Hour + time.Hour).Milliseconds()

// claimFingerprint identifies what a claim asks, to tell a retry from a
// different claim reusing an idempotency key. 32 bits keep the entry small; a
// different claim under a reused key goes unnoticed once in four billion.
func claimFingerprint(r license.ClaimRequest) string {
	h := fnv.New32a()
	h.Write([]byte(r.UserID + "\x00" + r.AppID + "\x00" + string(r.Trigger)))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// covering lists the SKUs that cover an app's trigger with the service plan
// the app needs, as the claim script reads them: ",SKU:plan,SKU:plan,".
// It is built once per (app, trigger): the catalog never changes.
func (s *Store) covering(app string, trigger license.Trigger) string {
	return s.coverings[app+"\x00"+string(trigger)]
}

// coveringsOf builds covering for every (app, trigger) of a catalog.
func coveringsOf(c *license.Catalog) map[string]string {
	out := map[string]string{}
	for _, a := range c.Apps {
		for _, t := range a.Triggers {
			out[a.ID+"\x00"+string(t)] = coveringString(c, a.ID, t)
		}
	}
	return out
}

func coveringString(c *license.Catalog, app string, trigger license.Trigger) string {
	var b strings.Builder
	b.WriteByte(',')
	for _, sku := range c.SKUsCovering(app, trigger) {
		b.WriteString(sku)
		b.WriteByte(':')
		b.WriteString(c.SKU(sku).Coverage(app).RequiredPlan)
		b.WriteByte(',')
	}
	return b.String()
}

// skuOf reads the SKU at the end of a license record.
func skuOf(record string) string { return record[strings.LastIndexByte(record, '|')+1:] }

// claimResult builds the answer from the claim script's reply.
func (s *Store) claimResult(r license.ClaimRequest, reply []string) (*license.ClaimResult, error) {
	if len(reply) != 11 {
		return nil, license.Internal(fmt.Errorf("claim script replied %q", reply))
	}
	pn, _ := strconv.ParseInt(reply[3], 10, 64)
	productN, _ := strconv.ParseInt(reply[4], 10, 64)
	available, _ := strconv.Atoi(reply[7])
	at := fromMS(reply[9])
	res := &license.ClaimResult{
		Outcome:  license.Outcome(reply[1]),
		Reason:   license.Reason(reply[2]),
		Replayed: reply[0] == "REPLAY",
	}
	ev := &license.ClaimEvent{
		ID: reply[8], TenantID: r.TenantID, UserID: r.UserID, AppID: r.AppID, Trigger: r.Trigger,
		Outcome: res.Outcome, Reason: res.Reason, At: at, AvailableAfter: available,
	}
	if pn != 0 {
		ev.PolicyID = license.PolicyID(r.TenantID, pn)
	}
	if productN != 0 {
		res.ProductID = license.ProductID(r.TenantID, productN)
		ev.ProductID = res.ProductID
	}
	if productN != 0 && reply[10] != "" { // a replay finds no record once the license was removed
		l, err := s.decodeLicense(r.TenantID, r.UserID, productN, reply[10])
		if err != nil {
			return nil, err
		}
		res.License = l
		if reply[5] != "" {
			total, _ := strconv.Atoi(reply[5])
			assigned, _ := strconv.Atoi(reply[6])
			res.Product = &license.Product{ID: res.ProductID, TenantID: r.TenantID, SkuPartNumber: skuOf(reply[10]), SKU: l.SKU,
				TotalLicenses: total, AssignedLicenses: assigned}
		}
	}
	res.Event = ev
	return res, nil
}
