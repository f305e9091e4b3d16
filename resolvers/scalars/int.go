package scalars

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/autoclaim/autoclaim/license"
)

// MarshalInt writes an Int.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads an Int argument: GraphQL's Int is a signed 32-bit
// integer, so a larger number is EINVALID rather than a value the server
// would take for another, and only a number is one: a string holding
// digits ("8") is EINVALID too, as the GraphQL spec's input coercion asks.
// A JSON number with no fraction (7.0, 1e1) is the integer it equals.
func UnmarshalInt(v any) (int, error) {
	var f float64
	switch n := v.(type) {
	case int:
		f = float64(n)
	case int32:
		f = float64(n)
	case int64:
		if n < math.MinInt32 || n > math.MaxInt32 {
			return 0, outOfRange(strconv.FormatInt(n, 10))
		}
		return int(n), nil
	case float64:
		f = n
	case json.Number:
		if i, err := n.Int64(); err == nil {
			if i < math.MinInt32 || i > math.MaxInt32 {
				return 0, outOfRange(n.String())
			}
			return int(i), nil
		}
		var err error
		if f, err = n.Float64(); err != nil {
			return 0, outOfRange(n.String()) // beyond even a float64
		}
	case string:
		return 0, license.Errorf(license.EINVALID, "An Int must be a number, not a string; got %q.", n)
	default:
		return 0, license.Errorf(license.EINVALID, "An Int must be a whole number; got %v.", v)
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, license.Errorf(license.EINVALID, "An Int must be a whole number; got %v.", v)
	}
	if f < math.MinInt32 || f > math.MaxInt32 {
		return 0, outOfRange(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return int(f), nil
}

// outOfRange is the error of a whole number beyond GraphQL's Int.
func outOfRange(n string) error {
	return license.Errorf(license.EINVALID, "An Int must be between %d and %d; got %s.", math.MinInt32, math.MaxInt32, n)
}
