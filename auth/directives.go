package auth

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"github.com/autoclaim/autoclaim/license"
)

// HasRole implements the @hasRole schema directive: the field resolves only
// for a caller holding one of roles.
func HasRole(ctx context.Context, _ any, next graphql.Resolver, roles []Role) (any, error) {
	if _, err := Require(ctx, roles...); err != nil {
		return nil, err
	}
	return next(ctx)
}

// TenantScoped implements the @tenantScoped schema directive on an argument or
// input field holding a tenant id, a product id or a policy id: the caller must
// belong to that tenant (operators belong to every tenant). Anything else is
// answered ENOTFOUND.
func TenantScoped(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	v, err := next(ctx)
	if err != nil {
		return nil, err
	}
	var id string
	switch x := v.(type) {
	case string:
		id = x
	case *string:
		if x == nil {
			return v, nil
		}
		id = *x
	default:
		return nil, license.Internal(fmt.Errorf("@tenantScoped on a %T argument", v))
	}
	what := fmt.Sprintf("%s %q", license.KindOf(id), id)
	tenantID, ok := license.TenantOf(id)
	if !ok {
		return nil, license.Errorf(license.ENOTFOUND, "%s was not found.", what)
	}
	if err := CheckTenant(ctx, tenantID, what); err != nil {
		return nil, err
	}
	return v, nil
}
