package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// route is what the server remembers of an app to build the claim script's
// KEYS: the number of the app's policy (0 = none) and the tenant's products
// that serve the app. The script takes the policy's order as it finds it,
// so reordering, adding, removing or turning off products needs no new
// route; it answers STALE only when the app's policy is another one or
// holds a product the route lacks.
type route struct {
	policyN  int64
	products []int64
	// The script's keys and arguments that depend only on the route, built
	// once: the keys of the tenant, the app, the policy and its report, and
	// the products' keys and numbers.
	tenantKey, appsKey, policyKey, upnsKey, directoryKey, eventsKey, reportKey, claimsKey string
	waitlistKey, heldKey                                                                  string
	productKeys                                                                           []string
	productArgs                                                                           []any
	// The keys of the tenant's license requests (all but the user's bucket).
	requestsKey, requestsAllKey, requestsPendingKey, requestsDueKey, workKey string
}

// withKeys fills in the keys and arguments of a route of tenant k.
func (rt route) withKeys(k keys) route {
	rt.tenantKey, rt.appsKey, rt.policyKey, rt.upnsKey = k.tenant(), k.appPolicies(), k.policy(rt.policyN), k.upns()
	rt.directoryKey, rt.eventsKey, rt.reportKey, rt.claimsKey = k.directory(), k.events(), k.report(rt.policyN), k.claims(rt.policyN)
	rt.waitlistKey, rt.heldKey = k.waitlist(rt.policyN), k.held(rt.policyN)
	rt.requestsKey, rt.requestsAllKey, rt.requestsPendingKey = k.requests(), k.requestIndex(""), k.requestIndex(license.RequestPending)
	rt.requestsDueKey, rt.workKey = k.requestsDue(), k.work()
	rt.productKeys, rt.productArgs = make([]string, len(rt.products)), make([]any, len(rt.products))
	for i, pn := range rt.products {
		rt.productKeys[i], rt.productArgs[i] = k.product(pn), pn
	}
	return rt
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

// loadRoute reads an app's policy number and the tenant's products that
// serve the app.
func (s *Store) loadRoute(ctx context.Context, tenantID, app string) (route, error) {
	k := s.keys(tenantID)
	var rt route
	v, err := s.rdb.HGet(ctx, k.appPolicies(), app).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return route{}, s.fail(err)
	default:
		rt.policyN, _ = strconv.ParseInt(v, 10, 64)
	}
	products, err := s.Products(ctx, tenantID)
	if err != nil {
		return route{}, err
	}
	for _, p := range products {
		if p.SKU != nil && p.SKU.Serves(app) {
			_, n, _ := license.ParseProductID(p.ID)
			rt.products = append(rt.products, n)
		}
	}
	return rt.withKeys(k), nil
}

// maxClaimAttempts bounds how often a claim builds its keys again: after
// the app's policy was created or deleted, or a product added to the
// tenant and to the policy, since the route was read (STALE), or around
// midnight when Redis's day is not the one the server took (DAY). Only a
// policy deleted and created again without pause keeps answering STALE.
const maxClaimAttempts = 64

// Claim decides a claim in one script call (one round trip when the app's
// route is cached and still holds).
func (s *Store) Claim(ctx context.Context, r license.ClaimRequest) (*license.ClaimResult, error) {
	if err := r.Validate(s.catalog); err != nil {
		return nil, err
	}
	k := s.keys(r.TenantID)
	covering := s.covering(r.AppID, r.Trigger)
	var field idemField
	request := ""
	if r.IdempotencyKey != "" {
		field, request = idemFieldOf(r.Caller, r.IdempotencyKey), requestDigest(r)
	}
	now := s.Now()
	day := s.redisDay(now)
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
		keys := make([]string, 0, 21+len(rt.products))
		keys = append(keys, rt.tenantKey, rt.appsKey, rt.policyKey, k.profiles(b), rt.upnsKey, rt.directoryKey,
			k.licenseBucket(b), k.idem(day, field), k.idem(day-1, field), k.denials(day),
			rt.eventsKey, rt.reportKey, rt.claimsKey, rt.waitlistKey, rt.heldKey,
			rt.requestsKey, rt.requestsAllKey, rt.requestsPendingKey, rt.requestsDueKey, k.userRequests(b), rt.workKey)
		keys = append(keys, rt.productKeys...)
		args := make([]any, 0, 17+len(rt.products))
		args = append(args, r.UserID, r.AppID, string(r.Trigger), rt.policyN, day, field.text, request,
			r.UserPrincipalName, strings.ToLower(r.UserPrincipalName), strings.TrimSpace(r.DisplayName), covering,
			idemBucketTTL, reportWindowMS, ms(now), ms(now.Add(-license.WaitlistExpiry)), slices.Index(license.AllTriggers, r.Trigger),
			s.supersedes[r.AppID], fillGrace.Milliseconds(), requestExpiryMS)
		args = append(args, rt.productArgs...)
		raw, err := s.runScriptOn(ctx, s.claims, claimScript, on, keys, args...)
		if err != nil {
			return nil, err
		}
		text, _ := raw.(string)
		reply, err := readClaimReply(text)
		if err != nil {
			return nil, license.Internal(fmt.Errorf("claim script replied %v: %w", raw, err))
		}
		switch reply.Kind {
		case "STALE":
			s.routes.forget(r.TenantID, r.AppID)
			continue
		case "DAY":
			s.clockOffset.Store(reply.At - s.Now().UnixMilli())
			day = reply.At / int64(dayMS)
			continue
		}
		res, err := s.claimResult(r, reply)
		if err == nil && !res.Replayed && len(res.Released) > 0 {
			s.feedReleased(context.WithoutCancel(ctx), r.TenantID, r.UserID, reply.Released)
		}
		return res, err
	}
	return nil, busy()
}

// redisDay is the UTC day (days since the epoch) Redis's clock is in, as
// far as the server can tell: its own clock (now) moved by the difference a
// claim last found. The claim script checks it (one clock decides the day: Redis's).
func (s *Store) redisDay(now time.Time) int64 {
	return (now.UnixMilli() + s.clockOffset.Load()) / int64(dayMS)
}

// claimReply is the claim script's answer (see the header of lua/claim.lua).
type claimReply struct {
	Kind      string // OK, REPLAY, STALE or DAY
	Outcome   license.Outcome
	Reason    license.Reason
	Policy    int64
	Product   int64
	License   string
	Available int
	Event     string
	At        int64
	// The product claimed or held, when the script read it.
	SKU      string
	Total    int
	Assigned int
	Created  int64
	Low      int // its low-license threshold
	Position int // on the waitlist (QUEUED)
	// Released are the licenses the claim gave back (a user's license
	// list, see encodeLicenses).
	Released string
	// The license request made or found, and its record (PENDING_APPROVAL).
	Request       int64
	RequestRecord string
}

// readClaimReply reads the claim script's answer by name.
func readClaimReply(text string) (claimReply, error) {
	var r claimReply
	bad := ""
	num := func(name, v string) int64 {
		n, ok := decimal(v)
		if !ok {
			bad = name
		}
		return n
	}
	err := readReply(text, func(name, v string) {
		switch name {
		case "kind":
			r.Kind = v
		case "outcome":
			r.Outcome = license.Outcome(v)
		case "reason":
			r.Reason = license.Reason(v)
		case "policy":
			r.Policy = num(name, v)
		case "product":
			r.Product = num(name, v)
		case "license":
			r.License = v
		case "available":
			r.Available = int(num(name, v))
		case "event":
			r.Event = v
		case "at":
			r.At = num(name, v)
		case "sku":
			r.SKU = v
		case "total":
			r.Total = int(num(name, v))
		case "assigned":
			r.Assigned = int(num(name, v))
		case "created":
			r.Created = num(name, v)
		case "low":
			r.Low = int(num(name, v))
		case "position":
			r.Position = int(num(name, v))
		case "released":
			r.Released = v
		case "request":
			r.Request = num(name, v)
		case "record":
			r.RequestRecord = v
		}
	})
	if err == nil && bad != "" {
		err = fmt.Errorf("%s is not a number", bad)
	}
	return r, err
}

// reportWindowMS is the report window (ms), as the claim script takes it.
var reportWindowMS = license.ReportWindow.Milliseconds()

// requestExpiryMS is how long a license request waits for a decision (ms),
// as scripts take it.
var requestExpiryMS = license.RequestExpiry.Milliseconds()

// idemBucketTTL keeps a day's idempotency bucket (ms) until a key first used
// at its last moment has been remembered for the whole IdempotencyWindow.
var idemBucketTTL = (license.IdempotencyWindow + 24*time.Hour + time.Hour).Milliseconds()

// covering returns the covering list (see encodeCovering) of an app's
// trigger, as the claim script reads it. It is built once per (app,
// trigger): the catalog never changes.
func (s *Store) covering(app string, trigger license.Trigger) string {
	return s.coverings[app+"\x00"+string(trigger)]
}

// supersedesByApp builds the supersedes list of every app of a catalog.
func supersedesByApp(c *license.Catalog) map[string]string {
	out := map[string]string{}
	for _, a := range c.Apps {
		out[a.ID] = encodeSupersedes(supersedesOf(c, a.ID))
	}
	return out
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
	res := &license.ClaimResult{Outcome: reply.Outcome, Reason: reply.Reason, Replayed: reply.Kind == "REPLAY", WaitlistPosition: reply.Position}
	if reply.Product != 0 {
		res.ProductID = license.ProductID(r.TenantID, reply.Product)
	}
	if reply.Product != 0 && reply.License != "" {
		l, err := decodeLicense(s.catalog, r.TenantID, r.UserID, reply.Product, reply.License)
		if err != nil {
			return nil, err
		}
		res.License = l
		if reply.SKU != "" && reply.Created != 0 {
			res.Product = &license.Product{ID: res.ProductID, TenantID: r.TenantID, SkuPartNumber: reply.SKU, SKU: l.SKU,
				TotalLicenses: reply.Total, AssignedLicenses: reply.Assigned, LowLicenseThreshold: reply.Low, CreatedAt: fromMS(reply.Created)}
		}
	}
	if reply.Released != "" {
		held, err := decodeLicenses(r.UserID, reply.Released)
		if err != nil {
			return nil, err
		}
		for _, h := range held {
			l, err := decodeLicense(s.catalog, r.TenantID, r.UserID, h.product, h.record)
			if err != nil {
				return nil, err
			}
			res.Released = append(res.Released, l)
		}
	}
	if reply.Event != "" {
		res.Event = &license.ClaimEvent{
			ID: reply.Event, TenantID: r.TenantID, UserID: r.UserID, AppID: r.AppID, ProductID: res.ProductID,
			Trigger: r.Trigger, Outcome: res.Outcome, Reason: res.Reason, At: fromMS(reply.At), AvailableAfter: reply.Available,
		}
		if reply.Policy != 0 {
			res.Event.PolicyID = license.PolicyID(r.TenantID, reply.Policy)
		}
	}
	if reply.Request != 0 {
		rec, err := decodeRequest(reply.RequestRecord, "license request "+itoa(reply.Request))
		if err != nil {
			return nil, err
		}
		if res.Request, err = s.licenseRequest(r.TenantID, reply.Request, rec); err != nil {
			return nil, err
		}
		if res.Event != nil {
			res.Event.RequestID = res.Request.ID
		}
	}
	return res, nil
}
