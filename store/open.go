package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.opentelemetry.io/otel/trace"

	"github.com/autoclaim/autoclaim/license"
)

// Options say which Redis a Store opens and how.
type Options struct {
	// URL is redis://host:port/db of one Redis (or a primary). Empty, with no
	// Cluster, starts an in-process Redis (miniredis) whose data is lost when
	// the Store closes.
	URL string
	// Cluster lists host:port of Redis Cluster nodes (instead of URL).
	Cluster []string
	// PoolSize is the command connections per node (0: DefaultPoolSize); a
	// pool_size in URL wins.
	PoolSize int
	// Prefix starts every key (DefaultPrefix when empty).
	Prefix  string
	Catalog *license.Catalog
	// Log receives go-redis's own log lines and failures the store can't
	// return (stream reads). Nil discards them.
	Log *slog.Logger
	// AuditRetention is how long audit entries are kept
	// (license.DefaultAuditRetention when 0).
	AuditRetention time.Duration
	// CommandFailed, when set, is told the name of every Redis command that
	// failed (connection errors, timeouts, server errors); the store's own
	// script answers (a denial, a conflict) and "no such key" are not failures.
	CommandFailed func(command string)
	// CommandTook, when set, is told how long each command took. Both hooks
	// see the command client only: the stream readers' blocking reads are
	// neither timed nor traced.
	CommandTook func(command string, d time.Duration)
	// OnFlow, when set, is told of the licenses each piece of work gave to
	// waiting users and reclaimed (see Store.OnFlow).
	OnFlow func(filled, reclaimed int)
	// TracerProvider, when set, traces every command: one span per command
	// (or pipeline), named after it, without its arguments. Nil: no tracing,
	// at no cost.
	TracerProvider trace.TracerProvider
}

// DefaultPoolSize is the number of command connections per Redis node.
const DefaultPoolSize = 128

// Timeouts of the command client: a Redis that stops answering turns calls
// into EUNAVAILABLE within about three seconds.
const (
	dialTimeout = 2 * time.Second
	ioTimeout   = 2 * time.Second
	poolTimeout = 3 * time.Second
)

// Buffers: most tenants with live subscribers on one instance hold one
// blocking stream read each, on small buffers; commands and replies are
// small (a replay reads in chunks), so 8 KiB instead of go-redis's 32 KiB
// keeps a large pool cheap.
const (
	streamReaders     = 4096
	streamReadBuffer  = 4 << 10
	streamWriteBuffer = 1 << 10
	commandBuffer     = 8 << 10
)

// Open connects to the Redis opts names, or starts an in-process one, and
// returns a Store on it. Commands are never retried by the client: a write
// script whose reply was lost may have run, and running it again would
// answer wrongly; callers see EUNAVAILABLE and retry with an idempotency key.
// The Store keeps two clients on the same Redis: one for commands, and one
// whose pool holds the stream readers' blocking reads, so that readers never
// starve commands of connections. Close releases both (and stops the
// in-process Redis).
func Open(opts Options) (*Store, error) {
	if opts.URL != "" && len(opts.Cluster) > 0 {
		return nil, errors.New("store: a Redis URL or a cluster, not both")
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = DefaultPoolSize
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	redis.SetLogger(redisLogs{log})
	var (
		rdb, streams redis.UniversalClient
		closers      []func() error
	)
	switch {
	case len(opts.Cluster) > 0:
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: opts.Cluster, MaxRetries: -1, PoolSize: opts.PoolSize,
			ReadBufferSize: commandBuffer, WriteBufferSize: commandBuffer,
			DialTimeout: dialTimeout, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout, PoolTimeout: poolTimeout})
		streams = redis.NewClusterClient(&redis.ClusterOptions{Addrs: opts.Cluster, PoolSize: streamReaders,
			ReadBufferSize: streamReadBuffer, WriteBufferSize: streamWriteBuffer, MaintNotificationsConfig: noMaintNotifications})
	case opts.URL != "":
		o, err := redis.ParseURL(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("store: Redis URL: %w", err)
		}
		o.MaxRetries = -1
		if o.PoolSize == 0 {
			o.PoolSize = opts.PoolSize
		}
		o.ReadBufferSize, o.WriteBufferSize = commandBuffer, commandBuffer
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = dialTimeout, ioTimeout, ioTimeout, poolTimeout
		rdb = redis.NewClient(o)
		so := *o
		so.PoolSize, so.ReadBufferSize, so.WriteBufferSize = streamReaders, streamReadBuffer, streamWriteBuffer
		so.MaintNotificationsConfig = noMaintNotifications
		streams = redis.NewClient(&so)
	default:
		// The in-process Redis listens on loopback only, behind a random
		// password: other local users can't reach the pools.
		mr := miniredis.NewMiniRedis()
		password := randomID(32)
		mr.RequireAuth(password)
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("store: start the in-process Redis: %w", err)
		}
		closers = append(closers, func() error { mr.Close(); return nil })
		rdb = redis.NewClient(&redis.Options{Addr: mr.Addr(), Password: password, MaxRetries: -1, PoolSize: opts.PoolSize,
			ReadBufferSize: commandBuffer, WriteBufferSize: commandBuffer})
		streams = redis.NewClient(&redis.Options{Addr: mr.Addr(), Password: password, PoolSize: streamReaders,
			ReadBufferSize: streamReadBuffer, WriteBufferSize: streamWriteBuffer, MaintNotificationsConfig: noMaintNotifications})
	}
	if opts.CommandFailed != nil || opts.CommandTook != nil {
		rdb.AddHook(commandHook{failed: opts.CommandFailed, took: opts.CommandTook})
	}
	s := New(rdb, opts.Catalog, opts.Prefix)
	if opts.AuditRetention > 0 {
		s.AuditRetention = opts.AuditRetention
	}
	s.OnFlow = opts.OnFlow
	s.SetStreamClient(streams)
	s.SetLogger(log)
	s.closers = append([]func() error{rdb.Close, streams.Close}, closers...)
	if opts.TracerProvider != nil {
		// Keys and arguments stay out of spans (user ids are personal data),
		// and so do dials (go-redis logs a failed one).
		if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(opts.TracerProvider),
			redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false), redisotel.WithDialFilter(true)); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: trace Redis commands: %w", err)
		}
		// An auto-pipelined batch has no one request's trace: traced
		// claims go one by one, each its own span under its request.
		s.claims = rdb
	}
	return s, nil
}

// Close closes the connections of a Store made by Open, and stops its
// in-process Redis. Live subscriptions end.
func (s *Store) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// redisLogs sends go-redis's own log lines (failed dials, pool trouble) to
// the store's log.
type redisLogs struct{ log *slog.Logger }

func (l redisLogs) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// noMaintNotifications turns off go-redis's handling of maintenance
// notifications (a Redis Enterprise feature) for the stream readers' pool,
// whose hand-off queue would otherwise grow with the pool's size.
var noMaintNotifications = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
