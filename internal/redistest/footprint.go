package redistest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Footprint is what the keys under a prefix hold.
type Footprint struct {
	Keys int
	// Bytes is the length of every key name, hash field and value, sorted
	// set member and score, stream entry id, field and value: the same on
	// miniredis and Redis.
	Bytes int64
	// Memory is the sum of MEMORY USAGE of the keys on a real Redis (0 on
	// miniredis, which has no such command).
	Memory int64
}

// Measure reads the footprint of the keys under b's prefix.
func (b *Backend) Measure(tb testing.TB) Footprint {
	tb.Helper()
	ctx := context.Background()
	c := b.Client
	var f Footprint
	iter := c.Scan(ctx, 0, b.Prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		f.Keys++
		f.Bytes += int64(len(key))
		n, err := contentBytes(ctx, c, key)
		if err != nil {
			tb.Fatalf("measure %s: %v", key, err)
		}
		f.Bytes += n
		if b.Mini == nil {
			mem, err := c.MemoryUsage(ctx, key, 0).Result()
			if err != nil && err != redis.Nil {
				tb.Fatalf("MEMORY USAGE %s: %v", key, err)
			}
			f.Memory += mem
		}
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("scan %s*: %v", b.Prefix, err)
	}
	return f
}

// Snapshot returns what every key under b's prefix holds, as text by key,
// to show that something wrote nothing.
func (b *Backend) Snapshot(tb testing.TB) map[string]string {
	tb.Helper()
	ctx := context.Background()
	out := map[string]string{}
	iter := b.Client.Scan(ctx, 0, b.Prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		parts, err := contentOf(ctx, b.Client, iter.Val())
		if err != nil {
			tb.Fatalf("snapshot %s: %v", iter.Val(), err)
		}
		slices.Sort(parts)
		out[iter.Val()] = strings.Join(parts, "\n")
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("scan %s*: %v", b.Prefix, err)
	}
	return out
}

// contentBytes is the length of what one key holds.
func contentBytes(ctx context.Context, c *redis.Client, key string) (int64, error) {
	parts, err := contentOf(ctx, c, key)
	var n int64
	for _, p := range parts {
		n += int64(len(p))
	}
	return n, err
}

// contentOf lists what one key holds: its value; each hash field and
// value; each sorted set member and score; each stream entry's id, fields
// and values.
func contentOf(ctx context.Context, c *redis.Client, key string) ([]string, error) {
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	var parts []string
	switch typ {
	case "none":
	case "string":
		v, err := c.Get(ctx, key).Result()
		if err != nil && err != redis.Nil {
			return nil, err
		}
		parts = append(parts, v)
	case "hash":
		h, err := c.HGetAll(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		for f, v := range h {
			parts = append(parts, f, v)
		}
	case "zset":
		zs, err := c.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			return nil, err
		}
		for _, z := range zs {
			parts = append(parts, fmt.Sprint(z.Member), fmt.Sprint(z.Score))
		}
	case "set":
		ms, err := c.SMembers(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		parts = append(parts, ms...)
	case "stream":
		msgs, err := c.XRange(ctx, key, "-", "+").Result()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			parts = append(parts, m.ID)
			for f, v := range m.Values {
				parts = append(parts, f, fmt.Sprint(v))
			}
		}
	default:
		return nil, fmt.Errorf("a %s, which the test helpers do not read", typ)
	}
	return parts, nil
}
