package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/internal/gqltest"
)

// secret32 is a secret long enough for AUTOCLAIM_JWT_SECRET.
const secret32 = "0123456789abcdef0123456789abcdef"

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(config) bool
		wantErr string
	}{
		{"DefaultsEmbedded", nil, nil, func(c config) bool {
			return c.Addr == "127.0.0.1:8080" && c.embedded() && c.Demo && c.GraphiQL && c.RedisPrefix == "ac:"
		}, ""},
		{"RedisURLTurnsDemoAndGraphiQLOff", nil, map[string]string{"AUTOCLAIM_REDIS_URL": "redis://127.0.0.1:6379/0", "AUTOCLAIM_JWT_SECRET": secret32}, func(c config) bool {
			return !c.embedded() && !c.Demo && !c.GraphiQL && c.Addr == ":8080"
		}, ""},
		{"ErrRedisWithoutSecret", nil, map[string]string{"AUTOCLAIM_REDIS_URL": "redis://127.0.0.1:6379/0"}, nil, "AUTOCLAIM_JWT_SECRET is required"},
		{"AuditRetention", []string{"-audit-retention-days", "30"}, nil, func(c config) bool { return c.AuditRetentionDays == 30 }, ""},
		{"ErrAuditRetention", nil, map[string]string{"AUTOCLAIM_AUDIT_RETENTION_DAYS": "0"}, nil, "AUTOCLAIM_AUDIT_RETENTION_DAYS must be between 1 and 3650"},
		{"ErrShortSecret", nil, map[string]string{"AUTOCLAIM_JWT_SECRET": "too-short"}, nil, "AUTOCLAIM_JWT_SECRET is 9 bytes long; use at least 32"},
		{"SecretFlag", []string{"-jwt-secret", secret32}, nil, func(c config) bool { return c.JWTSecret == secret32 }, ""},
		{"ClusterList", nil, map[string]string{"AUTOCLAIM_REDIS_CLUSTER": " 127.0.0.1:7000, 127.0.0.1:7001 ,", "AUTOCLAIM_JWT_SECRET": secret32}, func(c config) bool {
			return len(c.RedisCluster) == 2 && c.RedisCluster[1] == "127.0.0.1:7001"
		}, ""},
		{"FlagWinsOverEnv", []string{"-addr", "127.0.0.1:0"}, map[string]string{"AUTOCLAIM_ADDR": ":9999"}, func(c config) bool {
			return c.Addr == "127.0.0.1:0"
		}, ""},
		{"ErrBothRedis", nil, map[string]string{"AUTOCLAIM_REDIS_URL": "redis://x:1/0", "AUTOCLAIM_REDIS_CLUSTER": "x:1"}, nil, "not both"},
		{"ErrPrefixWithBraces", nil, map[string]string{"AUTOCLAIM_REDIS_PREFIX": "x{y}:"}, nil, "may not contain braces"},
		{"ErrBadDemo", nil, map[string]string{"AUTOCLAIM_DEMO": "yes please"}, nil, "AUTOCLAIM_DEMO must be 1 or 0"},
		{"ConsoleSignIn", nil, map[string]string{"AUTOCLAIM_OIDC_ISSUER": "https://login.example.com/t/v2.0", "AUTOCLAIM_OIDC_AUDIENCE": "api://autoclaim",
			"AUTOCLAIM_OIDC_CLIENT_ID": "console", "AUTOCLAIM_OIDC_SCOPES": " openid  api://autoclaim/access "}, func(c config) bool {
			s := c.consoleSignIn()
			return s.ClientID == "console" && s.Issuer == c.OIDCIssuer && s.Audience == "api://autoclaim" && strings.Join(s.Scopes, " ") == "openid api://autoclaim/access"
		}, ""},
		{"NoConsoleSignInWithoutClientID", nil, map[string]string{"AUTOCLAIM_OIDC_ISSUER": "https://login.example.com/t/v2.0", "AUTOCLAIM_OIDC_AUDIENCE": "api://autoclaim"}, func(c config) bool {
			return c.consoleSignIn().Issuer == "" && strings.Join(c.OIDCScopes, " ") == "openid profile"
		}, ""},
		{"ErrClientIDWithoutIssuer", nil, map[string]string{"AUTOCLAIM_OIDC_CLIENT_ID": "console"}, nil, "AUTOCLAIM_OIDC_CLIENT_ID needs AUTOCLAIM_OIDC_ISSUER"},
		{"ErrExtraArgs", []string{"serve"}, nil, nil, "unexpected arguments"},
		{"ErrUnknownFlag", []string{"-nope"}, nil, nil, "flag provided but not defined"},
		{"OperatorDefaults", nil, nil, func(c config) bool {
			return c.MetricsAddr == "127.0.0.1:9090" && c.LogLevel == slog.LevelInfo && c.LogFormat == "text"
		}, ""},
		{"JSONLogsWithARedisOfYourOwn", nil, map[string]string{"AUTOCLAIM_REDIS_URL": "redis://127.0.0.1:6379/0", "AUTOCLAIM_JWT_SECRET": secret32}, func(c config) bool {
			return c.LogFormat == "json"
		}, ""},
		{"LogSettings", []string{"-log-level", "debug"}, map[string]string{"AUTOCLAIM_LOG_LEVEL": "error", "AUTOCLAIM_LOG_FORMAT": "json"}, func(c config) bool {
			return c.LogLevel == slog.LevelDebug && c.LogFormat == "json"
		}, ""},
		{"MetricsOff", nil, map[string]string{"AUTOCLAIM_METRICS_ADDR": "off"}, func(c config) bool { return c.MetricsAddr == "" }, ""},
		{"MetricsAddr", []string{"-metrics-addr", "0.0.0.0:9464"}, nil, func(c config) bool { return c.MetricsAddr == "0.0.0.0:9464" }, ""},
		{"ErrLogLevel", nil, map[string]string{"AUTOCLAIM_LOG_LEVEL": "info+2"}, nil, "AUTOCLAIM_LOG_LEVEL must be debug, info, warn or error"},
		{"ErrLogFormat", []string{"-log-format", "yaml"}, nil, nil, "AUTOCLAIM_LOG_FORMAT must be json or text"},
		{"ErrRetiredDebugAddr", nil, map[string]string{"AUTOCLAIM_DEBUG_ADDR": "127.0.0.1:6060"}, nil, "AUTOCLAIM_DEBUG_ADDR is no longer read: AUTOCLAIM_METRICS_ADDR"},
		{"Version", []string{"-version"}, map[string]string{"AUTOCLAIM_LOG_LEVEL": "loud"}, func(c config) bool { return c.Version }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseConfig(%q) error = %v; want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.want(c) {
				t.Fatalf("parseConfig(%q) = %+v, %v", tt.args, c, err)
			}
		})
	}
}

func TestRunRefusesABadCatalog(t *testing.T) {
	file := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(file, []byte(`{"apps": [], "products": [{"skuPartNumber": "X"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, func(k string) string {
		return map[string]string{"AUTOCLAIM_CATALOG": file}[k]
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AUTOCLAIM_CATALOG") {
		t.Fatalf("run with a bad catalog = %v; want an error naming AUTOCLAIM_CATALOG", err)
	}
}

func TestRunExtendsTheCatalog(t *testing.T) {
	file := filepath.Join(t.TempDir(), "catalog.json")
	ext := `{"apps": [], "products": [{"skuId": "00000000-0000-4000-8000-000000000001", "skuPartNumber": "CONTOSO_FLOW_EXTRA",
	  "displayName": "Extra flows", "servicePlans": [{"id": "00000000-0000-4000-8000-000000000002", "name": "EXTRA", "displayName": "Extra"}],
	  "covers": [{"app": "POWER_AUTOMATE", "triggers": ["SIGN_IN"], "requiredPlan": "00000000-0000-4000-8000-000000000002"}]}]}`
	if err := os.WriteFile(file, []byte(ext), 0o600); err != nil {
		t.Fatal(err)
	}
	env := startServer(t, map[string]string{"AUTOCLAIM_CATALOG": file})
	var out struct {
		Catalog struct {
			Products []struct{ SkuPartNumber string }
		}
	}
	gqltest.MustPost(t, env["AUTOCLAIM_URL"], env["ADMIN_TOKEN"], `{ catalog { products { skuPartNumber } } }`, nil, &out)
	if n := len(out.Catalog.Products); n != 4 || out.Catalog.Products[3].SkuPartNumber != "CONTOSO_FLOW_EXTRA" {
		t.Fatalf("catalog products %+v; want the 3 built-in ones and CONTOSO_FLOW_EXTRA", out.Catalog.Products)
	}
}

// TestRunRefusesToStartWithoutASecret: with a Redis of the operator's own,
// run refuses to start without AUTOCLAIM_JWT_SECRET, naming it, before it
// connects or listens.
func TestRunRefusesToStartWithoutASecret(t *testing.T) {
	env := map[string]string{"AUTOCLAIM_REDIS_URL": "redis://127.0.0.1:1/0"}
	err := run(t.Context(), []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AUTOCLAIM_JWT_SECRET") {
		t.Fatalf("run = %v; want a refusal naming AUTOCLAIM_JWT_SECRET", err)
	}
}
