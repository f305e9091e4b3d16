package store

import (
	"context"
	"encoding/json"
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
	on := subject{tenantID: r.TenantID, userID: r.UserID, idemKey: r.IdempotencyKey}
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
		raw, err := s.runScript(ctx, claimScript, on, keys, args...)
		if err != nil {
			return nil, err
		}
		var reply claimReply
		if text, _ := raw.(string); json.Unmarshal([]byte(text), &reply) != nil {
			return nil, license.Internal(fmt.Errorf("claim script replied %v", raw))
		}
		if reply.Kind == "STALE" {
			s.routes.forget(r.TenantID, r.AppID)
			continue
		}
		return s.claimResult(r, reply)
	}
	return nil, busy()
}

// claimReply is the claim script's answer (see the header of lua/claim.lua).
type claimReply struct {
	Kind      string          `json:"kind"` // OK, REPLAY or STALE
	Outcome   license.Outcome `json:"outcome"`
	Reason    license.Reason  `json:"reason"`
	Policy    int64           `json:"policy,string"`
	Product   int64           `json:"product,string"`
	License   string          `json:"license"`
	Available int             `json:"available,string"`
	Event     string          `json:"event"`
	At        int64           `json:"at,string"`
	// The claimed product, on a license claimed now.
	SKU      string `json:"sku"`
	Total    int    `json:"total,string"`
	Assigned int    `json:"assigned,string"`
	Created  int64  `json:"created,string"`
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

// covering returns the covering list (see encodeCovering) of an app's
// trigger, as the claim script reads it. It is built once per (app,
// trigger): the catalog never changes.
func (s *Store) covering(app string, trigger license.Trigger) string {
	return s.coverings[app+"\x00"+string(trigger)]
}

// coveringsOf builds the covering list of every (app, trigger) of a catalog.
func coveringsOf(c *license.Catalog) map[string]string {
	out := map[string]string{}
	for _, a := range c.Apps {
		for _, t := range a.Triggers {
			out[a.ID+"\x00"+string(t)] = encodeCovering(coveringOf(c, a.ID, t))
		}
	}
	return out
}

// claimResult builds the answer from the claim script's reply.
func (s *Store) claimResult(r license.ClaimRequest, reply claimReply) (*license.ClaimResult, error) {
	res := &license.ClaimResult{Outcome: reply.Outcome, Reason: reply.Reason, Replayed: reply.Kind == "REPLAY"}
	ev := &license.ClaimEvent{
		ID: reply.Event, TenantID: r.TenantID, UserID: r.UserID, AppID: r.AppID, Trigger: r.Trigger,
		Outcome: res.Outcome, Reason: res.Reason, At: fromMS(reply.At), AvailableAfter: reply.Available,
	}
	if reply.Policy != 0 {
		ev.PolicyID = license.PolicyID(r.TenantID, reply.Policy)
	}
	if reply.Product != 0 {
		res.ProductID = license.ProductID(r.TenantID, reply.Product)
		ev.ProductID = res.ProductID
	}
	if reply.Product != 0 && reply.License != "" { // a replay finds no record once the license was removed
		l, err := decodeLicense(s.catalog, r.TenantID, r.UserID, reply.Product, reply.License)
		if err != nil {
			return nil, err
		}
		res.License = l
		if reply.Kind == "OK" && reply.Outcome == license.Claimed {
			res.Product = &license.Product{ID: res.ProductID, TenantID: r.TenantID, SkuPartNumber: reply.SKU, SKU: l.SKU,
				TotalLicenses: reply.Total, AssignedLicenses: reply.Assigned, CreatedAt: fromMS(reply.Created)}
		}
	}
	res.Event = ev
	return res, nil
}
