package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

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
// auto-claim report's claims as CSV (RFC 4180), streamed a page at a time,
// for the bearer token's caller with a report role. Another tenant is 404.
// Cells a spreadsheet would take for a formula (starting = + - @, or a tab
// or carriage return) are prefixed with a quote.
func reportCSV(svc license.Service, verifier *auth.Verifier) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := verifier.VerifyHeader(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="autoclaim"`)
			refuse(w, http.StatusUnauthorized, license.ErrorMessage(err))
			return
		}
		ctx := auth.WithCaller(r.Context(), c, nil)
		if _, err := auth.Require(ctx, auth.Operator, auth.GlobalAdmin, auth.LicenseAdmin, auth.ReportsReader); err != nil {
			refuse(w, http.StatusForbidden, license.ErrorMessage(err))
			return
		}
		q := r.URL.Query()
		tenantID := q.Get("tenantId")
		if err := auth.CheckTenant(ctx, tenantID, fmt.Sprintf("Tenant %q", tenantID)); err != nil {
			refuse(w, http.StatusNotFound, license.ErrorMessage(err))
			return
		}
		days := 90
		if v := q.Get("days"); v != "" {
			if days, err = strconv.Atoi(v); err != nil {
				days = -1
			}
		}
		report, err := svc.Report(ctx, tenantID, days)
		if err != nil {
			refuse(w, httpStatusOf(err), license.ErrorMessage(err))
			return
		}
		products, err := svc.Products(ctx, tenantID)
		if err != nil {
			refuse(w, httpStatusOf(err), license.ErrorMessage(err))
			return
		}
		byID := map[string]*license.Product{}
		for _, p := range products {
			byID[p.ID] = p
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="autoclaim-%s-%dd.csv"`, tenantID, days))
		out := csv.NewWriter(w)
		out.UseCRLF = true // RFC 4180
		out.Write(csvColumns)
		for _, pr := range report.Policies {
			for after := ""; ; {
				page, err := svc.ClaimedUsers(ctx, pr.Policy.ID, days, csvPage, after)
				if err != nil {
					return // the status is sent; the file ends short
				}
				ids := make([]string, len(page.Users))
				for i, u := range page.Users {
					ids[i] = u.UserID
				}
				users, err := svc.UsersByID(ctx, tenantID, ids)
				if err != nil {
					return
				}
				for i, row := range page.Users {
					upn, name := "", ""
					if u := users[i]; u != nil {
						upn, name = u.UserPrincipalName, u.DisplayName
					}
					productName, sku := "", ""
					if p := byID[row.ProductID]; p != nil {
						productName, sku = p.SkuPartNumber, p.SkuPartNumber
						if p.SKU != nil {
							productName = p.SKU.DisplayName
						}
					}
					out.Write(neutralized(row.ClaimedAt.UTC().Format(time.RFC3339Nano), pr.Policy.ID, pr.Policy.Name,
						strconv.FormatBool(!pr.Policy.DeletedAt.IsZero()), row.UserID, upn, name, row.ProductID,
						productName, sku, string(row.Trigger)))
				}
				out.Flush()
				if out.Error() != nil || !page.HasNextPage {
					break
				}
				after = page.EndCursor
			}
		}
		out.Flush()
	}
}

// neutralized returns cells with each one that a spreadsheet would read as
// a formula prefixed with a single quote (OWASP's advice on CSV injection).
func neutralized(cells ...string) []string {
	for i, c := range cells {
		if c != "" && (c[0] == '=' || c[0] == '+' || c[0] == '-' || c[0] == '@' || c[0] == '\t' || c[0] == '\r') {
			cells[i] = "'" + c
		}
	}
	return cells
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
