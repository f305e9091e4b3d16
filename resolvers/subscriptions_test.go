package resolvers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/graph"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/resolvers"
)

// feed is a license.Subscription the test drives: it delivers what the
// test sends and ends when the test says.
type feed struct {
	events    chan *license.ClaimEvent
	ctx       context.Context
	end       context.CancelFunc
	err       error
	closeOnce sync.Once
	closed    chan struct{}
}

func newFeed() *feed {
	ctx, end := context.WithCancel(context.Background())
	return &feed{events: make(chan *license.ClaimEvent, 1), ctx: ctx, end: end, closed: make(chan struct{})}
}

func (f *feed) Events() <-chan *license.ClaimEvent { return f.events }
func (f *feed) Context() context.Context           { return f.ctx }
func (f *feed) Err() error                         { <-f.ctx.Done(); return f.err }
func (f *feed) Close() {
	f.end()
	f.closeOnce.Do(func() { close(f.events); close(f.closed) })
}

// endWith ends the feed by itself, as a subscriber that fell behind ends.
func (f *feed) endWith(err error) {
	f.err = err
	f.end()
}

// feedService serves claimEvents from feeds the test holds; nothing else.
type feedService struct {
	license.Service
	feeds chan *feed
}

func (s *feedService) SubscribeClaims(ctx context.Context, _, _, _ string) (license.Subscription[*license.ClaimEvent], error) {
	f := newFeed()
	context.AfterFunc(ctx, f.Close) // the consumer left
	s.feeds <- f
	return f, nil
}

// feedServer serves the schema over websockets on the feeds, with every
// caller let through; shutdown, when done, completes subscriptions.
func feedServer(t *testing.T, shutdown context.Context) (*httptest.Server, *feedService) {
	t.Helper()
	svc := &feedService{feeds: make(chan *feed, 1)}
	log := slog.New(slog.DiscardHandler)
	cfg := graph.Config{Resolvers: &resolvers.Resolver{Service: svc, Log: log, Shutdown: shutdown}}
	cfg.Directives.HasRole = func(ctx context.Context, _ any, next graphql.Resolver, _ []auth.Role) (any, error) { return next(ctx) }
	cfg.Directives.TenantScoped = func(ctx context.Context, _ any, next graphql.Resolver) (any, error) { return next(ctx) }
	srv := handler.New(graph.NewExecutableSchema(cfg))
	srv.AddTransport(transport.Websocket{InitFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		return resolvers.WithWebsocket(ctx), nil, nil
	}})
	srv.SetErrorPresenter(resolvers.ErrorPresenter(log))
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts, svc
}

type message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscribeOverWebsocket opens a graphql-transport-ws connection and subscribes to claimEvents.
func subscribeOverWebsocket(t *testing.T, ts *httptest.Server) (context.Context, *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	for _, m := range []message{{Type: "connection_init"}, {ID: "1", Type: "subscribe",
		Payload: json.RawMessage(`{"query": "subscription { claimEvents(tenantId: \"t1\") { id userId } }"}`)}} {
		if err := wsjson.Write(ctx, conn, m); err != nil {
			t.Fatal(err)
		}
	}
	if m := read(t, ctx, conn); m.Type != "connection_ack" {
		t.Fatalf("got %s; want connection_ack", m.Type)
	}
	return ctx, conn
}

func read(t *testing.T, ctx context.Context, conn *websocket.Conn) message {
	t.Helper()
	var m message
	if err := wsjson.Read(ctx, conn, &m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// TestSubscriptionEnds: a websocket client gets each event; a subscription
// that ends with an error (the subscriber fell behind) reaches the client as
// that error; one ended by shutdown completes; one the client leaves is
// closed.
func TestSubscriptionEnds(t *testing.T) {
	t.Run("ErrorBeforeTheEnd", func(t *testing.T) {
		ts, svc := feedServer(t, nil)
		ctx, conn := subscribeOverWebsocket(t, ts)
		f := <-svc.feeds
		f.events <- &license.ClaimEvent{ID: "1-0", UserID: "megan"}
		if m := read(t, ctx, conn); m.Type != "next" || !strings.Contains(string(m.Payload), `"userId":"megan"`) {
			t.Fatalf("got %s %s; want the event", m.Type, m.Payload)
		}
		f.endWith(license.Errorf(license.EUNAVAILABLE, "This subscription fell behind."))
		m := read(t, ctx, conn)
		var errs []struct {
			Message    string
			Extensions map[string]any
		}
		json.Unmarshal(m.Payload, &errs)
		if m.Type != "error" || len(errs) != 1 || errs[0].Extensions["code"] != license.EUNAVAILABLE || errs[0].Message != "This subscription fell behind." {
			t.Fatalf("got %s %s; want the UNAVAILABLE error", m.Type, m.Payload)
		}
		<-f.closed
	})
	t.Run("ShutdownCompletes", func(t *testing.T) {
		shutdown, stop := context.WithCancel(context.Background())
		ts, svc := feedServer(t, shutdown)
		ctx, conn := subscribeOverWebsocket(t, ts)
		f := <-svc.feeds
		stop()
		if m := read(t, ctx, conn); m.Type != "complete" || m.ID != "1" {
			t.Fatalf("got %s %s; want complete", m.Type, m.ID)
		}
		<-f.closed
	})
	t.Run("ClientLeaves", func(t *testing.T) {
		ts, svc := feedServer(t, nil)
		ctx, conn := subscribeOverWebsocket(t, ts)
		f := <-svc.feeds
		if err := wsjson.Write(ctx, conn, message{ID: "1", Type: "complete"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-f.closed:
		case <-ctx.Done():
			t.Fatal("the subscription was not closed after the client left")
		}
	})
}
