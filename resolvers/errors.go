package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/autoclaim/autoclaim/license"
)

// ErrorPresenter is the one place that turns errors into GraphQL errors: the
// code of a license.Error goes to extensions.code and its message is shown;
// internal errors are logged with their cause and shown as "internal error".
// Errors of gqlgen itself (parse, validation, complexity) keep their codes.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var le *license.Error
		if !errors.As(err, &le) {
			var ge *gqlerror.Error
			if errors.As(err, &ge) && ge.Err == nil {
				gerr := graphql.DefaultErrorPresenter(ctx, err)
				if gerr.Extensions["code"] == nil {
					// A request error of gqlgen's without a code of its own
					// (a persisted query's hash that doesn't match, an
					// operation name the document lacks).
					if gerr.Extensions == nil {
						gerr.Extensions = map[string]any{}
					}
					gerr.Extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
				}
				return gerr
			}
			le = license.Internal(err)
		}
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		switch le.Code {
		case license.EINTERNAL:
			log.ErrorContext(ctx, "request failed", "code", le.Code, "path", gerr.Path.String(), "err", err)
		case license.EUNAVAILABLE:
			log.WarnContext(ctx, "request failed", "code", le.Code, "path", gerr.Path.String(), "err", err)
		}
		gerr.Message = license.ErrorMessage(le)
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		gerr.Extensions["code"] = le.Code
		if field := le.Field; field != "" {
			gerr.Extensions["field"] = field
		} else if field := argumentPath(ctx, gerr.Path); field != "" && (le.Code == license.EINVALID || le.Code == license.ENOTFOUND) {
			gerr.Extensions["field"] = field
		}
		if le.RetryAfter > 0 {
			gerr.Extensions["retryAfterSeconds"] = le.RetryAfter.Seconds()
		}
		return gerr
	}
}

// argumentPath is the path of the argument an error of a field's
// arguments is on ("since", "input.products[1].productId"): gqlgen reports
// an argument that could not be read (a custom scalar's value) at the
// field's path followed by the argument's.
func argumentPath(ctx context.Context, path ast.Path) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return ""
	}
	at := fc.Path()
	if len(path) <= len(at) || path[:len(at)].String() != at.String() {
		return ""
	}
	var b strings.Builder
	for _, e := range path[len(at):] {
		switch e := e.(type) {
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(e))
		case ast.PathIndex:
			fmt.Fprintf(&b, "[%d]", int(e))
		}
	}
	return b.String()
}

// Recover turns a panic in a resolver into an internal error, logged with its value.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", v)
		return license.Internal(fmt.Errorf("panic: %v", v))
	}
}
