package scalars

import (
	"math"

	"github.com/99designs/gqlgen/graphql"

	"github.com/autoclaim/autoclaim/license"
)

// MarshalInt writes an Int.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads an Int argument: GraphQL's Int is a signed 32-bit
// integer, so a larger number is EINVALID rather than a value the server
// would take for another.
func UnmarshalInt(v any) (int, error) {
	i, err := graphql.UnmarshalInt64(v)
	if err != nil {
		return 0, license.Errorf(license.EINVALID, "An Int must be a whole number; got %v.", v)
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		return 0, license.Errorf(license.EINVALID, "An Int must be between %d and %d; got %d.", math.MinInt32, math.MaxInt32, i)
	}
	return int(i), nil
}
