package license

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are the values clients see in errors[].extensions.code.
const (
	EUNAUTHENTICATED = "UNAUTHENTICATED" // no, invalid or expired token
	EFORBIDDEN       = "FORBIDDEN"       // the caller's role lacks the right
	ENOTFOUND        = "NOT_FOUND"       // no such object in the caller's tenant
	EINVALID         = "BAD_USER_INPUT"  // an argument is invalid
	ECONFLICT        = "CONFLICT"        // the current state forbids the change
	ERATELIMITED     = "RATE_LIMITED"    // too many requests
	EUNAVAILABLE     = "UNAVAILABLE"     // the store is unreachable; nothing was written
	EINTERNAL        = "INTERNAL"        // a bug or an unexpected failure
)

// Error is the one error type of autoclaim. Code is one of the E* constants and
// Message is written for an admin. Cause, when set, is an internal detail that is
// logged but never shown to clients.
type Error struct {
	Code    string
	Message string
	Cause   error
	// RetryAfter, when set, says how long to wait before trying again (ERATELIMITED).
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure. Clients see "internal error" only.
func Internal(cause error) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Cause: cause}
}

// ErrorCode returns the code of err: the Code of an *Error in its chain, or
// EINTERNAL for any other non-nil error, or "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-facing message of err. Errors that are not an
// *Error, and internal ones, read "internal error".
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}
