package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// csvColumns are the columns of the report export, one row per license
// claimed in the period, newest first within each policy.
var csvColumns = []string{
	"claimed_at",          // RFC 3339, UTC
	"policy_id",           // the policy's id
	"policy_name",         // its name, or its last name when deleted
	"policy_deleted",      // true or false
	"user_id",             // the user's id
	"user_principal_name", // empty when the directory has no such user
	"user_display_name",   // empty when the directory has no such user
	"product_id",          // the product's id
	"product_name",        // the product's display name
	"sku_part_number",     // the product's SKU part number
	"trigger",             // what the user did (WAITLIST for a waitlist fill)
}

// reportCSVPath is where the server serves the export.
const reportCSVPath = "/reports/autoclaim.csv"

// csvPage is how many claims the export reads at a time.
const csvPage = 500

// reportCSV serves GET /reports/autoclaim.csv?tenantId=…&days=…: the
// auto-claim report's claims as CSV (RFC 4180, every cell quoted), streamed a
// page at a time, for the bearer token's caller with a report role. Another
// tenant is 404. Cells a spreadsheet would take for a formula are prefixed
// with a quote. A read that fails once the file has started aborts the
// response, so that a client never takes a short file for the whole.
func reportCSV(svc license.Service, verifier *auth.Verifier, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := verifier.VerifyHeader(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="autoclaim"`)
			refuseCSV(w, http.StatusUnauthorized, &license.Error{Code: license.EUNAUTHENTICATED, Message: license.ErrorMessage(err)})
			return
		}
		ctx := auth.WithCaller(r.Context(), c, nil)
		if _, err := auth.Require(ctx, auth.Operator, auth.GlobalAdmin, auth.LicenseAdmin, auth.ReportsReader); err != nil {
			refuseCSV(w, http.StatusForbidden, err)
			return
		}
		tenantID, days, err := csvParams(r.URL.Query())
		if err != nil {
			refuseCSV(w, http.StatusBadRequest, err)
			return
		}
		if err := auth.CheckTenant(ctx, tenantID, fmt.Sprintf("Tenant %q", tenantID)); err != nil {
			refuseCSV(w, http.StatusNotFound, err)
			return
		}
		report, err := svc.Report(ctx, tenantID, days)
		if err != nil {
			refuseCSV(w, httpStatusOf(err), err)
			return
		}
		products, err := svc.Products(ctx, tenantID)
		if err != nil {
			refuseCSV(w, httpStatusOf(err), err)
			return
		}
		byID := map[string]*license.Product{}
		for _, p := range products {
			byID[p.ID] = p
		}
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="autoclaim-%s-%dd.csv"`, tenantID, days))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		out := &csvWriter{w: w}
		out.row(csvColumns...)
		for _, pr := range report.Policies {
			for after := ""; ; {
				page, err := svc.ClaimedUsers(ctx, pr.Policy.ID, days, csvPage, after)
				if err != nil {
					abortCSV(log, r, tenantID, err)
				}
				ids := make([]string, len(page.Users))
				for i, u := range page.Users {
					ids[i] = u.UserID
				}
				users, err := svc.UsersByID(ctx, tenantID, ids)
				if err != nil {
					abortCSV(log, r, tenantID, err)
				}
				for i, row := range page.Users {
					upn, name := "", ""
					if u := users[i]; u != nil {
						upn, name = u.UserPrincipalName, u.DisplayName
					}
					productName, sku := "", ""
					if p := byID[row.ProductID]; p != nil {
						productName, sku = p.DisplayName(), p.SkuPartNumber
					}
					out.row(row.ClaimedAt.UTC().Format(time.RFC3339Nano), pr.Policy.ID, pr.Policy.Name,
						strconv.FormatBool(!pr.Policy.DeletedAt.IsZero()), row.UserID, upn, name, row.ProductID,
						productName, sku, string(row.Trigger))
				}
				if err := out.flush(); err != nil {
					return // the client went away
				}
				if !page.HasNextPage {
					break
				}
				after = page.EndCursor
			}
		}
		out.flush()
	}
}

// csvParams reads the export's query: one tenantId, and days, a whole
// number (90 when absent; the report says which are allowed).
func csvParams(q url.Values) (tenantID string, days int, err error) {
	for name, vs := range q {
		if len(vs) > 1 {
			return "", 0, license.OnField(name, license.Errorf(license.EINVALID, "%s is given %d times; give it once.", name, len(vs)))
		}
	}
	tenantID = q.Get("tenantId")
	if tenantID == "" {
		return "", 0, license.OnField("tenantId", license.Errorf(license.EINVALID, "tenantId is required: the tenant whose report to export."))
	}
	days = 90
	if v, ok := q["days"]; ok {
		if days, err = strconv.Atoi(v[0]); err != nil {
			return "", 0, license.OnField("days", license.Errorf(license.EINVALID, "days %q is not a whole number of days.", v[0]))
		}
	}
	return tenantID, days, nil
}

// abortCSV ends a CSV response that has started but can't be finished:
// the failure is logged and the connection is cut, so that the client sees
// a failed download rather than a complete-looking short file.
func abortCSV(log *slog.Logger, r *http.Request, tenantID string, err error) {
	log.ErrorContext(r.Context(), "report export cut short", "tenant", tenantID, "err", err)
	panic(http.ErrAbortHandler)
}

// refuseCSV answers a refused export with a GraphQL-style error body that
// carries the error's code (and field, for a bad parameter).
func refuseCSV(w http.ResponseWriter, status int, err error) {
	e := map[string]any{"message": license.ErrorMessage(err)}
	var le *license.Error
	if errors.As(err, &le) {
		ext := map[string]any{"code": le.Code}
		if le.Field != "" {
			ext["field"] = le.Field
		}
		e["extensions"] = ext
	}
	b, _ := json.Marshal(map[string]any{"errors": []any{e}})
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// csvWriter writes RFC 4180 rows with every cell quoted (so that no
// spreadsheet splits a cell on a separator of its locale, such as ";"), CRLF
// line ends, and cells a spreadsheet would read as a formula neutralized.
type csvWriter struct {
	w   io.Writer
	buf []byte
}

func (c *csvWriter) row(cells ...string) {
	for i, cell := range cells {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.buf = append(c.buf, '"')
		if formulaLike(cell) {
			c.buf = append(c.buf, '\'')
		}
		c.buf = append(c.buf, strings.ReplaceAll(cell, `"`, `""`)...)
		c.buf = append(c.buf, '"')
	}
	c.buf = append(c.buf, '\r', '\n')
}

// flush writes the rows so far and sends them to the client.
func (c *csvWriter) flush() error {
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	if f, ok := c.w.(http.Flusher); ok && err == nil {
		f.Flush()
	}
	return err
}

// formulaLike reports whether a spreadsheet could take cell, or one of its
// ";"-separated parts, for a formula (OWASP's advice on CSV injection):
// a start, after any spaces, of = + - @ (or their full-width and small
// forms), a tab or a carriage return.
func formulaLike(cell string) bool {
	for part := range strings.SplitSeq(cell, ";") {
		part = strings.TrimLeft(part, " ")
		if part == "" {
			continue
		}
		r, _ := utf8.DecodeRuneInString(part)
		switch r {
		case '=', '+', '-', '@', '\t', '\r', '\n',
			'＝', '＋', '－', '＠', '﹦', '﹢', '﹣', '﹫':
			return true
		}
	}
	return false
}

// httpStatusOf is the status of a request refused with a domain error.
func httpStatusOf(err error) int {
	switch license.ErrorCode(err) {
	case license.EINVALID:
		return http.StatusBadRequest
	case license.ENOTFOUND:
		return http.StatusNotFound
	case license.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
