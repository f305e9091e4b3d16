package api

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// sseTransport serves an operation (a subscription, usually) as a stream of
// server-sent events, one connection per operation (graphql-sse's distinct
// connections mode): "next" events, then "complete". A request that can't
// run is answered as JSON with the status httpTransport would give. The
// stream sends a keep-alive comment every keepAlive, gives each write
// writeTimeout (a reader that stopped reading is dropped), and ends when the
// caller's token expires: an UNAUTHENTICATED error, then complete.
type sseTransport struct {
	keepAlive    time.Duration
	writeTimeout time.Duration
}

var _ graphql.Transport = sseTransport{}

// Supports implements graphql.Transport.
func (sseTransport) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == mediaJSON
}

// Do implements graphql.Transport.
func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	params, status, msg := readParams(r)
	if status != 0 {
		w.Header().Set("Content-Type", mediaJSON)
		w.WriteHeader(status)
		writeErrors(w, msg)
		return
	}
	params.ReadTime.End = graphql.Now()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	op, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, op), errs)
		w.Header().Set("Content-Type", mediaJSON)
		writeResponse(w, requestErrorStatus(resp, mediaGraphQLResponse), resp, false)
		return
	}
	s := &sseStream{w: w, rc: http.NewResponseController(w), timeout: t.writeTimeout, cancel: cancel}
	defer s.end() // a keep-alive due as the stream ends must not write after Do returns
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s.write(":\n\n")

	var expired atomic.Bool
	if c, err := auth.CallerFrom(ctx); err == nil && !c.Expires.IsZero() {
		timer := time.AfterFunc(time.Until(c.Expires), func() { expired.Store(true); cancel() })
		defer timer.Stop()
	}
	ticker := time.NewTicker(t.keepAlive)
	defer ticker.Stop()
	done := ctx.Done() // read here: ctx is reassigned below, as the keep-alives run
	go func() {
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				s.write(": keep-alive\n\n")
			}
		}
	}()

	// rctx, not ctx: the keep-alive goroutine reads ctx.
	responses, rctx := exec.DispatchOperation(ctx, op)
	for {
		resp := responses(rctx)
		if resp == nil {
			break
		}
		s.next(resp)
	}
	if expired.Load() {
		le := license.Errorf(license.EUNAUTHENTICATED, "The bearer token has expired; subscribe again with a new one.")
		err := &gqlerror.Error{Message: le.Message, Extensions: map[string]any{"code": le.Code}}
		s.next(&graphql.Response{Errors: gqlerror.List{err}})
	}
	s.write("event: complete\ndata:\n\n")
}

// sseStream writes events, one at a time, each within its deadline.
type sseStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	cancel  context.CancelFunc

	mu     sync.Mutex
	broken bool
}

func (s *sseStream) next(resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(&graphql.Response{Errors: gqlerror.List{{Message: "internal error"}}})
	}
	s.write(fmt.Sprintf("event: next\ndata: %s\n\n", b))
}

// end stops further writes.
func (s *sseStream) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = true
}

// write sends one chunk and flushes it; a write that fails or outlasts its
// deadline ends the stream.
func (s *sseStream) write(chunk string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return
	}
	s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	_, err := s.w.Write([]byte(chunk))
	if err == nil {
		err = s.rc.Flush()
	}
	if err != nil {
		s.broken = true
		s.cancel()
	}
}
