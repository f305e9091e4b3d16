package api

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/autoclaim/autoclaim/license"
)

// argumentErrors makes each invalid argument its own GraphQL error, with
// extensions.field its path as the request names it: a field resolver's
// license.Problems become one error apiece, and the path of a root field's
// input object starts with "input.".
func argumentErrors(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err == nil {
		return res, nil
	}
	var problems license.Problems
	if !errors.As(err, &problems) {
		var e *license.Error
		if errors.As(err, &e) && e.Field != "" {
			return res, onInput(ctx, e)
		}
		if errors.As(err, &e) && e.Code == license.ENOTFOUND {
			if name := namedID(ctx, e.Message); name != "" {
				return res, license.OnField(name, e)
			}
		}
		return res, err
	}
	for _, p := range problems[:len(problems)-1] {
		graphql.AddError(ctx, onInput(ctx, p))
	}
	return res, onInput(ctx, problems[len(problems)-1])
}

// namedID returns the path of the root field's id argument whose value a
// NOT_FOUND error's message names ("Policy \"contoso:policy:9\" was not
// found."), when exactly one does: an ID argument ("policyId"), or an id
// of its input object ("input.policyId").
func namedID(ctx context.Context, message string) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || (fc.Object != "Mutation" && fc.Object != "Query") || fc.Field.Definition == nil {
		return ""
	}
	var vars map[string]any
	if graphql.HasOperationContext(ctx) {
		vars = graphql.GetOperationContext(ctx).Variables
	}
	var found []string
	named := func(path string, v any) {
		if s, ok := v.(string); ok && s != "" && strings.Contains(message, strconv.Quote(s)) {
			found = append(found, path)
		}
	}
	for name, v := range fc.Field.ArgumentMap(vars) {
		if in, ok := v.(map[string]any); ok && name == "input" {
			for k, iv := range in {
				if strings.HasSuffix(k, "Id") {
					named("input."+k, iv)
				}
			}
		} else if arg := fc.Field.Definition.Arguments.ForName(name); arg != nil && arg.Type.Name() == "ID" {
			named(name, v)
		}
	}
	if len(found) != 1 {
		return "" // none, or two it could be about
	}
	return found[0]
}

// onInput prefixes the field of an error of a root field that takes an
// input object with "input".
func onInput(ctx context.Context, e *license.Error) error {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || (fc.Object != "Mutation" && fc.Object != "Query") || fc.Field.Definition == nil ||
		fc.Field.Definition.Arguments.ForName("input") == nil || e.Field == "" {
		return e
	}
	return license.OnField("input", e)
}
