//go:generate go tool gqlgen generate

// Command autoclaim serves the auto-claim license policy API: one binary,
// Redis behind it. With no Redis configured it runs an in-process Redis and
// seeds demo tenants, so `go run .` works on a fresh machine.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "autoclaim:", err)
		os.Exit(1)
	}
}

// run starts the server and blocks until ctx is done, then shuts down.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	redis.SetLogger(redisLogs{log})

	catalog := license.BuiltinCatalog()
	if cfg.CatalogFile != "" {
		if catalog, err = extendCatalog(catalog, cfg.CatalogFile); err != nil {
			return err
		}
	}

	rdb, streams, closeRedis, err := openRedis(cfg)
	if err != nil {
		return err
	}
	defer closeRedis()
	st := store.New(rdb, catalog, cfg.RedisPrefix)
	m := newMetrics(st.LiveSubscriptions)
	rdb.AddHook(m.redisHook())
	st.SetStreamClient(streams)
	st.SetLogger(log)
	if err := st.LoadScripts(ctx); err != nil {
		// Not fatal: /readyz says 503 and loads them once Redis answers.
		log.WarnContext(ctx, "could not load scripts into Redis", "err", err)
	}
	if cfg.Demo {
		if err := seedDemo(ctx, st); err != nil {
			return err
		}
	}

	secret := []byte(cfg.JWTSecret)
	printTokens := len(secret) == 0
	if printTokens {
		secret = make([]byte, 32)
		rand.Read(secret)
		if !cfg.embedded() {
			log.Warn("AUTOCLAIM_JWT_SECRET is empty: this instance signs and accepts only its own random demo tokens; set the same secret on every instance")
		}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	base := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "autoclaim listening on %s/graphql\n", base)
	if cfg.Console {
		fmt.Fprintf(stdout, "Console: %s/\n", base)
	}
	if cfg.GraphiQL {
		fmt.Fprintf(stdout, "GraphiQL: %s/graphiql\n", base)
	}
	if cfg.embedded() {
		fmt.Fprintln(stdout, "Redis: embedded in-process (data is lost when the server stops)")
	}
	if printTokens {
		tokens, err := issueDemoTokens(secret, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "export AUTOCLAIM_URL=%s/graphql\n", base)
		printDemoTokens(stdout, tokens)
		if cfg.Console {
			fmt.Fprintf(stdout, "Sign in to the console as the Contoso admin: %s/#token=%s\n", base, tokens[1].token) // ADMIN_TOKEN
		}
	}

	subscriptions, endSubscriptions := context.WithCancel(context.Background())
	defer endSubscriptions()
	srv := &http.Server{
		Handler: NewServer(serverDeps{
			Service: st, Ready: st, Verifier: auth.NewVerifier(secret, nil), Log: log, GraphiQL: cfg.GraphiQL, Console: cfg.Console,
			Shutdown: subscriptions, AllowedOrigins: cfg.AllowedOrigins, Metrics: m, CORSOrigins: cfg.CORSOrigins,
			Introspection: cfg.Introspection, Limits: cfg.Limits, MaxComplexity: cfg.MaxComplexity, MaxTokens: cfg.MaxTokens,
		}),
		// No read or write timeout: websockets and SSE streams live long.
		// Slow clients are bounded by the header timeout and the body limit.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.DebugAddr != "" {
		dln, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("AUTOCLAIM_DEBUG_ADDR: %w", err)
		}
		dsrv := &http.Server{Handler: newDebugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go dsrv.Serve(dln)
		defer dsrv.Close()
		fmt.Fprintf(stdout, "debug endpoints on http://%s/debug/\n", dln.Addr())
	}
	srv.RegisterOnShutdown(endSubscriptions)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newLogger logs text for a developer's embedded run and JSON otherwise,
// each line with the request id of the request it is about.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	if cfg.embedded() {
		return slog.New(requestIDLogs{slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})})
	}
	return slog.New(requestIDLogs{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})})
}

func extendCatalog(c *license.Catalog, file string) (*license.Catalog, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("AUTOCLAIM_CATALOG: %w", err)
	}
	ext, err := c.ExtendWith(data)
	if err != nil {
		return nil, fmt.Errorf("AUTOCLAIM_CATALOG %s: %w", file, err)
	}
	return ext, nil
}

// openRedis connects to the configured Redis, or starts an in-process one.
// Commands are never retried by the client: a write script whose reply was
// lost may have run, and running it again would answer wrongly. Callers see
// UNAVAILABLE and retry with an idempotency key instead.
// It returns two clients on the same Redis: one for commands, and one whose
// pool holds the stream readers' blocking XREADs (one per tenant with live
// subscribers), so that readers never starve commands of connections.
func openRedis(cfg config) (rdb, streams redis.UniversalClient, closeAll func(), err error) {
	// Most tenants with live subscribers on one instance; reader connections
	// carry small buffers, as they hold one blocking read each.
	const readers, readBuf, writeBuf = 4096, 4 << 10, 1 << 10
	// Commands and replies are small (a replay reads in chunks): 8 KiB
	// buffers instead of go-redis's 32 KiB keep a large pool cheap.
	const cmdBuf = 8 << 10
	switch {
	case len(cfg.RedisCluster) > 0:
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: cfg.RedisCluster, MaxRetries: -1, PoolSize: cfg.PoolSize,
			ReadBufferSize: cmdBuf, WriteBufferSize: cmdBuf,
			DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, PoolTimeout: 3 * time.Second})
		streams = redis.NewClusterClient(&redis.ClusterOptions{Addrs: cfg.RedisCluster, PoolSize: readers, ReadBufferSize: readBuf, WriteBufferSize: writeBuf,
			MaintNotificationsConfig: noMaintNotifications})
	case cfg.RedisURL != "":
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("AUTOCLAIM_REDIS_URL: %w", err)
		}
		opt.MaxRetries = -1
		if opt.PoolSize == 0 { // a pool_size in the URL wins
			opt.PoolSize = cfg.PoolSize
		}
		opt.ReadBufferSize, opt.WriteBufferSize = cmdBuf, cmdBuf
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = 2*time.Second, 2*time.Second, 2*time.Second, 3*time.Second
		rdb = redis.NewClient(opt)
		streamOpt := *opt
		streamOpt.PoolSize, streamOpt.ReadBufferSize, streamOpt.WriteBufferSize = readers, readBuf, writeBuf
		streamOpt.MaintNotificationsConfig = noMaintNotifications
		streams = redis.NewClient(&streamOpt)
	default:
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, nil, nil, fmt.Errorf("start embedded Redis: %w", err)
		}
		rdb = redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, PoolSize: cfg.PoolSize, ReadBufferSize: cmdBuf, WriteBufferSize: cmdBuf})
		streams = redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: readers, ReadBufferSize: readBuf, WriteBufferSize: writeBuf,
			MaintNotificationsConfig: noMaintNotifications})
		return rdb, streams, func() { rdb.Close(); streams.Close(); mr.Close() }, nil
	}
	return rdb, streams, func() { rdb.Close(); streams.Close() }, nil
}

// redisLogs sends go-redis's own log lines (failed dials, pool trouble) to
// the server's log.
type redisLogs struct{ log *slog.Logger }

func (l redisLogs) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// noMaintNotifications turns off go-redis's handling of maintenance
// notifications (a Redis Enterprise feature) for the stream readers' pool,
// whose hand-off queue would otherwise grow with the pool's size.
var noMaintNotifications = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
}
