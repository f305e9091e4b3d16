package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/autoclaim/autoclaim/license"
)

// Media types of GraphQL over HTTP.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// httpTransport serves queries and mutations over POST and queries over GET,
// as the GraphQL over HTTP specification asks: content negotiation (406 when
// the client accepts neither JSON media type, 415 for a body that is not
// JSON), 200 for every GraphQL response under application/json, 400 and no
// data entry for request errors under application/graphql-response+json;
// and, from autoclaim, 401 for a request that needs a token, 429 with
// Retry-After when a caller is rate limited, and subscriptions refused at
// once (they go over websockets or server-sent events).
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

// Supports implements graphql.Transport: every POST and GET that is not a
// websocket upgrade or an event stream (those have transports of their own).
func (httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodPost || r.Method == http.MethodGet)
}

// Do implements graphql.Transport.
func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media, ok := negotiate(r.Header.Get("Accept"))
	if !ok {
		w.Header().Set("Content-Type", mediaJSON)
		w.WriteHeader(http.StatusNotAcceptable)
		writeErrors(w, "Accept must allow application/graphql-response+json or application/json.")
		return
	}
	w.Header().Set("Content-Type", media)
	params, status, msg := readParams(r)
	if status != 0 {
		if status == http.StatusUnsupportedMediaType {
			w.Header().Set("Accept-Post", mediaJSON)
		}
		w.WriteHeader(status)
		writeErrors(w, msg)
		return
	}
	params.ReadTime.End = graphql.Now()
	ctx := r.Context()
	op, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, op), errs)
		writeResponse(w, requestErrorStatus(resp, media), resp, false)
		return
	}
	switch kind := op.Operation.Operation; {
	case kind == ast.Subscription:
		w.WriteHeader(http.StatusBadRequest)
		writeErrors(w, "Subscriptions are served over websockets (graphql-transport-ws) or server-sent events (POST with Accept: text/event-stream).")
		return
	case r.Method == http.MethodGet && kind != ast.Query:
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		writeErrors(w, "GET serves queries only; send mutations with POST.")
		return
	}
	responses, rctx := exec.DispatchOperation(ctx, op)
	resp := responses(rctx)
	status = http.StatusOK
	if wait, limited := retryAfter(resp); limited {
		w.Header().Set("Retry-After", fmt.Sprint(wait))
		status = http.StatusTooManyRequests
	}
	writeResponse(w, status, resp, true)
}

// negotiate picks the response's media type from an Accept header: of the
// two JSON types (application/json also as application/* or */*), the one
// the client prefers by q-value, application/graphql-response+json on a
// tie; application/json when the header is empty. ok is false when it
// accepts neither.
func negotiate(accept string) (media string, ok bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, true
	}
	best, bestQ := "", 0.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		var candidate string
		switch mt {
		case mediaGraphQLResponse:
			candidate = mediaGraphQLResponse
		case mediaJSON, "application/*", "*/*":
			candidate = mediaJSON
		default:
			continue
		}
		if q > bestQ || (q == bestQ && q > 0 && candidate == mediaGraphQLResponse) {
			best, bestQ = candidate, q
		}
	}
	return best, best != ""
}

// readParams reads a request's GraphQL parameters: the JSON body of a POST,
// or the query string of a GET. A status other than 0 refuses the request
// with msg.
func readParams(r *http.Request) (params *graphql.RawParams, status int, msg string) {
	params = &graphql.RawParams{Headers: r.Header}
	params.ReadTime.Start = graphql.Now()
	var raw struct {
		Query         *json.RawMessage `json:"query"`
		OperationName *json.RawMessage `json:"operationName"`
		Variables     *json.RawMessage `json:"variables"`
		Extensions    *json.RawMessage `json:"extensions"`
	}
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, http.StatusBadRequest, "The query string is malformed."
		}
		params.Query, params.OperationName = q.Get("query"), q.Get("operationName")
		for name, into := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
			if v := q.Get(name); v != "" {
				if err := decodeJSON([]byte(v), into); err != nil || *into == nil {
					return nil, http.StatusBadRequest, fmt.Sprintf("The %s parameter must be a JSON object.", name)
				}
			}
		}
		status, msg = wellFormed(params)
		return params, status, msg
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaJSON {
		return nil, http.StatusUnsupportedMediaType, "Send the request as Content-Type: application/json."
	}
	body := new(bytes.Buffer)
	if _, err := body.ReadFrom(r.Body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge, "The request body is over 1 MiB."
		}
		return nil, http.StatusBadRequest, "The request body could not be read."
	}
	// One pass when every parameter has its type, as from every client that
	// works; the field by field pass below says which parameter is wrong.
	var typed struct {
		Query         *string        `json:"query"`
		OperationName *string        `json:"operationName"`
		Variables     map[string]any `json:"variables"`
		Extensions    map[string]any `json:"extensions"`
	}
	if decodeJSON(body.Bytes(), &typed) == nil {
		if typed.Query != nil {
			params.Query = *typed.Query
		}
		if typed.OperationName != nil {
			params.OperationName = *typed.OperationName
		}
		params.Variables, params.Extensions = typed.Variables, typed.Extensions
		status, msg = wellFormed(params)
		return params, status, msg
	}
	if err := decodeJSON(body.Bytes(), &raw); err != nil {
		return nil, http.StatusBadRequest, "The request body must be a JSON object with a query string."
	}
	fields := []struct {
		name string
		raw  *json.RawMessage
		into any
	}{
		{"query", raw.Query, &params.Query}, {"operationName", raw.OperationName, &params.OperationName},
		{"variables", raw.Variables, &params.Variables}, {"extensions", raw.Extensions, &params.Extensions},
	}
	for _, f := range fields {
		if f.raw == nil || string(*f.raw) == "null" {
			continue
		}
		if err := decodeJSON(*f.raw, f.into); err != nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("The %s parameter has the wrong type.", f.name)
		}
	}
	status, msg = wellFormed(params)
	return params, status, msg
}

// wellFormed refuses a request with no query, unless it names a persisted
// query by its hash. It takes each JSON number of the variables that has
// an exponent or a fraction of zeros (7.0, 1e1) as the integer it equals,
// so an Int variable accepts it, as GraphQL over JSON clients expect (a
// Float variable reads the same value).
func wellFormed(p *graphql.RawParams) (status int, msg string) {
	for name, v := range p.Variables {
		p.Variables[name] = integralNumbers(v)
	}
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return http.StatusBadRequest, "The request has no query parameter."
	}
	return 0, ""
}

// integralNumbers returns v with each JSON number in it that is a whole
// number written with an exponent or a fraction (7.0, 1e1) written as that
// integer; maps and lists are rewritten in place.
func integralNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = integralNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = integralNumbers(e)
		}
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			if f, err := x.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
				return json.Number(strconv.FormatInt(int64(f), 10))
			}
		}
	}
	return v
}

// decodeJSON decodes exactly one JSON value, keeping numbers exact.
func decodeJSON(data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// requestErrorStatus is the status of a request that did not run: 401 when
// it needs a token, 400 under application/graphql-response+json, else 200.
func requestErrorStatus(resp *graphql.Response, media string) int {
	for _, e := range resp.Errors {
		if e.Extensions["code"] == license.EUNAUTHENTICATED {
			return http.StatusUnauthorized
		}
	}
	if media == mediaGraphQLResponse {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// retryAfter says whether a response is a rate-limit refusal, and the whole
// seconds to wait.
func retryAfter(resp *graphql.Response) (int, bool) {
	if resp == nil || len(resp.Errors) == 0 {
		return 0, false
	}
	for _, e := range resp.Errors {
		if e.Extensions["code"] != license.ERATELIMITED {
			return 0, false
		}
	}
	secs, _ := resp.Errors[0].Extensions["retryAfterSeconds"].(float64)
	return max(1, int(math.Ceil(secs))), true
}

// maxErrors is how many errors an answer lists; the rest are counted in
// a last one, so a small document can't make a large answer.
const maxErrors = 20

// writeResponse writes a GraphQL response; a request that did not run has
// no data entry.
func writeResponse(w http.ResponseWriter, status int, resp *graphql.Response, ran bool) {
	if n := len(resp.Errors); n > maxErrors {
		resp.Errors = append(resp.Errors[:maxErrors:maxErrors], &gqlerror.Error{
			Message:    fmt.Sprintf("…and %d more errors.", n-maxErrors),
			Extensions: map[string]any{"code": resp.Errors[0].Extensions["code"]},
		})
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="autoclaim"`)
	}
	w.WriteHeader(status)
	var b []byte
	if ran {
		b, _ = json.Marshal(resp)
	} else {
		b, _ = json.Marshal(struct {
			Errors     gqlerror.List  `json:"errors"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Extensions})
	}
	w.Write(b)
}

// writeErrors writes a response holding one error with msg.
func writeErrors(w http.ResponseWriter, msg string) {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"message": msg}}})
	w.Write(b)
}
