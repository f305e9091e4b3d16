package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// Tuning of event fan-out.
const (
	// SubscriberBuffer is how many events a subscriber may fall behind the
	// live stream before it is dropped.
	SubscriberBuffer = license.EventBuffer
	// readBlock is how long a stream reader waits in XREAD; a reader whose
	// last subscriber left ends within it.
	readBlock = time.Second
	// replayBatch is how many missed events one XRANGE reads.
	replayBatch = 500
	// readBatch is how many events a reader takes from one XREAD: a small
	// part of SubscriberBuffer, so that a reader catching up after a stall
	// (its tenant's slot moved to another shard) does not by itself overflow
	// the queue of a subscriber that keeps up.
	readBatch = SubscriberBuffer / 4
)

// hub runs one stream reader per tenant that has live subscribers in this
// process and fans its events out to them.
type hub struct {
	mu      sync.Mutex
	readers map[string]*reader
}

type reader struct {
	tenantID string
	cancel   context.CancelFunc
	subs     map[*subscriber]struct{}
}

// subscriber is one subscription. While it catches up, the tenant's reader
// queues live events for it (memory only while it is behind); once caught up
// it is live and the reader offers each event straight to it, so an idle
// live subscription runs no goroutine of its own. A subscriber that falls
// SubscriberBuffer events behind is dropped: marked, and its context
// cancelled, which ends a send that is blocked and finishes the subscription.
type subscriber struct {
	cancel  context.CancelFunc
	offer   func(license.Event) bool // non-blocking; false when the subscriber is full
	dropped atomic.Bool

	// Guarded by the hub's lock:
	live   bool            // offered events directly, else queued
	cursor license.EventID // last event delivered (once live)

	mu    sync.Mutex // guards queue
	queue []license.Event
}

// push queues an event; false when the subscriber is SubscriberBuffer behind.
func (sub *subscriber) push(ev license.Event) bool {
	sub.mu.Lock()
	if len(sub.queue) >= SubscriberBuffer {
		sub.mu.Unlock()
		return false
	}
	sub.queue = append(sub.queue, ev)
	sub.mu.Unlock()
	return true
}

// take empties the queue.
func (sub *subscriber) take() []license.Event {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	q := sub.queue
	sub.queue = nil
	return q
}

// SetStreamClient sets the client stream readers use. Each reader holds a
// connection in a blocking XREAD, so it should have a pool of its own, sized
// for the number of tenants with live subscribers. By default readers share
// the store's client.
func (s *Store) SetStreamClient(c redis.UniversalClient) { s.streams = c }

// SetLogger sets where the store reports failures it can't return (stream reads).
func (s *Store) SetLogger(l *slog.Logger) { s.log = l }

// Subscribe implements license.EventService.
func (s *Store) Subscribe(ctx context.Context, tenantID, after string, send func(context.Context, license.Event) bool,
	offer func(license.Event) bool, done func(error)) error {
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return err
	}
	key := s.keys(tenantID).events()
	newest, err := s.lastEventID(ctx, key)
	if err != nil {
		return err
	}
	cursor := newest
	if after != "" {
		if cursor, err = license.ParseEventID(after); err != nil {
			return err
		}
		if cursor.After(newest) {
			return license.Errorf(license.EINVALID, "The cursor %q is ahead of the newest event of the tenant (%s); pass an id this API returned.", after, newest)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscriber{cancel: cancel, offer: offer}
	s.live.Add(1)
	var once sync.Once
	finish := func(err error) {
		once.Do(func() {
			s.leave(tenantID, sub) // after this the reader offers it nothing more
			cancel()
			s.live.Add(-1)
			if sub.dropped.Load() {
				err = license.Errorf(license.EUNAVAILABLE, "This subscription fell more than %d events behind and was ended; subscribe again with after set to the last event id you received to resume.", SubscriberBuffer)
			}
			done(err)
		})
	}
	go func() {
		if err := s.catchUp(ctx, tenantID, key, cursor, sub, send); err != nil || ctx.Err() != nil {
			finish(quiet(ctx, err))
			return
		}
		// Live: the reader offers events; the subscription ends when its
		// context does (the client left, or the reader dropped it).
		context.AfterFunc(ctx, func() { finish(nil) })
	}()
	return nil
}

// LiveSubscriptions returns how many subscriptions this store is serving.
func (s *Store) LiveSubscriptions() int { return int(s.live.Load()) }

// errStop ends a pipe because send asked to stop.
var errStop = errors.New("stop")

// catchUp sends the subscriber what it missed since cursor before taking a
// place in the live fan-out (so a long catch-up can't overflow its queue),
// joins, and keeps sending (waiting for room) what lands meanwhile. It makes
// the subscriber live, under the hub's lock, only once the subscriber takes
// every queued event without waiting: a subscriber is dropped for falling
// behind live traffic, never for the backlog it resumed with.
func (s *Store) catchUp(ctx context.Context, tenantID, key string, cursor license.EventID, sub *subscriber, send func(context.Context, license.Event) bool) error {
	cursor, err := s.replay(ctx, tenantID, key, cursor, send)
	if err != nil {
		return err
	}
	if err := s.join(ctx, tenantID, sub); err != nil {
		return err
	}
	sendQueued := func(queued []license.Event) error {
		for _, ev := range queued {
			if id, _ := license.ParseEventID(ev.ID()); id.After(cursor) {
				cursor = id
				if !send(ctx, ev) {
					return errStop
				}
			}
		}
		return nil
	}
	for {
		if cursor, err = s.replay(ctx, tenantID, key, cursor, send); err != nil {
			return err
		}
		for {
			queued := sub.take()
			if len(queued) == 0 {
				break
			}
			if err := sendQueued(queued); err != nil {
				return err
			}
		}
		s.hub.mu.Lock()
		queued := sub.take() // what landed since; the reader can't add more while we hold the lock
		i := 0
		for ; i < len(queued); i++ {
			id, _ := license.ParseEventID(queued[i].ID())
			if !id.After(cursor) {
				continue
			}
			if !sub.offer(queued[i]) {
				break // no room yet: keep catching up
			}
			cursor = id
		}
		if i == len(queued) {
			sub.live, sub.cursor = true, cursor
			s.hub.mu.Unlock()
			return nil
		}
		s.hub.mu.Unlock()
		if err := sendQueued(queued[i:]); err != nil {
			return err
		}
	}
}

// replay sends the events after cursor up to the newest, in batches, and
// returns the id of the last one sent.
func (s *Store) replay(ctx context.Context, tenantID, key string, cursor license.EventID, send func(context.Context, license.Event) bool) (license.EventID, error) {
	for {
		msgs, err := s.rdb.XRangeN(ctx, key, "("+cursor.String(), "+", replayBatch).Result()
		if err != nil {
			return cursor, s.fail(err)
		}
		for _, m := range msgs {
			id, _ := license.ParseEventID(m.ID)
			cursor = id
			if !send(ctx, decodeEvent(tenantID, m)) {
				return cursor, errStop
			}
		}
		if len(msgs) < replayBatch {
			return cursor, nil
		}
	}
}

// quiet turns the end of a subscription by its own context or by send into nil.
func quiet(ctx context.Context, err error) error {
	if errors.Is(err, errStop) || ctx.Err() != nil {
		return nil
	}
	return err
}

// lastEventID returns the id of the newest event of a stream (0-0 when empty).
func (s *Store) lastEventID(ctx context.Context, key string) (license.EventID, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return license.EventID{}, s.fail(err)
	}
	if len(msgs) == 0 {
		return license.EventID{}, nil
	}
	return license.ParseEventID(msgs[0].ID)
}

// join registers a subscriber with the tenant's reader, starting the reader
// (from the stream's newest event) if the tenant had no subscriber here. The
// newest event is read before taking the hub's lock, so a slow Redis never
// holds up the fan-out of other tenants.
func (s *Store) join(ctx context.Context, tenantID string, sub *subscriber) error {
	key := s.keys(tenantID).events()
	start, err := s.lastEventID(ctx, key)
	if err != nil {
		return err
	}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if r := s.hub.readers[tenantID]; r != nil {
		r.subs[sub] = struct{}{}
		return nil
	}
	rctx, cancel := context.WithCancel(context.Background())
	r := &reader{tenantID: tenantID, cancel: cancel, subs: map[*subscriber]struct{}{sub: {}}}
	if s.hub.readers == nil {
		s.hub.readers = map[string]*reader{}
	}
	s.hub.readers[tenantID] = r
	go s.read(rctx, r, key, start)
	return nil
}

// leave unregisters a subscriber; the tenant's reader stops with the last one.
func (s *Store) leave(tenantID string, sub *subscriber) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	r := s.hub.readers[tenantID]
	if r == nil {
		return
	}
	delete(r.subs, sub)
	if len(r.subs) == 0 {
		r.cancel()
		delete(s.hub.readers, tenantID)
	}
}

// read follows a tenant's stream with XREAD BLOCK and hands each event to
// every subscriber without waiting: one whose buffer is full is dropped.
func (s *Store) read(ctx context.Context, r *reader, key string, from license.EventID) {
	last := from.String()
	for ctx.Err() == nil {
		res, err := s.streams.XRead(ctx, &redis.XReadArgs{Streams: []string{key, last}, Count: readBatch, Block: readBlock}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("event stream read failed; retrying", "tenant", r.tenantID, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(readBlock / 2):
			}
			continue
		}
		for _, st := range res {
			for _, m := range st.Messages {
				last = m.ID
				s.fanOut(r, decodeEvent(r.tenantID, m))
			}
		}
	}
}

func (s *Store) fanOut(r *reader, ev license.Event) {
	id, err := license.ParseEventID(ev.ID())
	if err != nil {
		return
	}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	for sub := range r.subs {
		switch {
		case !sub.live:
			if !sub.push(ev) {
				s.dropLocked(r.tenantID, sub)
			}
		case !id.After(sub.cursor):
			// Sent already by the subscriber's catch-up.
		case sub.offer(ev):
			sub.cursor = id
		default:
			s.dropLocked(r.tenantID, sub)
		}
	}
}

// dropLocked ends a subscriber that can't keep up. The hub's lock is held.
func (s *Store) dropLocked(tenantID string, sub *subscriber) {
	if r := s.hub.readers[tenantID]; r != nil {
		delete(r.subs, sub)
	}
	sub.dropped.Store(true)
	sub.cancel()
}
