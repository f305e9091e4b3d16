package store

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// TestEmbeddedRedisRequiresAPassword: the in-process Redis listens on
// loopback and refuses clients without its random password.
func TestEmbeddedRedisRequiresAPassword(t *testing.T) {
	s, err := Open(Options{Catalog: license.BuiltinCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.LoadScripts(context.Background()); err != nil {
		t.Fatalf("the store can't use its own Redis: %v", err)
	}
	addr := s.rdb.(*redis.Client).Options().Addr
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("the embedded Redis listens on %s; want loopback", addr)
	}
	stranger := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer stranger.Close()
	err = stranger.Set(context.Background(), "ac:{t:contoso}:product:1", "x", 0).Err()
	if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("a client without the password wrote: %v; want NOAUTH", err)
	}
}
