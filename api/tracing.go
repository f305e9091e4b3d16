package api

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the spans autoclaim makes itself (GraphQL operations).
const tracerName = "github.com/autoclaim/autoclaim/api"

// maxSpanNameOperation bounds the client-chosen operation name put in a
// span's name.
const maxSpanNameOperation = 64

// operationSpans is a gqlgen extension that traces each GraphQL operation:
// one span, child of the HTTP request's, named by the operation's type and
// name ("mutation ClaimLicense"), with the errors of its answer recorded.
// The resolvers' Redis commands are its children. A subscription's span
// covers setting it up, not the events that follow. Documents refused
// before they run (parse, validation, limits) have no operation span; the
// HTTP span has their status.
type operationSpans struct{ tracer trace.Tracer }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = operationSpans{}

// ExtensionName implements graphql.HandlerExtension.
func (operationSpans) ExtensionName() string { return "OperationSpans" }

// Validate implements graphql.HandlerExtension.
func (operationSpans) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (o operationSpans) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx).Operation
	kind := string(op.Operation)
	name, attrs := kind, []attribute.KeyValue{semconv.GraphQLOperationTypeKey.String(kind)}
	if op.Name != "" {
		name += " " + op.Name[:min(len(op.Name), maxSpanNameOperation)]
		attrs = append(attrs, semconv.GraphQLOperationName(op.Name))
	}
	ctx, span := o.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	responses := next(ctx)
	if op.Operation == ast.Subscription {
		span.End()
		return responses
	}
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp != nil && len(resp.Errors) > 0 {
			for _, e := range resp.Errors {
				code, _ := e.Extensions["code"].(string)
				span.RecordError(e, trace.WithAttributes(attribute.String("graphql.error.code", code)))
			}
			span.SetStatus(codes.Error, resp.Errors[0].Message)
		}
		span.End()
		return resp
	}
}
