package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/autoclaim/autoclaim/api"
	"github.com/autoclaim/autoclaim/api/console"
	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store"
)

// config is the server's configuration, read from AUTOCLAIM_* variables and
// flags of the same meaning (a flag wins).
type config struct {
	Addr         string
	RedisURL     string
	RedisCluster []string
	JWTSecret    string
	// An OpenID provider whose tokens are accepted besides HS256 ones.
	OIDCIssuer, OIDCAudience, OIDCSubjectClaim, OIDCClientID string
	Demo                                                     bool
	GraphiQL                                                 bool
	Console                                                  bool
	// AuditRetentionDays is how long audit entries are kept.
	AuditRetentionDays int
	CatalogFile        string
	RedisPrefix        string
	// MetricsAddr is the listen address of /metrics and the profiles; empty: off.
	MetricsAddr string
	LogLevel    slog.Level
	LogFormat   string // "json" or "text"
	PoolSize    int    // Redis connections per instance (per cluster node)
	// Request limits and introspection.
	Limits        api.Limits
	Introspection bool
	CORSOrigins   []string
	// AllowedOrigins are host patterns of browser pages allowed to open
	// websockets besides the server's own origin.
	AllowedOrigins []string
	// OIDCScopes are the scopes the console asks the provider for.
	OIDCScopes []string
	// Version asks for the version to be printed instead of serving.
	Version bool
}

// defaultMetricsAddr is where /metrics listens unless told otherwise: off
// the public API port, on loopback.
const defaultMetricsAddr = "127.0.0.1:9090"

// retiredSettings are variables that no longer work, with what replaced
// them: the server refuses to start with one set rather than ignore it.
var retiredSettings = map[string]string{
	"AUTOCLAIM_DEBUG_ADDR": "AUTOCLAIM_METRICS_ADDR (default " + defaultMetricsAddr + ") serves /debug/pprof/ and /debug/heap beside /metrics",
}

// minSecretBytes is the shortest HS256 secret accepted (RFC 7518 asks for a
// key at least as long as the hash, 256 bits).
const minSecretBytes = 32

// embedded reports whether the server runs its own in-process Redis.
func (c config) embedded() bool { return c.RedisURL == "" && len(c.RedisCluster) == 0 }

// redisMode names the kind of Redis for a log line (the URL may hold a password).
func (c config) redisMode() string {
	switch {
	case c.embedded():
		return "embedded"
	case len(c.RedisCluster) > 0:
		return "cluster"
	default:
		return "single"
	}
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var bad []string
	envInt := func(name string, def int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s must be a whole number, got %q", name, v))
		}
		return n
	}
	envFloat := func(name string, def float64) float64 {
		v := getenv(name)
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s must be a number, got %q", name, v))
		}
		return f
	}
	def := api.DefaultLimits()
	fs := flag.NewFlagSet("autoclaim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: autoclaim [flags]

autoclaim serves the auto-claim license policy API. With no Redis configured it
runs an in-process Redis with demo tenants and prints ready-made tokens.
Every flag has an environment variable of the same meaning, named at the end of
its line; a flag wins over its variable.

`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Addr, "addr", getenv("AUTOCLAIM_ADDR"), "listen address; default 127.0.0.1:8080 with the embedded Redis, else :8080 (AUTOCLAIM_ADDR)")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", getenv("AUTOCLAIM_OIDC_ISSUER"), "issuer URL of an OpenID provider whose RS256/ES256 tokens are accepted (AUTOCLAIM_OIDC_ISSUER)")
	fs.StringVar(&c.OIDCAudience, "oidc-audience", getenv("AUTOCLAIM_OIDC_AUDIENCE"), "the aud the provider's tokens must carry (AUTOCLAIM_OIDC_AUDIENCE)")
	fs.StringVar(&c.OIDCSubjectClaim, "oidc-subject-claim", envOr(getenv, "AUTOCLAIM_OIDC_SUBJECT_CLAIM", "sub"), "the claim that names the caller, e.g. oid for Entra ID (AUTOCLAIM_OIDC_SUBJECT_CLAIM)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", getenv("AUTOCLAIM_OIDC_CLIENT_ID"), "the console's client id at the provider, for signing in with the organization's account (AUTOCLAIM_OIDC_CLIENT_ID)")
	scopes := fs.String("oidc-scopes", envOr(getenv, "AUTOCLAIM_OIDC_SCOPES", "openid profile"), "space-separated scopes the console asks the provider for, e.g. openid profile api://autoclaim/access (AUTOCLAIM_OIDC_SCOPES)")
	fs.StringVar(&c.JWTSecret, "jwt-secret", getenv("AUTOCLAIM_JWT_SECRET"), "HS256 secret of bearer tokens, at least 32 bytes, the same on every instance; required with a Redis of your own (AUTOCLAIM_JWT_SECRET)")
	fs.StringVar(&c.RedisURL, "redis-url", getenv("AUTOCLAIM_REDIS_URL"), "redis://host:port/db; empty = embedded in-process Redis (AUTOCLAIM_REDIS_URL)")
	cluster := fs.String("redis-cluster", getenv("AUTOCLAIM_REDIS_CLUSTER"), "comma-separated host:port of Redis Cluster nodes (AUTOCLAIM_REDIS_CLUSTER)")
	fs.StringVar(&c.CatalogFile, "catalog", getenv("AUTOCLAIM_CATALOG"), "JSON file extending the built-in catalog (AUTOCLAIM_CATALOG)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", envOr(getenv, "AUTOCLAIM_REDIS_PREFIX", store.DefaultPrefix), "prefix of every Redis key, to share a Redis with others (AUTOCLAIM_REDIS_PREFIX)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", envOr(getenv, "AUTOCLAIM_METRICS_ADDR", defaultMetricsAddr), "listen address of /metrics (Prometheus) and the profiles (/debug/pprof/, /debug/heap), apart from the API; off = none (AUTOCLAIM_METRICS_ADDR)")
	logLevel := fs.String("log-level", envOr(getenv, "AUTOCLAIM_LOG_LEVEL", "info"), "debug, info, warn or error; debug adds a line per HTTP request (AUTOCLAIM_LOG_LEVEL)")
	logFormat := fs.String("log-format", getenv("AUTOCLAIM_LOG_FORMAT"), "json or text; default text with the embedded Redis, else json (AUTOCLAIM_LOG_FORMAT)")
	fs.BoolVar(&c.Version, "version", false, "print the version and exit")
	origins := fs.String("allowed-origins", getenv("AUTOCLAIM_ALLOWED_ORIGINS"), "comma-separated host patterns (e.g. admin.example.com,*.example.com) of pages allowed to open websockets (AUTOCLAIM_ALLOWED_ORIGINS)")
	demo := fs.String("demo", getenv("AUTOCLAIM_DEMO"), "1 = seed demo tenants at start; default 1 with the embedded Redis, else 0 (AUTOCLAIM_DEMO)")
	graphiql := fs.String("graphiql", getenv("AUTOCLAIM_GRAPHIQL"), "1 = serve GraphiQL at /graphiql; default 1 with the embedded Redis, else 0 (AUTOCLAIM_GRAPHIQL)")
	console := fs.String("console", getenv("AUTOCLAIM_CONSOLE"), "1 = serve the admin console at /; 0 = off (AUTOCLAIM_CONSOLE)")
	fs.IntVar(&c.AuditRetentionDays, "audit-retention-days", envInt("AUTOCLAIM_AUDIT_RETENTION_DAYS", int(license.DefaultAuditRetention/(24*time.Hour))), "days the audit log keeps each entry, 1 to 3650 (AUTOCLAIM_AUDIT_RETENTION_DAYS)")
	fs.IntVar(&c.PoolSize, "redis-pool-size", envInt("AUTOCLAIM_REDIS_POOL_SIZE", store.DefaultPoolSize), "Redis connections of one instance, per node: at least the concurrent requests you expect (AUTOCLAIM_REDIS_POOL_SIZE)")
	fs.IntVar(&c.Limits.MaxDepth, "max-depth", envInt("AUTOCLAIM_MAX_DEPTH", def.MaxDepth), "deepest selection a request may have (AUTOCLAIM_MAX_DEPTH)")
	fs.IntVar(&c.Limits.MaxAliases, "max-aliases", envInt("AUTOCLAIM_MAX_ALIASES", def.MaxAliases), "aliased fields a request may have (AUTOCLAIM_MAX_ALIASES)")
	fs.IntVar(&c.Limits.MaxRootFields, "max-root-fields", envInt("AUTOCLAIM_MAX_ROOT_FIELDS", def.MaxRootFields), "root fields a request may have; claimLicense always goes alone (AUTOCLAIM_MAX_ROOT_FIELDS)")
	fs.IntVar(&c.Limits.MaxComplexity, "max-complexity", envInt("AUTOCLAIM_MAX_COMPLEXITY", def.MaxComplexity), "query complexity limit (AUTOCLAIM_MAX_COMPLEXITY)")
	fs.IntVar(&c.Limits.MaxDocumentBytes, "max-document-bytes", envInt("AUTOCLAIM_MAX_DOCUMENT_BYTES", def.MaxDocumentBytes), "bytes of a query document, persisted ones too (AUTOCLAIM_MAX_DOCUMENT_BYTES)")
	fs.IntVar(&c.Limits.MaxFragments, "max-fragments", envInt("AUTOCLAIM_MAX_FRAGMENTS", def.MaxFragments), "fragment definitions of a query document (AUTOCLAIM_MAX_FRAGMENTS)")
	fs.IntVar(&c.Limits.MaxSubscriptionsPerConnection, "max-subscriptions-per-connection", envInt("AUTOCLAIM_MAX_SUBSCRIPTIONS_PER_CONNECTION", def.MaxSubscriptionsPerConnection), "live subscriptions of one websocket connection (AUTOCLAIM_MAX_SUBSCRIPTIONS_PER_CONNECTION)")
	fs.IntVar(&c.Limits.MaxSubscriptionsPerCaller, "max-subscriptions-per-caller", envInt("AUTOCLAIM_MAX_SUBSCRIPTIONS_PER_CALLER", def.MaxSubscriptionsPerCaller), "live subscriptions of one caller on this instance (AUTOCLAIM_MAX_SUBSCRIPTIONS_PER_CALLER)")
	fs.IntVar(&c.Limits.MaxTokens, "max-tokens", envInt("AUTOCLAIM_MAX_TOKENS", def.MaxTokens), "parser token limit of a query document (AUTOCLAIM_MAX_TOKENS)")
	fs.Float64Var(&c.Limits.ClaimRate, "claim-rate", envFloat("AUTOCLAIM_CLAIM_RATE", def.ClaimRate), "claimLicense calls per second per APP or GLOBAL_ADMIN caller, 0 = unlimited (AUTOCLAIM_CLAIM_RATE)")
	fs.IntVar(&c.Limits.ClaimBurst, "claim-burst", envInt("AUTOCLAIM_CLAIM_BURST", def.ClaimBurst), "burst of claimLicense calls per APP or GLOBAL_ADMIN caller (AUTOCLAIM_CLAIM_BURST)")
	fs.Float64Var(&c.Limits.UserClaimRate, "user-claim-rate", envFloat("AUTOCLAIM_USER_CLAIM_RATE", def.UserClaimRate), "claimLicense calls per second per USER caller, 0 = unlimited (AUTOCLAIM_USER_CLAIM_RATE)")
	fs.IntVar(&c.Limits.UserClaimBurst, "user-claim-burst", envInt("AUTOCLAIM_USER_CLAIM_BURST", def.UserClaimBurst), "burst of claimLicense calls per USER caller (AUTOCLAIM_USER_CLAIM_BURST)")
	introspection := fs.String("introspection", getenv("AUTOCLAIM_INTROSPECTION"), "1 = allow introspection and field suggestions; default: as AUTOCLAIM_GRAPHIQL (AUTOCLAIM_INTROSPECTION)")
	cors := fs.String("cors-origins", getenv("AUTOCLAIM_CORS_ORIGINS"), "comma-separated origins (https://admin.example.com, or *) whose pages may call the API from a browser (AUTOCLAIM_CORS_ORIGINS)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.Version {
		return c, nil
	}
	for name, instead := range retiredSettings {
		if getenv(name) != "" {
			return c, fmt.Errorf("%s is no longer read: %s", name, instead)
		}
	}
	if len(bad) > 0 {
		return c, errors.New(strings.Join(bad, "; "))
	}
	c.CORSOrigins = splitList(*cors)
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
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
	if c.Console, err = boolSetting("AUTOCLAIM_CONSOLE", *console, true); err != nil {
		return c, err
	}
	if c.Introspection, err = boolSetting("AUTOCLAIM_INTROSPECTION", *introspection, c.GraphiQL); err != nil {
		return c, err
	}
	if err := c.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil || !validLevel[strings.ToLower(*logLevel)] {
		return c, fmt.Errorf("AUTOCLAIM_LOG_LEVEL must be debug, info, warn or error, got %q", *logLevel)
	}
	switch c.LogFormat = *logFormat; c.LogFormat {
	case "":
		c.LogFormat = "json"
		if c.embedded() {
			c.LogFormat = "text" // a developer reads it
		}
	case "json", "text":
	default:
		return c, fmt.Errorf("AUTOCLAIM_LOG_FORMAT must be json or text, got %q", c.LogFormat)
	}
	if c.MetricsAddr == "off" {
		c.MetricsAddr = ""
	}
	for name, v := range map[string]int{"AUTOCLAIM_REDIS_POOL_SIZE": c.PoolSize, "AUTOCLAIM_MAX_DEPTH": c.Limits.MaxDepth, "AUTOCLAIM_MAX_ALIASES": c.Limits.MaxAliases,
		"AUTOCLAIM_MAX_ROOT_FIELDS": c.Limits.MaxRootFields, "AUTOCLAIM_MAX_COMPLEXITY": c.Limits.MaxComplexity, "AUTOCLAIM_MAX_TOKENS": c.Limits.MaxTokens,
		"AUTOCLAIM_MAX_DOCUMENT_BYTES": c.Limits.MaxDocumentBytes, "AUTOCLAIM_MAX_FRAGMENTS": c.Limits.MaxFragments,
		"AUTOCLAIM_MAX_SUBSCRIPTIONS_PER_CONNECTION": c.Limits.MaxSubscriptionsPerConnection, "AUTOCLAIM_MAX_SUBSCRIPTIONS_PER_CALLER": c.Limits.MaxSubscriptionsPerCaller} {
		if v < 1 {
			return c, fmt.Errorf("%s must be at least 1, got %d", name, v)
		}
	}
	if c.Limits.ClaimRate < 0 || c.Limits.UserClaimRate < 0 {
		return c, fmt.Errorf("claim rates must be 0 (unlimited) or more")
	}
	if c.AuditRetentionDays < 1 || c.AuditRetentionDays > 3650 {
		return c, fmt.Errorf("AUTOCLAIM_AUDIT_RETENTION_DAYS must be between 1 and 3650, got %d", c.AuditRetentionDays)
	}
	if c.Addr == "" {
		c.Addr = ":8080"
		if c.embedded() {
			c.Addr = "127.0.0.1:8080" // a development server: this machine only
		}
	}
	c.OIDCScopes = strings.Fields(*scopes)
	if err := c.checkOIDC(); err != nil {
		return c, err
	}
	switch {
	case c.JWTSecret == "" && c.OIDCIssuer == "" && !c.embedded():
		return c, errors.New("AUTOCLAIM_JWT_SECRET is required with a Redis of your own (or an identity provider, AUTOCLAIM_OIDC_ISSUER): set the same secret, at least 32 bytes (e.g. openssl rand -base64 32), on every instance")
	case c.JWTSecret != "" && len(c.JWTSecret) < minSecretBytes:
		return c, fmt.Errorf("AUTOCLAIM_JWT_SECRET is %d bytes long; use at least %d (e.g. openssl rand -base64 32)", len(c.JWTSecret), minSecretBytes)
	}
	return c, nil
}

// checkOIDC checks the identity provider's settings: an issuer and an
// audience together, the issuer an https URL (http only on loopback).
func (c config) checkOIDC() error {
	if (c.OIDCIssuer == "") != (c.OIDCAudience == "") {
		return errors.New("set AUTOCLAIM_OIDC_ISSUER and AUTOCLAIM_OIDC_AUDIENCE together")
	}
	if c.OIDCIssuer == "" {
		if c.OIDCClientID != "" {
			return errors.New("AUTOCLAIM_OIDC_CLIENT_ID needs AUTOCLAIM_OIDC_ISSUER and AUTOCLAIM_OIDC_AUDIENCE")
		}
		return nil
	}
	u, err := url.Parse(c.OIDCIssuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return fmt.Errorf("AUTOCLAIM_OIDC_ISSUER %q must be an https URL (http only on loopback)", c.OIDCIssuer)
	}
	if c.OIDCSubjectClaim == "" {
		return errors.New("AUTOCLAIM_OIDC_SUBJECT_CLAIM can't be empty")
	}
	return nil
}

// consoleSignIn is the provider the console signs in with: none without a
// client id.
func (c config) consoleSignIn() console.OIDC {
	if c.OIDCClientID == "" {
		return console.OIDC{}
	}
	return console.OIDC{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, Audience: c.OIDCAudience, Scopes: c.OIDCScopes}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validLevel are the names AUTOCLAIM_LOG_LEVEL takes (slog would also
// take offsets such as "info+2").
var validLevel = map[string]bool{"debug": true, "info": true, "warn": true, "error": true}

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
