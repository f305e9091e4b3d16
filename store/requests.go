package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// A tenant's license requests: the claim script makes them (a policy with
// approval required), approve_request.lua and deny_request.lua decide them,
// and the worker's sweep (sweep_requests.lua, due when the first request
// is) expires those left pending license.RequestExpiry and drops those
// decided or expired license.RequestRetention ago. Reads show a pending
// request past its expiry as expired before the sweep records it (see
// license.LicenseRequest.At). Keys and records: keys.go, codec_request.go,
// lua/lib/request.lua.

// requestRetentionMS is how long a decided or expired request is kept (ms),
// as scripts take it.
var requestRetentionMS = license.RequestRetention.Milliseconds()

// requestBatch is how many due requests one sweep script takes, and
// requestPasses how many scripts one sweep runs at most.
const (
	requestBatch  = 100
	requestPasses = 50
)

// LicenseRequest implements license.RequestService.
func (s *Store) LicenseRequest(ctx context.Context, id string) (*license.LicenseRequest, error) {
	tenantID, n, err := license.ParseRequestID(id)
	if err != nil {
		return nil, err
	}
	rec, err := s.rdb.HGet(ctx, s.keys(tenantID).requests(), itoa(n)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, notFoundRequest(id)
	}
	if err != nil {
		return nil, s.fail(err)
	}
	r, err := decodeRequest(rec, "license request "+id)
	if err != nil {
		return nil, err
	}
	lr, err := s.licenseRequest(tenantID, n, r)
	if err != nil {
		return nil, err
	}
	return lr.At(s.Now()), nil
}

// LicenseRequests implements license.RequestService. A cursor is a
// request's number.
func (s *Store) LicenseRequests(ctx context.Context, tenantID string, q license.RequestQuery) (*license.RequestPage, error) {
	after, ok := int64(0), true
	if q.After != "" {
		after, ok = decimal(q.After)
	}
	var problems license.Problems
	problems.Add("", pageProblems(q.First, q.After, ok))
	switch q.Status {
	case "", license.RequestPending, license.RequestApproved, license.RequestDenied, license.RequestExpired:
	default: // an enum value in another case, which variables may carry
		problems.Add("status", license.Errorf(license.EINVALID, "%q is not a request status: PENDING, APPROVED, DENIED or EXPIRED.", q.Status))
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	now := s.Now()
	var numbers []int64
	var total int
	var err error
	if q.UserID != "" {
		numbers, total, err = s.userRequestNumbers(ctx, tenantID, q, after, now)
	} else {
		numbers, total, err = s.requestNumbers(ctx, tenantID, q, after, now)
	}
	if err != nil {
		return nil, err
	}
	page := &license.RequestPage{TotalCount: total}
	if len(numbers) > q.First {
		numbers, page.HasNextPage = numbers[:q.First], true
	}
	requests, err := s.requestsByNumber(ctx, tenantID, numbers)
	if err != nil {
		return nil, err
	}
	for i, r := range requests {
		page.Requests = append(page.Requests, r.At(now))
		page.Cursors = append(page.Cursors, itoa(numbers[i]))
	}
	return page, nil
}

// requestNumbers returns the numbers of the tenant's requests in q's
// status after the number after, up to q.First+1 of them, and how many
// the status has in all. A pending request past its expiry (the sweep has
// not recorded it yet) counts as expired.
func (s *Store) requestNumbers(ctx context.Context, tenantID string, q license.RequestQuery, after int64, now time.Time) ([]int64, int, error) {
	k := s.keys(tenantID)
	index := k.requestIndex(q.Status)
	var late []int64 // pending, past their expiry
	if q.Status == license.RequestPending || q.Status == license.RequestExpired {
		var err error
		if late, err = s.lateRequests(ctx, tenantID, now); err != nil {
			return nil, 0, err
		}
	}
	var count *redis.IntCmd
	var page *redis.StringSliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		count = p.ZCard(ctx, index)
		page = p.ZRangeByScore(ctx, index, &redis.ZRangeBy{Min: "(" + itoa(after), Max: "+inf", Count: int64(q.First + 1 + len(late))})
		return nil
	}); err != nil {
		return nil, 0, s.fail(err)
	}
	var numbers []int64
	for _, v := range page.Val() {
		n, ok := decimal(v)
		if !ok {
			return nil, 0, malformed("request index entry", v, "tenant "+tenantID)
		}
		if q.Status != license.RequestPending || !slices.Contains(late, n) {
			numbers = append(numbers, n)
		}
	}
	total := int(count.Val())
	switch q.Status {
	case license.RequestPending:
		total -= len(late)
	case license.RequestExpired:
		total += len(late)
		for _, n := range late {
			if n > after {
				numbers = append(numbers, n)
			}
		}
		slices.Sort(numbers)
	}
	return numbers[:min(len(numbers), q.First+1)], total, nil
}

// lateRequests returns the numbers of the tenant's requests still recorded
// pending but past their expiry at now, in order: those due for the sweep
// that are pending (the sweep keeps them few).
func (s *Store) lateRequests(ctx context.Context, tenantID string, now time.Time) ([]int64, error) {
	k := s.keys(tenantID)
	due, err := s.rdb.ZRangeByScore(ctx, k.requestsDue(), &redis.ZRangeBy{Min: "-inf", Max: itoa(ms(now))}).Result()
	if err != nil || len(due) == 0 {
		return nil, s.fail(err)
	}
	numbers := make([]int64, 0, len(due))
	for _, v := range due {
		if n, ok := decimal(v); ok {
			numbers = append(numbers, n)
		}
	}
	requests, err := s.requestsByNumber(ctx, tenantID, numbers)
	if err != nil {
		return nil, err
	}
	var late []int64
	for i, r := range requests {
		if r.Status == license.RequestPending && !now.Before(r.ExpiresAt()) {
			late = append(late, numbers[i])
		}
	}
	slices.Sort(late)
	return late, nil
}

// userRequestNumbers returns the numbers of a user's requests in q's status
// (any, when it is empty) after the number after, up to q.First+1 of them,
// and how many there are in all.
func (s *Store) userRequestNumbers(ctx context.Context, tenantID string, q license.RequestQuery, after int64, now time.Time) ([]int64, int, error) {
	list, err := s.rdb.HGet(ctx, s.keys(tenantID).userRequests(userBucket(q.UserID)), q.UserID).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, s.fail(err)
	}
	all, err := decodeRequestNumbers(list, "user "+q.UserID)
	if err != nil {
		return nil, 0, err
	}
	requests, err := s.requestsByNumber(ctx, tenantID, all)
	if err != nil {
		return nil, 0, err
	}
	var numbers []int64
	total := 0
	for i, r := range requests {
		if q.Status != "" && r.At(now).Status != q.Status {
			continue
		}
		total++
		if all[i] > after && len(numbers) <= q.First {
			numbers = append(numbers, all[i])
		}
	}
	return numbers, total, nil
}

// requestsByNumber reads a tenant's requests, in the order of numbers, in
// one round trip. Returns EINTERNAL when one is missing or malformed.
func (s *Store) requestsByNumber(ctx context.Context, tenantID string, numbers []int64) ([]*license.LicenseRequest, error) {
	if len(numbers) == 0 {
		return nil, nil
	}
	fields := make([]string, len(numbers))
	for i, n := range numbers {
		fields[i] = itoa(n)
	}
	recs, err := s.rdb.HMGet(ctx, s.keys(tenantID).requests(), fields...).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	out := make([]*license.LicenseRequest, len(numbers))
	for i, v := range recs {
		rec, _ := v.(string)
		r, err := decodeRequest(rec, "license request "+license.RequestID(tenantID, numbers[i]))
		if err != nil {
			return nil, err
		}
		if out[i], err = s.licenseRequest(tenantID, numbers[i], r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pendingRequest reads a request that is to be decided: ENOTFOUND when
// there is none, ECONFLICT when it is not pending (now).
func (s *Store) pendingRequest(ctx context.Context, id string) (*license.LicenseRequest, error) {
	lr, err := s.LicenseRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if lr.Status != license.RequestPending {
		return nil, notPending(id, lr.Status)
	}
	return lr, nil
}

// ApproveRequest implements license.RequestService, in one script call
// (one more when the app's route must be read again), besides the reads of
// the request before and after.
func (s *Store) ApproveRequest(ctx context.Context, id string) (*license.LicenseRequest, error) {
	lr, err := s.pendingRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	tenantID, n, _ := license.ParseRequestID(id)
	_, pn, _ := license.ParsePolicyID(lr.PolicyID)
	k := s.keys(tenantID)
	entry, retention := s.audited(ctx, "approveLicenseRequest", []string{id, lr.UserID},
		license.FieldChange{Field: "status", Before: license.Text(string(license.RequestPending)), After: license.Text(string(license.RequestApproved))})
	on := subject{tenantID: tenantID, userID: lr.UserID, requestID: id}
	for attempt := 0; attempt < maxClaimAttempts; attempt++ {
		rt, cached := s.routes.get(tenantID, lr.AppID)
		if !cached {
			if rt, err = s.loadRoute(ctx, tenantID, lr.AppID); err != nil {
				return nil, err
			}
			s.routes.put(tenantID, lr.AppID, rt)
		}
		keys := append([]string{k.tenant(), k.policy(pn), k.requests(), k.requestIndex(license.RequestPending),
			k.requestIndex(license.RequestApproved), k.requestsDue(), k.licenseBucket(userBucket(lr.UserID)), k.events(), k.audit(),
			k.report(pn), k.claims(pn), k.held(pn), k.waitlist(pn), k.work(), k.approvedWaiters(pn)}, rt.productKeys...)
		now := s.Now()
		args := append([]any{n, s.covering(lr.AppID, lr.Trigger), ms(now), requestExpiryMS, ms(now.Add(-license.WaitlistExpiry)),
			slices.Index(license.AllTriggers, lr.Trigger), eventWindow, entry, retention, requestRetentionMS, tenantID,
			s.supersedes[lr.AppID], fillGrace.Milliseconds()}, rt.productArgs...)
		raw, err := s.runScript(ctx, approveRequestScript, on, keys, args...)
		if err != nil {
			return nil, err
		}
		stale, released := false, ""
		text, _ := raw.(string)
		if err := readReply(text, func(name, v string) {
			stale = stale || (name == "kind" && v == "STALE")
			if name == "released" {
				released = v
			}
		}); err != nil {
			return nil, license.Internal(err)
		}
		if stale {
			s.routes.forget(tenantID, lr.AppID)
			continue
		}
		if released != "" {
			s.feedReleased(context.WithoutCancel(ctx), tenantID, lr.UserID, released)
		}
		return s.LicenseRequest(ctx, id)
	}
	return nil, busy()
}

// DenyRequest implements license.RequestService. The message is kept
// without its leading and trailing spaces.
func (s *Store) DenyRequest(ctx context.Context, id, message string) (*license.LicenseRequest, error) {
	var problems license.Problems
	if message != "" && strings.TrimSpace(message) == "" {
		problems.Add("message", license.Errorf(license.EINVALID, "The message is blank; leave it out (null) instead."))
	}
	message = strings.TrimSpace(message)
	problems.Add("message", license.ValidateRequestMessage(message))
	lr, err := s.pendingRequest(ctx, id)
	if err != nil && len(problems) > 0 {
		problems.Add("requestId", err) // both at once
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	tenantID, n, _ := license.ParseRequestID(id)
	k := s.keys(tenantID)
	changes := []license.FieldChange{{Field: "status", Before: license.Text(string(license.RequestPending)), After: license.Text(string(license.RequestDenied))}}
	if message != "" {
		changes = append(changes, license.FieldChange{Field: "message", After: license.Text(message)})
	}
	entry, retention := s.audited(ctx, "denyLicenseRequest", []string{id, lr.UserID}, changes...)
	if _, err := s.runScript(ctx, denyRequestScript, subject{tenantID: tenantID, requestID: id},
		[]string{k.requests(), k.requestIndex(license.RequestPending), k.requestIndex(license.RequestDenied), k.requestsDue(), k.events(), k.audit()},
		n, ms(s.Now()), requestExpiryMS, message, eventWindow, entry, retention, requestRetentionMS); err != nil {
		return nil, err
	}
	return s.LicenseRequest(ctx, id)
}

// sweepRequests expires the tenant's requests left pending too long and
// drops those kept long enough, a batch per script, until none is due
// (or requestPasses scripts ran; the next tick goes on).
func (s *Store) sweepRequests(ctx context.Context, tenantID string) error {
	l, ok, err := s.takeLease(ctx, tenantID, workMember(workRequests, 0), sweepLease)
	if err != nil || !ok {
		return err
	}
	defer l.release(context.WithoutCancel(ctx))
	k := s.keys(tenantID)
	for pass := 0; pass < requestPasses; pass++ {
		now := s.Now()
		due, err := s.rdb.ZRangeByScore(ctx, k.requestsDue(), &redis.ZRangeBy{Min: "-inf", Max: itoa(ms(now)), Count: requestBatch}).Result()
		if err != nil {
			return s.fail(err)
		}
		kl := newKeyList(k.requests(), k.requestIndex(""), k.requestIndex(license.RequestPending), k.requestIndex(license.RequestApproved),
			k.requestIndex(license.RequestDenied), k.requestIndex(license.RequestExpired), k.requestsDue(), k.events(), k.work())
		candidates := make([][2]any, len(due))
		if len(due) > 0 {
			recs, err := s.rdb.HMGet(ctx, k.requests(), due...).Result()
			if err != nil {
				return s.fail(err)
			}
			for i, v := range recs {
				candidates[i] = [2]any{due[i], 0}
				rec, _ := v.(string)
				if r, err := decodeRequest(rec, "license request "+due[i]); err == nil {
					candidates[i][1] = kl.add(k.userRequests(userBucket(r.user)))
				}
			}
		}
		plan, err := json.Marshal(candidates)
		if err != nil {
			return license.Internal(err)
		}
		if _, err := s.runScript(ctx, sweepRequestsScript, subject{tenantID: tenantID}, kl.keys,
			ms(now), string(plan), requestExpiryMS, requestRetentionMS, eventWindow); err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		if ok, err := l.renew(ctx, sweepLease); err != nil || !ok {
			return err
		}
	}
	return nil
}
