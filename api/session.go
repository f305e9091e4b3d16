package api

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// closeExpired is the websocket close code of a connection whose token
// expired (graphql-transport-ws's Forbidden).
const closeExpired = 4403

// wsSession is one websocket connection: its caller's token ends it (close
// 4403 when it expires), and it counts its subscriptions.
type wsSession struct {
	expired atomic.Bool
	subs    atomic.Int32
}

type wsSessionKey struct{}

// wsSessionFrom returns the websocket connection a context belongs to, or nil.
func wsSessionFrom(ctx context.Context) *wsSession {
	s, _ := ctx.Value(wsSessionKey{}).(*wsSession)
	return s
}

// sessionWebsocket accepts websocket connections whose close code becomes
// 4403 once their session expired.
type sessionWebsocket struct {
	transport.CoderWebsocketImplementation
}

// Accept implements transport.WebsocketImplementation.
func (s sessionWebsocket) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := s.CoderWebsocketImplementation.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	sess := wsSessionFrom(r.Context())
	if sess == nil {
		return conn, nil
	}
	return &sessionConn{WebsocketConn: conn, sess: sess}, nil
}

// withWSSession gives every websocket upgrade request its session.
func withWSSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			r = r.WithContext(context.WithValue(r.Context(), wsSessionKey{}, &wsSession{}))
		}
		next.ServeHTTP(w, r)
	})
}

// sessionConn is a websocket connection that closes with 4403 when its
// session expired.
type sessionConn struct {
	transport.WebsocketConn
	sess *wsSession
}

// WriteClose implements transport.WebsocketConn.
func (c *sessionConn) WriteClose(code int, msg string) error {
	if c.sess.expired.Load() {
		code, msg = closeExpired, "the bearer token expired"
	}
	return c.WebsocketConn.WriteClose(code, msg)
}

// SetReadLimit passes the transport's read limit on.
func (c *sessionConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

// SetReadDeadline passes the transport's ping-pong deadline on.
func (c *sessionConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

// endAtExpiry returns a context that ends when the caller's token expires,
// marking the websocket session (if any) so that it closes with 4403.
func endAtExpiry(ctx context.Context, c *auth.Caller) context.Context {
	if c.Expires.IsZero() {
		return ctx
	}
	ctx, cancel := context.WithCancel(ctx)
	sess := wsSessionFrom(ctx)
	timer := time.AfterFunc(time.Until(c.Expires), func() {
		if sess != nil {
			sess.expired.Store(true)
		}
		cancel()
	})
	context.AfterFunc(ctx, func() { timer.Stop() })
	return ctx
}

// subscriptionLimiter caps live subscriptions per websocket connection and
// per caller across this instance.
type subscriptionLimiter struct {
	perConnection, perCaller int

	mu       sync.Mutex
	byCaller map[string]int
}

func newSubscriptionLimiter(perConnection, perCaller int) *subscriptionLimiter {
	return &subscriptionLimiter{perConnection: perConnection, perCaller: perCaller, byCaller: map[string]int{}}
}

// AcquireSubscription takes a place for a subscription of c made on ctx's
// connection, given back when ctx ends. Returns ERATELIMITED when the
// connection or the caller has as many as it may.
func (l *subscriptionLimiter) AcquireSubscription(ctx context.Context, c *auth.Caller) error {
	sess := wsSessionFrom(ctx)
	if sess != nil && int(sess.subs.Add(1)) > l.perConnection {
		sess.subs.Add(-1)
		return license.Errorf(license.ERATELIMITED, "This connection has %d subscriptions, the most one may have; end one first or open another connection.", l.perConnection)
	}
	key := c.Key()
	l.mu.Lock()
	if l.byCaller[key] >= l.perCaller {
		l.mu.Unlock()
		if sess != nil {
			sess.subs.Add(-1)
		}
		return license.Errorf(license.ERATELIMITED, "You have %d live subscriptions, the most a caller may have; end one first.", l.perCaller)
	}
	l.byCaller[key]++
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		if sess != nil {
			sess.subs.Add(-1)
		}
		l.mu.Lock()
		if l.byCaller[key]--; l.byCaller[key] == 0 {
			delete(l.byCaller, key)
		}
		l.mu.Unlock()
	})
	return nil
}
