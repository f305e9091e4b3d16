package api

import (
	"bytes"
	"io"
	"net/http"
)

// maxBodyBytes bounds a request body; larger ones are answered 413.
const maxBodyBytes = 1 << 20

// limitBody answers 413 to a request whose body is over maxBodyBytes.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			http.Error(w, "request body over 1 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength < 0 {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
			if err != nil {
				http.Error(w, "could not read the request body", http.StatusBadRequest)
				return
			}
			if len(body) > maxBodyBytes {
				http.Error(w, "request body over 1 MiB", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		} else if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}
