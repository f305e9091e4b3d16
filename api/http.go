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
			refuse(w, http.StatusRequestEntityTooLarge, "The request body is over 1 MiB.")
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength < 0 {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
			if err != nil {
				refuse(w, http.StatusBadRequest, "The request body could not be read.")
				return
			}
			if len(body) > maxBodyBytes {
				refuse(w, http.StatusRequestEntityTooLarge, "The request body is over 1 MiB.")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		} else if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// graphQLMethods answers a method /graphql doesn't serve with 405 and the
// methods it does (HEAD included: it would return no answer).
func graphQLMethods(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodOptions:
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			refuse(w, http.StatusMethodNotAllowed, "/graphql takes GET (queries) and POST.")
		}
	})
}

// refuse answers a request the GraphQL handler won't see, as JSON.
func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(status)
	writeErrors(w, msg)
}
