package api

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// stopAfterFailure runs a request's mutations only while none has failed:
// once one has an error, those after it are not run and answer NOT_RUN, so
// that a failed mutation never hides a later one's change behind the null
// its error makes of data.
func stopAfterFailure(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	op := graphql.GetOperationContext(ctx)
	if op.Operation == nil || op.Operation.Operation != ast.Mutation || len(graphql.GetErrors(ctx)) == 0 {
		return next(ctx)
	}
	if f := graphql.GetRootFieldContext(ctx); f != nil {
		ctx = graphql.WithPathContext(ctx, graphql.NewPathWithField(f.Field.Alias))
	}
	graphql.AddError(ctx, license.Errorf(license.ENOTRUN,
		"Not run: a mutation before it in this request failed, and the mutations after a failure are not run."))
	return graphql.Null
}

// recordChange names the change each admin mutation makes, for the audit
// entry the store writes with it: the mutation (its root field's name) and
// the caller. Claims are not admin changes and pass untouched.
func recordChange(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	op := graphql.GetOperationContext(ctx)
	field := graphql.GetRootFieldContext(ctx)
	if op.Operation == nil || op.Operation.Operation != ast.Mutation || field == nil || field.Field.Name == "claimLicense" {
		return next(ctx)
	}
	c, err := auth.CallerFrom(ctx)
	if err != nil {
		return next(ctx) // refused by the field's @hasRole
	}
	actor := license.Actor{Subject: c.Subject, Roles: make([]string, len(c.Roles))}
	for i, r := range c.Roles {
		actor.Roles[i] = string(r)
	}
	return next(license.NewContextWithChange(ctx, license.Change{Action: field.Field.Name, Actor: actor}))
}
