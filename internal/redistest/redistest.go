// Package redistest gives tests a Redis to run against: an in-process
// miniredis and the real redis-server at AUTOCLAIM_TEST_REDIS (default
// 127.0.0.1:6379), each under a key prefix of the test's own that is deleted
// afterwards. Every store and script test runs on both, so gopher-lua and
// Redis's own Lua can't diverge unseen.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Backend is one Redis a test runs against.
type Backend struct {
	Name   string // "miniredis" or "redis"
	Client *redis.Client
	Prefix string               // keys of this test start with it
	Mini   *miniredis.Miniredis // nil for a real Redis
	Addr   string
}

// RealAddr returns the address of the real Redis used by tests.
func RealAddr() string {
	if a := os.Getenv("AUTOCLAIM_TEST_REDIS"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Required reports whether tests must fail, not skip, without a real Redis
// (AUTOCLAIM_REQUIRE_REDIS=1, as .ci/run sets).
func Required() bool { return os.Getenv("AUTOCLAIM_REQUIRE_REDIS") == "1" }

// Each runs f as a subtest on miniredis and on the real Redis.
func Each(t *testing.T, f func(t *testing.T, b *Backend)) {
	t.Helper()
	t.Run("miniredis", func(t *testing.T) { f(t, Mini(t)) })
	t.Run("redis", func(t *testing.T) { f(t, Real(t)) })
}

// Mini starts a miniredis for the test and stops it afterwards.
func Mini(tb testing.TB) *Backend {
	tb.Helper()
	m := miniredis.RunT(tb)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	tb.Cleanup(func() { c.Close() })
	return &Backend{Name: "miniredis", Client: c, Prefix: Prefix(), Mini: m, Addr: m.Addr()}
}

// Real connects to the real Redis, skipping the test (or failing it, when
// Required) if none answers. Keys under the test's prefix are deleted afterwards.
func Real(tb testing.TB) *Backend {
	tb.Helper()
	addr := RealAddr()
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64, MaxRetries: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if Required() {
			tb.Fatalf("no Redis at %s (AUTOCLAIM_REQUIRE_REDIS=1): %v", addr, err)
		}
		tb.Skipf("no Redis at %s, skipping the real-Redis run (start redis-server, or set AUTOCLAIM_TEST_REDIS): %v", addr, err)
	}
	b := &Backend{Name: "redis", Client: c, Prefix: Prefix(), Addr: addr}
	tb.Cleanup(func() {
		Clean(tb, c, b.Prefix)
		c.Close()
	})
	return b
}

// Prefix returns a fresh key prefix.
func Prefix() string {
	var buf [6]byte
	rand.Read(buf[:])
	return "test-" + hex.EncodeToString(buf[:]) + ":"
}

// Clean deletes every key that starts with prefix.
func Clean(tb testing.TB, c redis.UniversalClient, prefix string) {
	tb.Helper()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			c.Del(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		c.Del(ctx, batch...)
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("clean %s*: %v", prefix, err)
	}
}

// quiet drops go-redis's own log lines (failed dials while a test has its
// Redis down on purpose); tests assert on errors, not on logs.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quiet{}) }
