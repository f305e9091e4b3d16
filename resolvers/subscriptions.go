package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/autoclaim/autoclaim/license"
)

// subscribe streams the tenant's events that pick selects into a channel for
// gqlgen. The channel closes when the subscription ends; when it ends because
// of an error (a subscriber too slow to keep up), websocket clients receive
// that error before the channel closes.
func subscribe[T any](ctx context.Context, r *Resolver, tenantID, after string, pick func(license.Event) (T, bool)) (<-chan T, error) {
	out := make(chan T, license.EventBuffer)
	streamCtx, cancel := context.WithCancel(ctx)
	end := cancel
	if r.Shutdown != nil {
		// On shutdown the stream ends cleanly: clients get "complete".
		stop := context.AfterFunc(r.Shutdown, cancel)
		end = func() { stop(); cancel() }
	}
	send := func(sendCtx context.Context, ev license.Event) bool {
		v, ok := pick(ev)
		if !ok {
			return true
		}
		select {
		case out <- v:
			return true
		case <-sendCtx.Done():
			return false
		}
	}
	offer := func(ev license.Event) bool {
		v, ok := pick(ev)
		if !ok {
			return true
		}
		select {
		case out <- v:
			return true
		default:
			return false
		}
	}
	done := func(err error) {
		end()
		if err != nil && ctx.Err() == nil { // a client that left has no use for the error
			r.subscriptionError(ctx, err)
		}
		close(out)
	}
	if err := r.Service.Subscribe(streamCtx, tenantID, after, send, offer, done); err != nil {
		end()
		return nil, err
	}
	return out, nil
}

// subscriptionError hands err, presented as every error is, to a websocket
// subscription; other transports (SSE) have no place for it and just end.
func (r *Resolver) subscriptionError(ctx context.Context, err error) {
	if ctx.Value(websocketKey{}) != nil {
		transport.AddSubscriptionError(ctx, ErrorPresenter(r.Log)(ctx, err))
	}
}

type websocketKey struct{}

// WithWebsocket marks a context as a websocket connection's (from the
// transport's InitFunc), whose subscriptions can end with an error.
func WithWebsocket(ctx context.Context) context.Context {
	return context.WithValue(ctx, websocketKey{}, true)
}
