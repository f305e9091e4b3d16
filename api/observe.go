package api

import (
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// observe serves each request with mux, then counts it by route and status
// class, times it, and logs it at debug level (the access log; nothing at
// info, so the hot path writes no line per request). The route is the mux's
// pattern without its method ("/graphql", "/healthz", "/" for the console's
// files), so label values stay few whatever paths clients send; a request
// no pattern matches is "unmatched".
func observe(mux *http.ServeMux, m *Metrics, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		res := &response{ResponseWriter: w}
		mux.ServeHTTP(res, r) // the mux sets r.Pattern
		elapsed := time.Since(start)
		code := int(res.code.Load())
		if code == 0 {
			code = http.StatusOK
		}
		route := r.Pattern
		if i := strings.IndexByte(route, ' '); i >= 0 {
			route = route[i+1:]
		}
		if route == "" {
			route = "unmatched"
		}
		stream := code == http.StatusSwitchingProtocols || strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream")
		m.request(route, code, elapsed, stream)
		if log.Enabled(r.Context(), slog.LevelDebug) {
			log.LogAttrs(r.Context(), slog.LevelDebug, "http request", slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", code), slog.Int64("bytes", res.written.Load()), slog.Duration("duration", elapsed))
		}
	})
}

// response records the status and the body bytes of a response. An event
// stream may write from a goroutine of its own: both are atomic. Unwrap
// lets http.ResponseController (Flush, SetWriteDeadline, Hijack) and the
// websocket library reach the connection's own writer.
type response struct {
	http.ResponseWriter
	code    atomic.Int32
	written atomic.Int64
}

func (r *response) WriteHeader(code int) {
	r.code.CompareAndSwap(0, int32(code))
	r.ResponseWriter.WriteHeader(code)
}

func (r *response) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.written.Add(int64(n))
	return n, err
}

// Flush implements http.Flusher for handlers that assert it.
func (r *response) Flush() { http.NewResponseController(r.ResponseWriter).Flush() }

// Unwrap returns the writer response wraps.
func (r *response) Unwrap() http.ResponseWriter { return r.ResponseWriter }
