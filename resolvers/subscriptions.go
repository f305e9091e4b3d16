package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/autoclaim/autoclaim/license"
)

// stream hands a subscription's events to gqlgen. The channel closes when
// the subscription ends; when it ends because of an error (a subscriber too
// slow to keep up), websocket clients receive that error before the channel
// closes. On shutdown the stream ends cleanly: clients get "complete".
// Nothing of ours waits while a subscription is idle: the end is handled in
// context.AfterFunc.
func stream[T any](ctx context.Context, r *Resolver, sub license.Subscription[T], err error) (<-chan T, error) {
	if err != nil {
		return nil, err
	}
	stopShutdown := func() bool { return false }
	if r.Shutdown != nil {
		stopShutdown = context.AfterFunc(r.Shutdown, sub.Close)
	}
	context.AfterFunc(sub.Context(), func() {
		stopShutdown()
		if err := sub.Err(); err != nil && ctx.Err() == nil { // a client that left has no use for the error
			r.subscriptionError(ctx, err)
		}
		sub.Close()
	})
	return sub.Events(), nil
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
