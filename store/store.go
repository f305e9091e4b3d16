// Package store keeps autoclaim's state in Redis. It is the only package that
// imports go-redis. Every key of a tenant carries the hash tag {t:<tenantID>}
// (keys.go), every record has one codec in Go and Lua (codec_*.go,
// lua/lib/codec.lua), and every write that must be atomic is one Lua script
// (lua/*.lua, see scripts.go). Subscriptions are served by the fan-out hub
// (package fanout) from the tenants' event streams (stream.go).
package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store/fanout"
)

// DefaultPrefix starts every key the store writes.
const DefaultPrefix = "ac:"

// Store implements license.Service on Redis.
type Store struct {
	rdb redis.UniversalClient
	// claims sends the claim script: rdb's auto-pipeliner, which sends the
	// claims of concurrent requests to Redis in one write and reads their
	// answers in one read, or rdb itself.
	claims  redis.Scripter
	prefix  string
	catalog *license.Catalog
	// coverings holds, per (app, trigger), the SKUs that cover it as the
	// claim script reads them.
	coverings map[string]string
	// supersedes holds, per app, its products with those each supersedes
	// (see encodeSupersedes), as the claim script and the fills read them.
	supersedes map[string]string
	routes     routes
	streams    redis.UniversalClient // for blocking stream reads
	hub        *fanout.Hub           // live subscriptions, fed by stream
	log        *slog.Logger
	closers    []func() error // what Close releases (set by Open)

	// clockOffset is how far Redis's clock was ahead of Now (ms) when a
	// claim last found the two in different UTC days.
	clockOffset atomic.Int64
	// token names this store as the holder of the leases it takes (work.go).
	token string

	// Now is the clock for timestamps written by admin actions, and for
	// the decisions of the flow back of licenses: when a reclaim sweep is
	// due, how long a license has been idle, how long a user has waited.
	Now func() time.Time
	// OnFlow, when set, is told of the licenses each piece of work gave to
	// waiting users and reclaimed.
	OnFlow func(filled, reclaimed int)
	// AuditRetention is how long audit entries are kept
	// (license.DefaultAuditRetention unless set).
	AuditRetention time.Duration
}

var _ license.Service = (*Store)(nil)

// New returns a Store on rdb. Keys start with prefix (DefaultPrefix when empty).
func New(rdb redis.UniversalClient, catalog *license.Catalog, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		cc.OnNewNode(func(node *redis.Client) { node.AddHook(scriptsRunOnce{}) })
	}
	s := &Store{rdb: rdb, claims: autoPipeliner(rdb), streams: rdb, prefix: prefix, catalog: catalog, token: randomID(20),
		coverings: coveringsOf(catalog), supersedes: supersedesByApp(catalog), Now: time.Now, AuditRetention: license.DefaultAuditRetention, log: slog.New(slog.DiscardHandler)}
	s.hub = fanout.New(stream{s})
	return s
}

// autoPipeliner returns the auto-pipeliner of a client of one Redis
// (go-redis's blocking face, one ordered batch at a time: a lone claim goes
// out at once, claims that arrive while a batch is out go together in the
// next), or rdb itself. Batches run on the client's pipeline connections
// and hooks, without retries, as its commands do. A cluster client's
// auto-pipeliner retries a batch whose replies were lost, and a claim must
// never run twice (see scriptsRunOnce): on a cluster, claims go one by one.
func autoPipeliner(rdb redis.UniversalClient) redis.Scripter {
	if c, ok := rdb.(*redis.Client); ok {
		if ap, err := c.AutoPipeline(); err == nil {
			return ap
		}
	}
	return rdb
}

// scriptsRunOnce keeps a ClusterClient from running a script again when its
// reply was lost. Even with MaxRetries -1, go-redis retries timeouts and
// dropped connections on a cluster (up to MaxRedirects times), but the
// script may have run: a claim would then answer ALREADY_LICENSED for the
// license it had just given. Hidden behind lostReply, such an error ends the
// call and the caller gets UNAVAILABLE, as on one Redis. Error replies
// (TRYAGAIN, MOVED, ASK…) mean the script did not run; go-redis handles them.
type scriptsRunOnce struct{}

func (scriptsRunOnce) DialHook(next redis.DialHook) redis.DialHook { return next }

func (scriptsRunOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return lostReplyOf(next(ctx, cmd), cmd)
	}
}

// ProcessPipelineHook covers ASKING + EVALSHA, sent after an ASK redirect.
func (scriptsRunOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			err = lostReplyOf(err, cmd)
		}
		return err
	}
}

func lostReplyOf(err error, cmd redis.Cmder) error {
	var reply redis.Error
	if err == nil || errors.As(err, &reply) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if name := cmd.Name(); name == "evalsha" || name == "eval" {
		return lostReply{err}
	}
	return err
}

// lostReply is a failed script call go-redis sees no reason to retry.
type lostReply struct{ cause error }

func (e lostReply) Error() string {
	return "no reply from Redis; the script may have run: " + e.cause.Error()
}

// Catalog returns the catalog in force.
func (s *Store) Catalog() *license.Catalog { return s.catalog }

// LoadScripts loads every script into Redis's script cache (on every shard of a
// cluster), so that calls go by EVALSHA.
func (s *Store) LoadScripts(ctx context.Context) error {
	load := func(ctx context.Context, c *redis.Client) error {
		for _, sc := range allScripts {
			if err := sc.Load(ctx, c).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachShard(ctx, load)
	} else if c, ok := s.rdb.(*redis.Client); ok {
		err = load(ctx, c)
	} else {
		for _, sc := range allScripts {
			if err = sc.Load(ctx, s.rdb).Err(); err != nil {
				break
			}
		}
	}
	return s.fail(err)
}

// Ready returns nil when Redis answers and holds every script.
// Returns EUNAVAILABLE otherwise.
func (s *Store) Ready(ctx context.Context) error {
	shas := make([]string, len(allScripts))
	for i, sc := range allScripts {
		shas[i] = sc.Hash()
	}
	found, err := s.rdb.ScriptExists(ctx, shas...).Result()
	if err != nil {
		return s.fail(err)
	}
	for i, ok := range found {
		if !ok {
			return &license.Error{Code: license.EUNAVAILABLE, Message: "The license store is missing scripts.", Cause: fmt.Errorf("script %s not loaded", shas[i])}
		}
	}
	return nil
}

// randomID returns n random characters of a-z0-9.
func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomUUID returns a random (version 4) UUID, the form directory object ids take.
func randomUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(n int64) time.Time { return time.UnixMilli(n).UTC() }
