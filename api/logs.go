package api

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// LogHandler returns h with what the context knows about a request added to
// each record logged about it: its request_id, and the trace_id and span_id
// of the span in progress when the request is traced. Wrapping a handler
// twice adds them once.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(contextLogs); ok {
		return h
	}
	return contextLogs{h}
}

// contextLogs adds the request id and the trace of the context to each record.
type contextLogs struct{ slog.Handler }

func (h contextLogs) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextLogs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextLogs{h.Handler.WithAttrs(attrs)}
}

func (h contextLogs) WithGroup(name string) slog.Handler {
	return contextLogs{h.Handler.WithGroup(name)}
}
