package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/license"
)

// readCounter counts the commands sent to Redis and the bytes of their
// replies.
type readCounter struct {
	commands, bytes atomic.Int64
}

func (h *readCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *readCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.count(cmd)
		return err
	}
}

func (h *readCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			h.count(cmd)
		}
		return err
	}
}

func (h *readCounter) count(cmd redis.Cmder) {
	h.commands.Add(1)
	n := 0
	switch c := cmd.(type) {
	case *redis.StringCmd:
		n = len(c.Val())
	case *redis.StringSliceCmd:
		for _, v := range c.Val() {
			n += len(v)
		}
	case *redis.MapStringStringCmd:
		for k, v := range c.Val() {
			n += len(k) + len(v)
		}
	case *redis.IntCmd:
		n = 8
	default:
		n = len(fmt.Sprint(cmd.Args()...)) // replies of other kinds are counted by their request's size
	}
	h.bytes.Add(int64(n))
}

// TestUsersPageReadsOnlyItsUsers: a page of the directory costs the same
// commands and bytes read from Redis whether the directory holds 20 users or
// 2,000: in proportion to first, not to the directory.
func TestUsersPageReadsOnlyItsUsers(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		s := mustOpen(t, b)
		ctx := context.Background()
		type cost struct{ commands, bytes int64 }
		page := func(tenant string, first int, after string) cost {
			h := &readCounter{}
			b.Client.AddHook(h)
			defer func() { h.commands.Store(-1 << 40) }() // hooks can't be removed: retire it
			got, err := s.Users(ctx, tenant, first, after)
			c := cost{h.commands.Load(), h.bytes.Load()}
			if err != nil || len(got.Users) != first || !got.HasNextPage {
				t.Fatalf("Users(%s, %d, %q) = %+v, %v; want a full page and more", tenant, first, after, got, err)
			}
			return c
		}
		for _, n := range []int{20, 2000} {
			tenant := fmt.Sprintf("dir%d", n)
			tenantWithProducts(t, s, tenant, 0)
			for i := range n {
				if _, err := s.CreateUser(ctx, license.NewUser{TenantID: tenant, ID: fmt.Sprintf("user-%05d", i),
					UserPrincipalName: fmt.Sprintf("user%05d@dir.example", i), DisplayName: "User"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, first := range []int{1, 10} {
			small, large := page("dir20", first, "user-00003"), page("dir2000", first, "user-00003")
			if small.commands < 0 || large.commands < 0 || small != large {
				t.Fatalf("a page of %d: %+v with 20 users, %+v with 2,000; want the same", first, small, large)
			}
			if perUser := 200 * int64(first+2); large.bytes > perUser {
				t.Fatalf("a page of %d read %d bytes; want at most %d", first, large.bytes, perUser)
			}
		}
	})
}
