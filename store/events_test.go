package store_test

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// collector gathers one subscription's events.
type collector struct {
	mu     sync.Mutex
	events []license.Event
	more   chan struct{}
	done   chan error
}

func newCollector() *collector {
	return &collector{more: make(chan struct{}, 1), done: make(chan error, 1)}
}

func (c *collector) add(ev license.Event) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// collect takes every event of sub, as a license.Event, until it ends; then
// it closes sub and reports why it ended on done.
func collect[T any](c *collector, sub license.Subscription[T], event func(T) license.Event) {
	for {
		select {
		case v := <-sub.Events():
			c.add(event(v))
		case <-sub.Context().Done():
			for len(sub.Events()) > 0 { // delivered before the end
				c.add(event(<-sub.Events()))
			}
			sub.Close()
			c.done <- sub.Err()
			return
		}
	}
}

// waitFor waits until the collector holds n events, failing after a generous bound.
func (c *collector) waitFor(t *testing.T, n int) []license.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]license.Event(nil), c.events...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.more:
		case err := <-c.done:
			t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, err)
		case <-deadline:
			t.Fatalf("got %d of %d events", len(got), n)
		}
	}
}

// subscribe follows a tenant's claim decisions after a cursor, collecting them.
func subscribe(t *testing.T, s *store.Store, tenantID, after string) (*collector, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := s.SubscribeClaims(ctx, tenantID, "", after)
	if err != nil {
		cancel()
		t.Fatalf("SubscribeClaims: %v", err)
	}
	c := newCollector()
	go collect(c, sub, func(e *license.ClaimEvent) license.Event { return license.Event{Claim: e} })
	t.Cleanup(cancel)
	return c, cancel
}

// follow follows a tenant's claim decisions as a client does: when the
// subscription is ended for falling behind (UNAVAILABLE), it subscribes
// again after the last event it got, so the collector sees every event once.
func follow(t *testing.T, s *store.Store, tenantID string) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	first, err := s.SubscribeClaims(ctx, tenantID, "", "")
	if err != nil {
		cancel()
		t.Fatalf("SubscribeClaims: %v", err)
	}
	c := newCollector()
	go func() {
		sub := first
		for {
			inner := newCollector()
			go collect(inner, sub, func(e *license.ClaimEvent) license.Event { return license.Event{Claim: e} })
			var err error
		relay:
			for {
				select {
				case <-inner.more:
					for _, ev := range inner.take() {
						c.add(ev)
					}
				case err = <-inner.done:
					for _, ev := range inner.take() {
						c.add(ev)
					}
					break relay
				}
			}
			if license.ErrorCode(err) != license.EUNAVAILABLE || ctx.Err() != nil {
				c.done <- err
				return
			}
			after := ""
			if last := c.last(); last != nil {
				after = last.ID()
			}
			if sub, err = s.SubscribeClaims(ctx, tenantID, "", after); err != nil {
				c.done <- err
				return
			}
		}
	}()
	return c
}

// take removes and returns the events collected so far.
func (c *collector) take() []license.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.events
	c.events = nil
	return out
}

// last returns the newest event collected, or nil.
func (c *collector) last() *license.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) == 0 {
		return nil
	}
	return &c.events[len(c.events)-1]
}

// subscribeChanges follows a tenant's admin changes after a cursor, collecting them.
func subscribeChanges(t *testing.T, s *store.Store, tenantID, after string) (*collector, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := s.SubscribeChanges(ctx, tenantID, after)
	if err != nil {
		cancel()
		t.Fatalf("SubscribeChanges: %v", err)
	}
	c := newCollector()
	go collect(c, sub, func(e *license.ChangeEvent) license.Event { return license.Event{Change: e} })
	t.Cleanup(cancel)
	return c, cancel
}

func claimN(t *testing.T, s *store.Store, tenantID string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := claim(s, tenantID, fmt.Sprint("user-", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func claimUsers(events []license.Event) []string {
	var out []string
	for _, e := range events {
		if e.Claim != nil {
			out = append(out, e.Claim.UserID)
		}
	}
	return out
}

func TestSubscribeLiveAndResume(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := tenantWithProducts(t, s, "live", 100)
		automatePolicy(t, s, "live", products)

		live, stop := subscribe(t, s, "live", "")
		claimN(t, s, "live", 0, 3)
		got := live.waitFor(t, 3)
		if fmt.Sprint(claimUsers(got)) != "[user-0 user-1 user-2]" {
			t.Fatalf("live events %v; want user-0..2 in order", claimUsers(got))
		}
		ev := got[2].Claim
		if ev.Outcome != license.Claimed || ev.ProductID != products["FLOW_PER_USER"] || ev.AvailableAfter != 197 || ev.Trigger != license.TriggerTriggerPremiumFlow {
			t.Fatalf("event %+v; want CLAIMED from FLOW_PER_USER with 197 available after", ev)
		}
		stop()
		<-live.done

		// Missed while away: resume after the last event seen gets exactly those.
		claimN(t, s, "live", 3, 4)
		resumed, _ := subscribe(t, s, "live", got[2].ID())
		claimN(t, s, "live", 7, 2)
		all := resumed.waitFor(t, 6)
		if want := "[user-3 user-4 user-5 user-6 user-7 user-8]"; fmt.Sprint(claimUsers(all)) != want {
			t.Fatalf("resumed events %v; want %s (no gap, no repeat)", claimUsers(all), want)
		}
	})
}

func TestSubscribeRefusals(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		tenantWithProducts(t, s, "refuse", 1)
		ctx := context.Background()
		for _, tt := range []struct{ tenant, after, code string }{
			{"nosuch", "", license.ENOTFOUND},
			{"refuse", "yesterday", license.EINVALID},
			{"refuse", "99999999999999-0", license.EINVALID},
			{"refuse", "18446744073709551615-18446744073709551615", license.EINVALID},
		} {
			_, err := s.SubscribeClaims(ctx, tt.tenant, "", tt.after)
			wantCode(t, err, tt.code)
			_, err = s.SubscribeChanges(ctx, tt.tenant, tt.after)
			wantCode(t, err, tt.code)
		}
	})
}

func TestAdminChangesAreEvents(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		products := tenantWithProducts(t, s, "changes", 5)
		c, _ := subscribeChanges(t, s, "changes", "")
		pol := automatePolicy(t, s, "changes", products) // POLICY_CREATED, AUTO_CLAIM_SETTING_CHANGED
		if _, err := s.UpdatePolicy(ctx, pol.ID, func(p *license.Policy, _ license.SKULookup) error {
			return p.Move(products["POWERAUTOMATE_ATTENDED_RPA"], license.Up)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetLicenseQuantity(ctx, products["FLOW_PER_USER"], 9); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePolicy(ctx, pol.ID); err != nil {
			t.Fatal(err)
		}
		got := c.waitFor(t, 5)
		var kinds []license.ChangeKind
		for _, e := range got {
			kinds = append(kinds, e.Change.Kind)
		}
		want := []license.ChangeKind{license.ChangePolicyCreated, license.ChangeSetting, license.ChangePolicyUpdated, license.ChangeQuantity, license.ChangePolicyDeleted}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Fatalf("change kinds %v; want %v", kinds, want)
		}
		moved := got[2].Change
		if moved.PolicyID != pol.ID || moved.Version != 2 || fmt.Sprint(moved.ProductIDs) != fmt.Sprint([]string{products["POWERAUTOMATE_ATTENDED_RPA"], products["FLOW_PER_USER"]}) {
			t.Fatalf("POLICY_UPDATED event %+v; want version 2 with the backup first", moved)
		}
		if q := got[3].Change; q.ProductID != products["FLOW_PER_USER"] || *q.TotalLicenses != 9 {
			t.Fatalf("quantity event %+v; want FLOW_PER_USER total 9", q)
		}
		if on := got[1].Change.Enabled; on == nil || !*on {
			t.Fatalf("setting event enabled = %v; want true", on)
		}
	})
}

// TestSlowSubscriberIsDropped: one subscriber stops reading; once it is
// SubscriberBuffer events behind it is ended with UNAVAILABLE, while a fast
// subscriber of the same tenant gets every event.
func TestSlowSubscriberIsDropped(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		products := tenantWithProducts(t, s, "slow", 1)
		automatePolicy(t, s, "slow", products)

		// A consumer that takes one event, then never reads again.
		slow, err := s.SubscribeClaims(context.Background(), "slow", "", "")
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		fast, _ := subscribe(t, s, "slow", "")
		if _, err := claim(s, "slow", "first"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-slow.Events():
		case <-time.After(10 * time.Second):
			t.Fatal("the slow subscriber got no first event")
		}

		n := store.SubscriberBuffer + 50
		for i := range n {
			if _, err := claim(s, "slow", fmt.Sprint("u", i)); err != nil {
				t.Fatal(err)
			}
		}
		fast.waitFor(t, n+1)
		select {
		case <-slow.Context().Done():
			wantCode(t, slow.Err(), license.EUNAVAILABLE)
		case <-time.After(10 * time.Second):
			t.Fatal("the slow subscriber was not dropped")
		}
	})
}

func TestTwoInstancesShareEvents(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		a, other := mustOpen(t, b), mustOpen(t, b)
		products := tenantWithProducts(t, a, "shared", 10)
		automatePolicy(t, a, "shared", products)
		onA, _ := subscribe(t, a, "shared", "")
		onB, _ := subscribe(t, other, "shared", "")
		claimN(t, other, "shared", 0, 2)
		claimN(t, a, "shared", 2, 2)
		for name, c := range map[string]*collector{"a": onA, "b": onB} {
			if got := claimUsers(c.waitFor(t, 4)); fmt.Sprint(got) != "[user-0 user-1 user-2 user-3]" {
				t.Fatalf("instance %s saw %v; want all four claims", name, got)
			}
		}
	})
}

func TestSubscriptionsLeaveNoGoroutines(t *testing.T) {
	b := redistest.Mini(t)
	s := mustOpen(t, b)
	products := tenantWithProducts(t, s, "leak", 10)
	automatePolicy(t, s, "leak", products)
	claimN(t, s, "leak", 0, 1) // warm the client's pool
	base := storeGoroutines()
	var cancels []context.CancelFunc
	var dones []chan error
	for range 20 {
		c, cancel := subscribe(t, s, "leak", "")
		cancels = append(cancels, cancel)
		dones = append(dones, c.done)
	}
	claimN(t, s, "leak", 1, 1)
	for i, cancel := range cancels {
		cancel()
		if err := <-dones[i]; err != nil {
			t.Fatalf("subscription ended with %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for storeGoroutines() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d store goroutines after the subscribers left; want %d\n%s", storeGoroutines(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
}

// storeCode matches a stack frame of the store or of its fan-out hub (not
// of these tests, package store_test).
var storeCode = regexp.MustCompile(`autoclaim/store(/fanout)?\.`)

// storeGoroutines counts goroutines running the store's code (stream
// readers and subscriptions catching up), leaving out the Redis server's and
// the client pool's.
func storeGoroutines() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if storeCode.MatchString(g) {
			n++
		}
	}
	return n
}

// TestSubscribeClaimsOfAPolicy: a policy the tenant has, or had (deleted),
// may be followed; one it never had, or another tenant's, is NOT_FOUND.
func TestSubscribeClaimsOfAPolicy(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		products := claimTenant(t, s, "follow", map[string]int{flowSKU: 1})
		gone := mustCreatePolicy(t, s, "follow", powerAutomate, true, skuProducts(products, flowSKU)...)
		if err := s.DeletePolicy(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ policy, code string }{
			{gone.ID, ""}, {"follow:policy:2", license.ENOTFOUND}, {"other:policy:1", license.ENOTFOUND}, {"follow:policy:x", license.ENOTFOUND},
		} {
			sub, err := s.SubscribeClaims(ctx, "follow", tt.policy, "0-0")
			if license.ErrorCode(err) != tt.code {
				t.Fatalf("SubscribeClaims(%s) = %v; want code %q", tt.policy, err, tt.code)
			}
			if sub != nil {
				sub.Close()
			}
		}
	})
}
