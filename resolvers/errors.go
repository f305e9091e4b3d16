package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
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
		if le.Field != "" {
			gerr.Extensions["field"] = le.Field
		}
		if le.RetryAfter > 0 {
			gerr.Extensions["retryAfterSeconds"] = le.RetryAfter.Seconds()
		}
		return gerr
	}
}

// Recover turns a panic in a resolver into an internal error, logged with its value.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", v)
		return license.Internal(fmt.Errorf("panic: %v", v))
	}
}
