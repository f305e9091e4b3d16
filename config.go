package main

import (
	"flag"
	"fmt"
	"io"

	"strconv"
	"strings"
)

// config is the server's configuration, read from AUTOCLAIM_* variables and
// flags of the same meaning (a flag wins).
type config struct {
	Addr         string
	RedisURL     string
	RedisCluster []string
	JWTSecret    string
	Demo         bool
	GraphiQL     bool
	CatalogFile  string
	RedisPrefix  string
	DebugAddr    string
	// AllowedOrigins are host patterns of browser pages allowed to open
	// websockets besides the server's own origin.
	AllowedOrigins []string
}

// embedded reports whether the server runs its own in-process Redis.
func (c config) embedded() bool { return c.RedisURL == "" && len(c.RedisCluster) == 0 }

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("autoclaim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "AUTOCLAIM_ADDR", ":8080"), "listen address (AUTOCLAIM_ADDR)")
	fs.StringVar(&c.RedisURL, "redis-url", getenv("AUTOCLAIM_REDIS_URL"), "redis://host:port/db; empty = embedded in-process Redis (AUTOCLAIM_REDIS_URL)")
	cluster := fs.String("redis-cluster", getenv("AUTOCLAIM_REDIS_CLUSTER"), "comma-separated host:port of Redis Cluster nodes (AUTOCLAIM_REDIS_CLUSTER)")
	fs.StringVar(&c.CatalogFile, "catalog", getenv("AUTOCLAIM_CATALOG"), "JSON file extending the built-in catalog (AUTOCLAIM_CATALOG)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", envOr(getenv, "AUTOCLAIM_REDIS_PREFIX", "ac:"), "prefix of every Redis key, to share a Redis with others (AUTOCLAIM_REDIS_PREFIX)")
	fs.StringVar(&c.DebugAddr, "debug-addr", getenv("AUTOCLAIM_DEBUG_ADDR"), "listen address of the profiling endpoints (/debug/pprof, /debug/heap); keep it on loopback; empty = off (AUTOCLAIM_DEBUG_ADDR)")
	origins := fs.String("allowed-origins", getenv("AUTOCLAIM_ALLOWED_ORIGINS"), "comma-separated host patterns (e.g. admin.example.com,*.example.com) of pages allowed to open websockets (AUTOCLAIM_ALLOWED_ORIGINS)")
	demo := fs.String("demo", getenv("AUTOCLAIM_DEMO"), "1 = seed demo tenants at start; default 1 with the embedded Redis, else 0 (AUTOCLAIM_DEMO)")
	graphiql := fs.String("graphiql", getenv("AUTOCLAIM_GRAPHIQL"), "1 = serve GraphiQL at / and allow introspection; default 1 with the embedded Redis, else 0 (AUTOCLAIM_GRAPHIQL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	c.JWTSecret = getenv("AUTOCLAIM_JWT_SECRET")
	c.AllowedOrigins = splitList(*origins)
	c.RedisCluster = splitList(*cluster)
	if strings.ContainsAny(c.RedisPrefix, "{} \t\n") {
		return c, fmt.Errorf("AUTOCLAIM_REDIS_PREFIX %q may not contain braces or spaces (braces would break the per-tenant hash tag)", c.RedisPrefix)
	}
	if c.RedisURL != "" && len(c.RedisCluster) > 0 {
		return c, fmt.Errorf("set AUTOCLAIM_REDIS_URL or AUTOCLAIM_REDIS_CLUSTER, not both")
	}
	var err error
	if c.Demo, err = boolSetting("AUTOCLAIM_DEMO", *demo, c.embedded()); err != nil {
		return c, err
	}
	if c.GraphiQL, err = boolSetting("AUTOCLAIM_GRAPHIQL", *graphiql, c.embedded()); err != nil {
		return c, err
	}
	return c, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func boolSetting(name, v string, def bool) (bool, error) {
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be 1 or 0, got %q", name, v)
	}
	return b, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
