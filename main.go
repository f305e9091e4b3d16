//go:generate go tool gqlgen generate

// Command autoclaim serves the auto-claim license policy API: one binary,
// Redis behind it. With no Redis configured it runs an in-process Redis and
// seeds demo tenants, so `go run .` works on a fresh machine.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/autoclaim/autoclaim/api"
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

// run starts the server and blocks until ctx is done, then shuts down. With
// -h it prints the usage, with -version the version, and returns nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return mintToken(args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the usage went to stderr
	}
	if err != nil {
		return err
	}
	version := api.Version()
	if cfg.Version {
		fmt.Fprintf(stdout, "autoclaim %s %s\n", version, runtime.Version())
		return nil
	}
	log := newLogger(cfg, stderr)
	if getenv("GOGC") == "" {
		// A request's garbage is small and short-lived, and the live heap is
		// small: collecting at 5× the live heap instead of Go's 2× halves the
		// CPU a claim spends in the collector (BENCHMARKS.md).
		debug.SetGCPercent(400)
	}

	catalog := license.BuiltinCatalog()
	if cfg.CatalogFile != "" {
		if catalog, err = extendCatalog(catalog, cfg.CatalogFile); err != nil {
			return err
		}
	}

	tracer, stopTracing, err := startTracing(ctx, getenv, version)
	if err != nil {
		return err
	}
	if stopTracing != nil {
		defer func() {
			// Send the spans still buffered, within a bound.
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := stopTracing(flushCtx); err != nil {
				log.Warn("could not send the last traces", "err", err)
			}
		}()
	}

	metrics := api.NewMetrics()
	st, err := store.Open(store.Options{
		URL: cfg.RedisURL, Cluster: cfg.RedisCluster, PoolSize: cfg.PoolSize, Prefix: cfg.RedisPrefix,
		Catalog: catalog, Log: log, CommandFailed: metrics.RedisCommandFailed, CommandTook: metrics.RedisCommandTook,
		OnFlow: metrics.Flowed, TracerProvider: tracer, AuditRetention: time.Duration(cfg.AuditRetentionDays) * 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	metrics.CountLive(st.LiveSubscriptions)
	if err := st.LoadScripts(ctx); err != nil {
		// Not fatal: /readyz says 503 and loads them once Redis answers.
		log.WarnContext(ctx, "could not load scripts into Redis", "err", err)
	}
	if cfg.Demo {
		if err := seedDemo(ctx, st); err != nil {
			return err
		}
	}
	// The background work of waitlists and reclaim sweeps; it stops with ctx.
	go st.Work(ctx)

	// Demo tokens only for a development server: the embedded Redis.
	secret, printTokens := []byte(cfg.JWTSecret), cfg.embedded()
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}

	var opsAddr net.Addr
	if cfg.MetricsAddr != "" {
		oln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("AUTOCLAIM_METRICS_ADDR: %w (choose another address, or off)", err)
		}
		osrv := &http.Server{Handler: api.OpsHandler(metrics), ReadHeaderTimeout: 10 * time.Second}
		go osrv.Serve(oln)
		defer osrv.Close()
		opsAddr = oln.Addr()
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
	if opsAddr != nil {
		fmt.Fprintf(stdout, "Metrics: http://%s/metrics (profiles under /debug/pprof/)\n", displayAddr(opsAddr))
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

	verifier := auth.NewVerifier(secret, nil)
	if cfg.OIDCIssuer != "" {
		verifier.UseOIDC(ctx, auth.OIDC{Issuer: cfg.OIDCIssuer, Audience: cfg.OIDCAudience, SubjectClaim: cfg.OIDCSubjectClaim, Log: log})
	}

	subscriptions, endSubscriptions := context.WithCancel(context.Background())
	defer endSubscriptions()
	srv := &http.Server{
		Handler: api.New(api.Deps{
			Service: st, Ready: st, Verifier: verifier, Log: log, Metrics: metrics, TracerProvider: tracer,
			Console: cfg.Console, GraphiQL: cfg.GraphiQL, Introspection: cfg.Introspection, Limits: cfg.Limits,
			Shutdown: subscriptions, AllowedOrigins: cfg.AllowedOrigins, CORSOrigins: cfg.CORSOrigins,
			ConsoleSignIn: cfg.consoleSignIn(),
		}),
		// No read or write timeout: websockets and SSE streams live long.
		// Slow clients are bounded by the header timeout and the body limit.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(endSubscriptions)
	log.Info("autoclaim started", "addr", ln.Addr().String(), "redis", cfg.redisMode(), "version", version,
		"metrics_addr", addrOrOff(opsAddr), "tracing", tracer != nil, "log_level", cfg.LogLevel.String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Error("stopped serving", "err", err)
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests, ending subscriptions", "grace", shutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	// Websockets and event streams outlive Shutdown: complete them, and let
	// them finish before the store closes under them.
	endSubscriptions()
	for st.LiveSubscriptions() > 0 && shutdownCtx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("shutdown cut short", "err", err)
		return err
	}
	log.Info("autoclaim stopped")
	return nil
}

// shutdownGrace bounds how long a shutdown waits for requests in flight.
const shutdownGrace = 10 * time.Second

// addrOrOff names a listener's address for a log line.
func addrOrOff(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
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

// displayAddr turns a listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("localhost", fmt.Sprint(tcp.Port))
}
