package api

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/felixge/httpsnoop"
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
		var res response
		mux.ServeHTTP(res.wrap(w), r) // the mux sets r.Pattern
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
// stream may write from a goroutine of its own: both are atomic.
type response struct {
	code    atomic.Int32
	written atomic.Int64
}

// wrap returns w recording into res, with every optional interface of w
// (Flusher, Hijacker, ReaderFrom, Unwrap for http.ResponseController) kept.
func (res *response) wrap(w http.ResponseWriter) http.ResponseWriter {
	return httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				res.code.CompareAndSwap(0, int32(code))
				next(code)
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(p []byte) (int, error) {
				n, err := next(p)
				res.written.Add(int64(n))
				return n, err
			}
		},
		WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(s string) (int, error) {
				n, err := next(s)
				res.written.Add(int64(n))
				return n, err
			}
		},
		ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) {
				n, err := next(src)
				res.written.Add(n)
				return n, err
			}
		},
	})
}
