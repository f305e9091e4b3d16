package store

import (
	"context"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store/fanout"
)

// SubscriberBuffer is how many events a subscriber may fall behind the live
// stream before it is dropped.
const SubscriberBuffer = fanout.Buffer

// SetStreamClient sets the client stream readers use. Each reader holds a
// connection in a blocking XREAD, so it should have a pool of its own, sized
// for the number of tenants with live subscribers. By default readers share
// the store's client.
func (s *Store) SetStreamClient(c redis.UniversalClient) { s.streams = c }

// SetLogger sets where the store reports failures it can't return (stream reads).
func (s *Store) SetLogger(l *slog.Logger) { s.log = l }

// LiveSubscriptions returns how many subscriptions this store is serving.
func (s *Store) LiveSubscriptions() int { return s.hub.Live() }

// SubscribeClaims implements license.EventService.
func (s *Store) SubscribeClaims(ctx context.Context, tenantID, policyID, after string) (license.Subscription[*license.ClaimEvent], error) {
	if policyID != "" {
		// Any policy the tenant ever had (a deleted one's claims are in the
		// stream too); one it never had is NOT_FOUND.
		t, n, err := license.ParsePolicyID(policyID)
		if err != nil {
			return nil, license.OnField("policyId", err)
		}
		if t != tenantID {
			return nil, license.OnField("policyId", license.Errorf(license.ENOTFOUND, "Policy %q was not found.", policyID))
		}
		next, err := s.nextNumber(ctx, s.keys(tenantID), "seq_policy", tenantID)
		if err != nil {
			return nil, err
		}
		if n >= next {
			return nil, license.OnField("policyId", license.Errorf(license.ENOTFOUND, "Policy %q was not found.", policyID))
		}
	}
	return subscribe(ctx, s, tenantID, after, func(ev license.Event) (*license.ClaimEvent, bool) {
		return ev.Claim, ev.Claim != nil && (policyID == "" || ev.Claim.PolicyID == policyID)
	})
}

// SubscribeChanges implements license.EventService.
func (s *Store) SubscribeChanges(ctx context.Context, tenantID, after string) (license.Subscription[*license.ChangeEvent], error) {
	return subscribe(ctx, s, tenantID, after, func(ev license.Event) (*license.ChangeEvent, bool) {
		return ev.Change, ev.Change != nil
	})
}

// subscribe checks the tenant and the cursor, and subscribes to the
// tenant's events that pick selects, as values of type T.
func subscribe[T any](ctx context.Context, s *Store, tenantID, after string, pick func(license.Event) (T, bool)) (license.Subscription[T], error) {
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	newest, err := s.lastEventID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	cursor := newest
	if after != "" {
		if cursor, err = license.ParseEventID(after); err != nil {
			return nil, license.OnField("after", err)
		}
		if cursor.After(newest) {
			return nil, license.OnField("after", license.Errorf(license.EINVALID, "The cursor %q is ahead of the newest event of the tenant (%s); pass an id this API returned.", after, newest))
		}
	}
	sink := chanSink[T]{ch: make(chan T, SubscriberBuffer), pick: pick}
	return &subscription[T]{Subscriber: s.hub.Subscribe(ctx, tenantID, cursor, sink), events: sink.ch}, nil
}

// chanSink hands the events pick selects to a channel.
type chanSink[T any] struct {
	ch   chan T
	pick func(license.Event) (T, bool)
}

func (c chanSink[T]) Offer(ev license.Event) bool {
	v, ok := c.pick(ev)
	if !ok {
		return true
	}
	select {
	case c.ch <- v:
		return true
	default:
		return false
	}
}

func (c chanSink[T]) Send(ctx context.Context, ev license.Event) bool {
	v, ok := c.pick(ev)
	if !ok {
		return true
	}
	select {
	case c.ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

// subscription implements license.Subscription on a subscriber of the hub.
type subscription[T any] struct {
	*fanout.Subscriber
	events chan T
	closed sync.Once
}

func (s *subscription[T]) Events() <-chan T { return s.events }

// Close ends the subscriber, then closes the channel nothing sends to any more.
func (s *subscription[T]) Close() {
	s.Subscriber.Close()
	s.closed.Do(func() { close(s.events) })
}
