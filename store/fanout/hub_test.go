package fanout_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store/fanout"
)

// memory is a Source of events kept in memory: a log per topic.
type memory struct {
	mu        sync.Mutex
	logs      map[string][]license.Event
	appended  chan struct{} // closed and replaced on every append
	following map[string]int
	followed  chan struct{} // closed and replaced when a follower starts or stops
}

func newMemory() *memory {
	return &memory{logs: map[string][]license.Event{}, appended: make(chan struct{}), following: map[string]int{},
		followed: make(chan struct{})}
}

// follow counts a follower of a topic in (+1) or out (-1).
func (m *memory) follow(topic string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.following[topic] += n
	close(m.followed)
	m.followed = make(chan struct{})
}

// append adds n events to a topic's log; the i-th event of a topic has id i-0.
func (m *memory) append(topic string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		id := fmt.Sprintf("%d-0", len(m.logs[topic])+1)
		m.logs[topic] = append(m.logs[topic], license.Event{Claim: &license.ClaimEvent{ID: id, TenantID: topic}})
	}
	close(m.appended)
	m.appended = make(chan struct{})
}

// after returns a topic's events after from, and a channel closed on the next append.
func (m *memory) after(topic string, from license.EventID) ([]license.Event, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	log := m.logs[topic]
	return log[min(int(from.MS), len(log)):], m.appended
}

func (m *memory) Newest(_ context.Context, topic string) (license.EventID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return license.EventID{MS: uint64(len(m.logs[topic]))}, nil
}

func (m *memory) Replay(_ context.Context, topic string, from license.EventID, send func(license.Event) bool) (license.EventID, error) {
	events, _ := m.after(topic, from)
	for _, ev := range events {
		from, _ = license.ParseEventID(ev.ID())
		if !send(ev) {
			break
		}
	}
	return from, nil
}

func (m *memory) Follow(ctx context.Context, topic string, from license.EventID, publish func(license.Event)) {
	m.follow(topic, 1)
	defer m.follow(topic, -1)
	for {
		events, more := m.after(topic, from)
		for _, ev := range events {
			from, _ = license.ParseEventID(ev.ID())
			publish(ev)
		}
		select {
		case <-ctx.Done():
			return
		case <-more:
		}
	}
}

// waitFollowers waits until each topic has the given number of followers,
// failing after a generous bound.
func (m *memory) waitFollowers(t *testing.T, want map[string]int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		m.mu.Lock()
		got := map[string]int{}
		for topic := range want {
			got[topic] = m.following[topic]
		}
		changed := m.followed
		m.mu.Unlock()
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("followers %v; want %v", got, want)
		}
	}
}

// sink is a fanout.Sink: a channel with room for some events; it counts
// the events that were offered (live) rather than sent (caught up on).
type sink struct {
	ch      chan license.Event
	offered atomic.Int64
}

func newSink(room int) *sink { return &sink{ch: make(chan license.Event, room)} }

func (s *sink) Offer(ev license.Event) bool {
	select {
	case s.ch <- ev:
		s.offered.Add(1)
		return true
	default:
		return false
	}
}

func (s *sink) Send(ctx context.Context, ev license.Event) bool {
	select {
	case s.ch <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// receive takes n events from a sink, in order, failing after a generous bound.
func receive(t *testing.T, s *sink, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		select {
		case ev := <-s.ch:
			ids = append(ids, ev.ID())
		case <-time.After(10 * time.Second):
			t.Fatalf("got %v; want %d events", ids, n)
		}
	}
	return ids
}

// goLive publishes events to a topic, taking each from every sink, until
// each sink was offered one: its subscriber has caught up and is live.
func goLive(t *testing.T, src *memory, topic string, sinks ...*sink) {
	t.Helper()
	for i := 0; ; i++ {
		live := true
		for _, s := range sinks {
			live = live && s.offered.Load() > 0
		}
		if live {
			return
		}
		if i == 1000 {
			t.Fatal("the subscribers never went live")
		}
		src.append(topic, 1)
		for _, s := range sinks {
			receive(t, s, 1)
		}
	}
}

func ids(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%d-0", i))
	}
	return out
}

// wantEnd waits for a subscriber's end and checks why it ended.
func wantEnd(t *testing.T, sub *fanout.Subscriber, code string) {
	t.Helper()
	select {
	case <-sub.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber did not end")
	}
	if got := license.ErrorCode(sub.Err()); got != code {
		t.Fatalf("ended with %v; want code %q", sub.Err(), code)
	}
}

// TestCatchUpThenLive: a subscriber gets the events after its cursor, then
// those published while and after it caught up, once each and in order.
func TestCatchUpThenLive(t *testing.T) {
	src := newMemory()
	h := fanout.New(src)
	src.append("t1", 5)
	s := newSink(fanout.Buffer)
	sub := h.Subscribe(context.Background(), "t1", license.EventID{MS: 2}, s)
	defer sub.Close()
	src.append("t1", 3)
	if got := receive(t, s, 6); fmt.Sprint(got) != fmt.Sprint(ids(3, 8)) {
		t.Fatalf("got %v; want %v", got, ids(3, 8))
	}
	src.append("t1", 2)
	if got := receive(t, s, 2); fmt.Sprint(got) != fmt.Sprint(ids(9, 10)) {
		t.Fatalf("got %v; want %v", got, ids(9, 10))
	}
}

// TestBacklogLargerThanTheBuffer: a subscriber resuming with more missed
// events than fit its buffer gets them all, waiting for room, and is not dropped.
func TestBacklogLargerThanTheBuffer(t *testing.T) {
	src := newMemory()
	h := fanout.New(src)
	src.append("t1", 3*fanout.Buffer)
	s := newSink(0) // no room: every event waits for the reader
	sub := h.Subscribe(context.Background(), "t1", license.EventID{}, s)
	defer sub.Close()
	if got := receive(t, s, 3*fanout.Buffer); fmt.Sprint(got) != fmt.Sprint(ids(1, 3*fanout.Buffer)) {
		t.Fatalf("the backlog came as %v", got)
	}
	if err := sub.Err(); err != nil {
		t.Fatalf("Err = %v while running", err)
	}
}

// TestSlowSubscriberIsDropped: a live subscriber with no room left is
// dropped with EUNAVAILABLE; another of the topic gets every event.
func TestSlowSubscriberIsDropped(t *testing.T) {
	src := newMemory()
	h := fanout.New(src)
	slow, fast := newSink(1), newSink(fanout.Buffer)
	slowSub := h.Subscribe(context.Background(), "t1", license.EventID{}, slow)
	fastSub := h.Subscribe(context.Background(), "t1", license.EventID{}, fast)
	defer fastSub.Close()
	goLive(t, src, "t1", slow, fast)
	src.append("t1", fanout.Buffer) // the slow one takes none of them
	if got := receive(t, fast, fanout.Buffer); len(got) != fanout.Buffer {
		t.Fatalf("the fast subscriber got %v", got)
	}
	wantEnd(t, slowSub, license.EUNAVAILABLE)
	if h.Live() != 1 {
		t.Fatalf("Live = %d; want 1 once the slow subscriber was dropped", h.Live())
	}
}

// TestOneFollowerPerTopic: a topic is followed while it has subscribers,
// once however many it has; ending one (Close or its context) leaves the
// others, and the follower stops with the last.
func TestOneFollowerPerTopic(t *testing.T) {
	src := newMemory()
	h := fanout.New(src)
	ctx, cancel := context.WithCancel(context.Background())
	a := h.Subscribe(ctx, "t1", license.EventID{}, newSink(fanout.Buffer))
	bSink := newSink(fanout.Buffer)
	b := h.Subscribe(context.Background(), "t1", license.EventID{}, bSink)
	other := h.Subscribe(context.Background(), "t2", license.EventID{}, newSink(fanout.Buffer))
	src.append("t1", 1)
	receive(t, bSink, 1)
	src.waitFollowers(t, map[string]int{"t1": 1, "t2": 1})
	if h.Live() != 3 {
		t.Fatalf("Live = %d; want 3", h.Live())
	}

	cancel()
	wantEnd(t, a, "")
	src.append("t1", 1)
	if got := receive(t, bSink, 1); got[0] != "2-0" {
		t.Fatalf("the subscriber left got %v; want 2-0", got)
	}
	b.Close()
	wantEnd(t, b, "")
	src.waitFollowers(t, map[string]int{"t1": 0, "t2": 1})
	if h.Live() != 1 {
		t.Fatalf("Live = %d; want 1", h.Live())
	}
	other.Close()
	src.waitFollowers(t, map[string]int{"t1": 0, "t2": 0})
}
