// Package fanout hands the events of each topic (a tenant's event stream)
// to the topic's subscribers in this process: one follower of the topic
// while it has subscribers, a bounded buffer per subscriber, which is
// dropped when it overflows rather than holding up the others, and a
// handover from catching up on missed events to live ones that loses none
// and repeats none. Where events come from is a Source's job.
package fanout

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/autoclaim/autoclaim/license"
)

// Buffer is how many live events a subscriber may fall behind before it is
// dropped: the room a sink should have, and the bound of the queue of a
// subscriber that is catching up.
const Buffer = 256

// Source reads topics' events.
type Source interface {
	// Newest returns the id of a topic's newest event (zero when it has none).
	Newest(ctx context.Context, topic string) (license.EventID, error)
	// Replay hands send the topic's events after from, oldest first, up to
	// the newest, and returns the id of the last one it handed over (from
	// when none). It stops early when send returns false.
	Replay(ctx context.Context, topic string, from license.EventID, send func(license.Event) bool) (license.EventID, error)
	// Follow hands publish the topic's events after from, in order, as they
	// happen, until ctx ends.
	Follow(ctx context.Context, topic string, from license.EventID, publish func(license.Event))
}

// Sink takes a subscriber's events.
type Sink interface {
	// Offer hands over a live event without waiting; false when the sink
	// has no room, and the subscriber is dropped.
	Offer(license.Event) bool
	// Send hands over a missed event, waiting for room; false when ctx
	// ended first.
	Send(ctx context.Context, ev license.Event) bool
}

// Hub runs one follower per topic that has subscribers and hands its events
// to them. The zero Hub is not usable; call New.
type Hub struct {
	src  Source
	live atomic.Int64 // subscribers being served

	mu     sync.Mutex
	topics map[string]*topic
}

// topic is a followed topic and its subscribers.
type topic struct {
	name   string
	cancel context.CancelFunc // stops the follower
	subs   map[*Subscriber]struct{}
}

// New returns a hub whose topics' events come from src.
func New(src Source) *Hub {
	return &Hub{src: src, topics: map[string]*topic{}}
}

// Live returns how many subscribers the hub is serving.
func (h *Hub) Live() int { return int(h.live.Load()) }

// join adds a subscriber to its topic's fan-out, starting the topic's
// follower (from the topic's newest event) if the topic had no subscriber.
// The newest event is read before taking the hub's lock, so a slow source
// never holds up the fan-out of other topics.
func (h *Hub) join(ctx context.Context, sub *Subscriber) error {
	start, err := h.src.Newest(ctx, sub.topic)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[sub.topic]; t != nil {
		t.subs[sub] = struct{}{}
		return nil
	}
	fctx, cancel := context.WithCancel(context.Background())
	t := &topic{name: sub.topic, cancel: cancel, subs: map[*Subscriber]struct{}{sub: {}}}
	h.topics[sub.topic] = t
	go h.src.Follow(fctx, t.name, start, func(ev license.Event) { h.publish(t, ev) })
	return nil
}

// leave takes a subscriber out of its topic's fan-out; the topic's follower
// stops with the last one.
func (h *Hub) leave(sub *Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[sub.topic]
	if t == nil {
		return
	}
	delete(t.subs, sub)
	if len(t.subs) == 0 {
		t.cancel()
		delete(h.topics, sub.topic)
	}
}

// publish hands a live event to every subscriber of a topic without
// waiting: a subscriber still catching up gets it queued, a live one
// offered; one that has no room is dropped.
func (h *Hub) publish(t *topic, ev license.Event) {
	id, err := license.ParseEventID(ev.ID())
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range t.subs {
		switch {
		case !sub.live:
			if !sub.push(ev) {
				h.dropLocked(t, sub)
			}
		case !id.After(sub.cursor):
			// Sent already by the subscriber's catch-up.
		case sub.sink.Offer(ev):
			sub.cursor = id
		default:
			h.dropLocked(t, sub)
		}
	}
}

// dropLocked ends a subscriber that can't keep up. The hub's lock is held.
func (h *Hub) dropLocked(t *topic, sub *Subscriber) {
	delete(t.subs, sub)
	sub.dropped.Store(true)
	sub.cancel()
}
