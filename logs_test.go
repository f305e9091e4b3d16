package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// logLines decodes JSON log lines.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestRepeatLimiter: the same warning passes at most once a second, the next
// one that passes says how many were dropped, and the limit is per level and
// message, shared by derived loggers; lines below WARN all pass.
func TestRepeatLimiter(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	log := slog.New(newRepeatLimiter(slog.NewJSONHandler(&buf, nil), time.Second, func() time.Time { return now }))
	step := func(d time.Duration) { now = now.Add(d) }

	for range 2090 { // one per failed request, in the same second
		log.Warn("request failed", "code", "UNAVAILABLE")
	}
	log.Warn("not ready")
	log.Error("request failed")
	for range 3 {
		log.Info("request failed")
	}
	step(999 * time.Millisecond)
	log.Warn("request failed") // still within the second: dropped
	step(time.Millisecond)
	log.Warn("request failed") // passes with the count
	step(500 * time.Millisecond)
	log.With("tenant", "contoso").Warn("request failed") // dropped: derived loggers share the limit
	log.Warn("request failed")
	step(time.Second)
	log.Warn("request failed")

	type line struct {
		level, msg string
		repeated   float64
	}
	var got []line
	for _, m := range logLines(t, buf.String()) {
		r, _ := m["repeated"].(float64)
		got = append(got, line{m["level"].(string), m["msg"].(string), r})
	}
	want := []line{
		{"WARN", "request failed", 0},
		{"WARN", "not ready", 0},
		{"ERROR", "request failed", 0},
		{"INFO", "request failed", 0}, {"INFO", "request failed", 0}, {"INFO", "request failed", 0},
		{"WARN", "request failed", 2090}, // 2089 in the first burst, and one at 999 ms
		{"WARN", "request failed", 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("lines\n%v\nwant\n%v", got, want)
	}
}

// TestRepeatLimiterIsBounded: it follows at most maxRepeatKeys distinct
// warnings; past that, new ones pass unfollowed rather than grow its memory.
func TestRepeatLimiterIsBounded(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	h := newRepeatLimiter(slog.NewJSONHandler(&buf, nil), time.Second, func() time.Time { return now })
	log := slog.New(h)
	const n = 3 * maxRepeatKeys
	for i := range n {
		log.Warn(fmt.Sprintf("warning %d", i))
	}
	if lines := strings.Count(buf.String(), "\n"); lines != n {
		t.Errorf("%d lines for %d distinct warnings; want all", lines, n)
	}
	if size := len(h.(repeatLimiter).seen.last); size > maxRepeatKeys {
		t.Errorf("follows %d warnings; want at most %d", size, maxRepeatKeys)
	}
	now = now.Add(time.Second)
	log.Warn("warning after a second")
	if size := len(h.(repeatLimiter).seen.last); size > maxRepeatKeys {
		t.Errorf("follows %d warnings after they aged; want at most %d", size, maxRepeatKeys)
	}
}
