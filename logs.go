package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/autoclaim/autoclaim/api"
)

// newLogger logs to w at the configured level, as JSON or text, each line
// with the id and the trace of the request it is about; identical warnings
// and errors pass at most once a second.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(api.LogHandler(newRepeatLimiter(h, time.Second, time.Now)))
}

// maxRepeatKeys bounds how many distinct warnings the limiter follows.
const maxRepeatKeys = 1024

// repeatLimiter passes at most one record per interval for each level and
// message at WARN and above, and adds to the next one it passes how many it
// dropped since (repeated=N): an outage that fails every request logs a line
// a second, not a line a request. Records below WARN all pass (the access
// log is at debug and asked for).
type repeatLimiter struct {
	slog.Handler
	seen *repeats // shared by the handlers WithAttrs and WithGroup derive
}

// repeats is what a repeatLimiter knows of recent warnings.
type repeats struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	last  map[repeatKey]*repeat
}

type repeatKey struct {
	level slog.Level
	msg   string
}

type repeat struct {
	passed  time.Time // when one last passed
	dropped int       // since then
}

func newRepeatLimiter(h slog.Handler, every time.Duration, now func() time.Time) slog.Handler {
	return repeatLimiter{h, &repeats{every: every, now: now, last: map[repeatKey]*repeat{}}}
}

func (h repeatLimiter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.Handler.Handle(ctx, r)
	}
	dropped, pass := h.seen.admit(repeatKey{r.Level, r.Message})
	if !pass {
		return nil
	}
	if dropped > 0 {
		r.AddAttrs(slog.Int("repeated", dropped))
	}
	return h.Handler.Handle(ctx, r)
}

func (h repeatLimiter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return repeatLimiter{h.Handler.WithAttrs(attrs), h.seen}
}

func (h repeatLimiter) WithGroup(name string) slog.Handler {
	return repeatLimiter{h.Handler.WithGroup(name), h.seen}
}

// admit says whether a record passes, and how many like it were dropped
// since the last that passed.
func (s *repeats) admit(k repeatKey) (dropped int, pass bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.last[k]
	if e != nil && now.Sub(e.passed) < s.every {
		e.dropped++
		return 0, false
	}
	if e == nil {
		if len(s.last) >= maxRepeatKeys {
			s.forget(now)
		}
		if len(s.last) >= maxRepeatKeys {
			return 0, true // too many distinct warnings to follow: let it through
		}
		e = &repeat{}
		s.last[k] = e
	}
	dropped = e.dropped
	e.passed, e.dropped = now, 0
	return dropped, true
}

// forget drops what it knows of warnings whose interval has passed with
// nothing dropped; those with a count wait for their next line.
func (s *repeats) forget(now time.Time) {
	for k, e := range s.last {
		if e.dropped == 0 && now.Sub(e.passed) >= s.every {
			delete(s.last, k)
		}
	}
}
