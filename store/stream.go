package store

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
	"github.com/autoclaim/autoclaim/store/fanout"
)

// Tuning of the stream reader.
const (
	// readBlock is how long a follower waits in XREAD; a follower whose
	// tenant's last subscriber left ends within it.
	readBlock = time.Second
	// replayBatch is how many missed events one XRANGE reads.
	replayBatch = 500
	// readBatch is how many events a follower takes from one XREAD: a small
	// part of a subscriber's buffer, so that a follower catching up after a
	// stall (its tenant's slot moved to another shard) does not by itself
	// overflow the buffer of a subscriber that keeps up.
	readBatch = fanout.Buffer / 4
)

// stream reads tenants' event streams from Redis for the fan-out hub: a
// topic is a tenant id.
type stream struct{ s *Store }

var _ fanout.Source = stream{}

// Newest implements fanout.Source.
func (r stream) Newest(ctx context.Context, tenantID string) (license.EventID, error) {
	return r.s.lastEventID(ctx, tenantID)
}

// lastEventID returns the id of the newest event of a tenant's stream (0-0
// when it is empty).
func (s *Store) lastEventID(ctx context.Context, tenantID string) (license.EventID, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.keys(tenantID).events(), "+", "-", 1).Result()
	if err != nil {
		return license.EventID{}, s.fail(err)
	}
	if len(msgs) == 0 {
		return license.EventID{}, nil
	}
	return license.ParseEventID(msgs[0].ID)
}

// Replay implements fanout.Source with XRANGE, in batches.
func (r stream) Replay(ctx context.Context, tenantID string, from license.EventID, send func(license.Event) bool) (license.EventID, error) {
	key := r.s.keys(tenantID).events()
	cursor := from
	for {
		msgs, err := r.s.rdb.XRangeN(ctx, key, "("+cursor.String(), "+", replayBatch).Result()
		if err != nil {
			return cursor, r.s.fail(err)
		}
		for _, m := range msgs {
			cursor, _ = license.ParseEventID(m.ID)
			if !send(decodeEvent(tenantID, m)) {
				return cursor, nil
			}
		}
		if len(msgs) < replayBatch {
			return cursor, nil
		}
	}
}

// Follow implements fanout.Source with XREAD BLOCK on the stream client.
// Reads that fail are retried until Redis answers again.
func (r stream) Follow(ctx context.Context, tenantID string, from license.EventID, publish func(license.Event)) {
	key := r.s.keys(tenantID).events()
	last := from.String()
	for ctx.Err() == nil {
		res, err := r.s.streams.XRead(ctx, &redis.XReadArgs{Streams: []string{key, last}, Count: readBatch, Block: readBlock}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.s.log.Warn("event stream read failed; retrying", "tenant", tenantID, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(readBlock / 2):
			}
			continue
		}
		for _, st := range res {
			for _, m := range st.Messages {
				last = m.ID
				publish(decodeEvent(tenantID, m))
			}
		}
	}
}
