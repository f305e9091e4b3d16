package auth

import (
	"net/http"
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// Middleware reads "Authorization: Bearer <token>" and puts the caller (or the
// reason the token was refused) into the request context. Requests without a
// token go through; fields that need a caller refuse them.
func Middleware(v *Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			if h == "" {
				next.ServeHTTP(w, r)
				return
			}
			c, err := v.VerifyHeader(h)
			next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), c, err)))
		})
	}
}

// VerifyHeader verifies an Authorization header value of the form "Bearer <token>".
func (v *Verifier) VerifyHeader(h string) (*Caller, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, license.Errorf(license.EUNAUTHENTICATED, "The Authorization header must read \"Bearer <token>\".")
	}
	return v.Verify(strings.TrimSpace(token))
}
