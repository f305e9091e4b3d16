package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// commandHook tells the store's owner how each Redis command went: how long
// it took, and whether it failed. Answers of the store's own scripts (a
// denial, a conflict), "no such key" and a script missing from Redis's cache
// (go-redis loads it and runs it again) are not failures. A pipeline counts
// as one command named "pipeline".
type commandHook struct {
	failed func(command string)
	took   func(command string, d time.Duration)
}

func (h commandHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h commandHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.done(cmd.Name(), start, err)
		return err
	}
}

func (h commandHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.done("pipeline", start, err)
		return err
	}
}

func (h commandHook) done(command string, start time.Time, err error) {
	if h.took != nil {
		h.took(command, time.Since(start))
	}
	if h.failed != nil && isFailure(err) {
		h.failed(command)
	}
}

func isFailure(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || strings.HasPrefix(err.Error(), "NOSCRIPT") {
		return false
	}
	_, _, ours := scriptReason(err)
	return !ours
}
