package store

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// failureHook reports Redis commands that failed. Answers of the store's
// own scripts (a denial, a conflict), "no such key" and a script missing
// from Redis's cache (go-redis loads it and runs it again) are not failures.
type failureHook struct{ failed func(command string) }

func (h failureHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h failureHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if isFailure(err) {
			h.failed(cmd.Name())
		}
		return err
	}
}

func (h failureHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if isFailure(err) {
			h.failed("pipeline")
		}
		return err
	}
}

func isFailure(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || strings.HasPrefix(err.Error(), "NOSCRIPT") {
		return false
	}
	_, _, ours := scriptReason(err)
	return !ours
}
