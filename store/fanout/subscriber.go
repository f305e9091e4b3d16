package fanout

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/autoclaim/autoclaim/license"
)

// Subscriber is one subscription to a topic. While it catches up on missed
// events, the topic's follower queues live ones for it (memory only while it
// is behind); once caught up it is live and the follower offers each event
// straight to its sink, so an idle live subscriber runs no goroutine. A
// subscriber that falls Buffer events behind is dropped: marked, and its
// context cancelled, which ends a send that is blocked and ends the
// subscription.
type Subscriber struct {
	hub     *Hub
	topic   string
	sink    Sink
	cancel  context.CancelFunc // ends the subscriber
	dropped atomic.Bool

	ended     context.Context // done once finish ran
	markEnded context.CancelFunc
	finished  sync.Once
	err       error // why it ended; set before ended is done

	// Guarded by the hub's lock:
	live   bool            // offered events directly, else queued
	cursor license.EventID // last event delivered (once live)

	mu    sync.Mutex // guards queue
	queue []license.Event
}

// Subscribe starts a subscriber of a topic. It hands sink the topic's events
// after cursor: the missed ones (waiting for room), then the live ones (not
// waiting), each once and in order, until ctx ends, Close is called or it
// is dropped.
func (h *Hub) Subscribe(ctx context.Context, topic string, cursor license.EventID, sink Sink) *Subscriber {
	ctx, cancel := context.WithCancel(ctx)
	ended, markEnded := context.WithCancel(context.Background())
	sub := &Subscriber{hub: h, topic: topic, sink: sink, cancel: cancel, ended: ended, markEnded: markEnded}
	h.live.Add(1)
	go func() {
		if err := h.catchUp(ctx, sub, cursor); err != nil || ctx.Err() != nil {
			sub.finish(ctx, err)
			return
		}
		// Live: the follower offers events; the subscriber ends when its
		// context does (the consumer left, or the hub dropped it).
		context.AfterFunc(ctx, func() { sub.finish(ctx, nil) })
	}()
	return sub
}

// Context is done once the subscriber has ended; the hub hands its sink
// nothing more.
func (sub *Subscriber) Context() context.Context { return sub.ended }

// Err says why the subscriber ended, once Context is done: nil when its
// context ended or Close was called, EUNAVAILABLE when it was dropped, or
// the source's error when catching up failed.
func (sub *Subscriber) Err() error {
	select {
	case <-sub.ended.Done():
		return sub.err
	default:
		return nil
	}
}

// Close ends the subscriber, if it has not ended, and returns once the hub
// hands its sink nothing more.
func (sub *Subscriber) Close() {
	sub.cancel()
	<-sub.ended.Done()
}

// finish ends the subscriber once: out of the fan-out, then ended.
func (sub *Subscriber) finish(ctx context.Context, err error) {
	sub.finished.Do(func() {
		sub.hub.leave(sub) // after this the follower offers it nothing more
		sub.cancel()
		sub.hub.live.Add(-1)
		switch {
		case sub.dropped.Load():
			err = license.Errorf(license.EUNAVAILABLE, "This subscription fell more than %d events behind and was ended; subscribe again with after set to the last event id you received to resume.", Buffer)
		case ctx.Err() != nil:
			err = nil // its own end, not a failure
		}
		sub.err = err
		sub.markEnded()
	})
}

// push queues an event; false when the subscriber is Buffer behind.
func (sub *Subscriber) push(ev license.Event) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.queue) >= Buffer {
		return false
	}
	sub.queue = append(sub.queue, ev)
	return true
}

// take empties the queue.
func (sub *Subscriber) take() []license.Event {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	q := sub.queue
	sub.queue = nil
	return q
}

// catchUp sends the subscriber what it missed since cursor before taking a
// place in the live fan-out (so a long catch-up can't overflow its queue),
// joins, and keeps sending (waiting for room) what lands meanwhile. It makes
// the subscriber live, under the hub's lock, only once the sink takes every
// queued event without waiting: a subscriber is dropped for falling behind
// live events, never for the backlog it resumed with.
func (h *Hub) catchUp(ctx context.Context, sub *Subscriber, cursor license.EventID) error {
	send := func(ev license.Event) bool { return sub.sink.Send(ctx, ev) }
	cursor, err := h.src.Replay(ctx, sub.topic, cursor, send)
	if err != nil || ctx.Err() != nil {
		return err
	}
	if err := h.join(ctx, sub); err != nil {
		return err
	}
	sendQueued := func(queued []license.Event) bool {
		for _, ev := range queued {
			if id, _ := license.ParseEventID(ev.ID()); id.After(cursor) {
				cursor = id
				if !send(ev) {
					return false
				}
			}
		}
		return true
	}
	for {
		if cursor, err = h.src.Replay(ctx, sub.topic, cursor, send); err != nil || ctx.Err() != nil {
			return err
		}
		for queued := sub.take(); len(queued) > 0; queued = sub.take() {
			if !sendQueued(queued) {
				return nil
			}
		}
		h.mu.Lock()
		queued := sub.take() // what landed since; the follower can't add more while we hold the lock
		i := 0
		for ; i < len(queued); i++ {
			id, _ := license.ParseEventID(queued[i].ID())
			if !id.After(cursor) {
				continue
			}
			if !sub.sink.Offer(queued[i]) {
				break // no room yet: keep catching up
			}
			cursor = id
		}
		if i == len(queued) {
			sub.live, sub.cursor = true, cursor
			h.mu.Unlock()
			return nil
		}
		h.mu.Unlock()
		if !sendQueued(queued[i:]) {
			return nil
		}
	}
}
