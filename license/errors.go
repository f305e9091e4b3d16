package license

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
	ENOTRUN          = "NOT_RUN"         // a mutation after one that failed in the same request
	EINTERNAL        = "INTERNAL"        // a bug or an unexpected failure
)

// Error is the one error type of autoclaim. Code is one of the E* constants and
// Message is written for an admin. Cause, when set, is an internal detail that is
// logged but never shown to clients.
type Error struct {
	Code    string
	Message string
	// Field, when set, is the path of the argument the error is about, as
	// the API names it: "name", "products[1].productId".
	Field string
	Cause error
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

// OnField returns err about the argument at path field: an *Error gets
// field as its Field, or, when it has one already, as its Field's prefix
// ("products[1]" and "productId" make "products[1].productId"); each of
// several Problems gets it the same way. Other errors, nil, and failures that are about no argument (EINTERNAL,
// EUNAVAILABLE) pass unchanged.
func OnField(field string, err error) error {
	var problems Problems
	if field != "" && errors.As(err, &problems) {
		var out Problems
		for _, e := range problems {
			out.Add(field, e)
		}
		return out
	}
	var e *Error
	if err == nil || field == "" || !errors.As(err, &e) || e.Code == EINTERNAL || e.Code == EUNAVAILABLE {
		return err
	}
	c := *e
	if c.Field == "" {
		c.Field = field
	} else {
		c.Field = field + "." + c.Field
	}
	return &c
}

// Problems are the errors of one request's arguments, each about its
// field: a request with several invalid arguments is refused with all of
// them.
type Problems []*Error

// Add notes err about the argument at path field (nothing for nil); each
// of err's own problems when it has several.
func (p *Problems) Add(field string, err error) {
	if err == nil {
		return
	}
	var nested Problems
	if errors.As(err, &nested) {
		for _, e := range nested {
			p.Add(field, e)
		}
		return
	}
	var e *Error
	if !errors.As(OnField(field, err), &e) {
		e = Internal(err)
	}
	*p = append(*p, e)
}

// oneEach returns the problems with only the first about each field.
func (p Problems) oneEach() Problems {
	var out Problems
	for _, e := range p {
		if !slices.ContainsFunc(out, func(o *Error) bool { return o.Field == e.Field }) {
			out = append(out, e)
		}
	}
	return out
}

// Err returns nil without problems, the one problem, or all of them.
func (p Problems) Err() error {
	switch len(p) {
	case 0:
		return nil
	case 1:
		return p[0]
	}
	return p
}

// Error implements the error interface.
func (p Problems) Error() string {
	msgs := make([]string, len(p))
	for i, e := range p {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the problems, so that errors.As finds the first.
func (p Problems) Unwrap() []error {
	out := make([]error, len(p))
	for i, e := range p {
		out[i] = e
	}
	return out
}
