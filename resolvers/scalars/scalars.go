// Package scalars holds the API's custom scalars, as gqlgen marshals them.
package scalars

import (
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/autoclaim/autoclaim/license"
)

// MarshalTime writes a Time as RFC 3339 in UTC, as gqlgen's Time does.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.MarshalTime(t.UTC().Truncate(time.Millisecond))
}

// UnmarshalTime reads a Time argument: an RFC 3339 date and time. Anything
// else is EINVALID, an error of the caller's, not of the server.
func UnmarshalTime(v any) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil // a null argument
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, license.Errorf(license.EINVALID, "A time must be an RFC 3339 string such as 2026-11-30T12:00:00Z; got %v.", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, license.Errorf(license.EINVALID, "A time must be an RFC 3339 string such as 2026-11-30T12:00:00Z; got %q.", s)
	}
	return t, nil
}
