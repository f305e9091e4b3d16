package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// Demo tenants. Contoso comes with auto-claim on and a preconfigured Power
// Automate policy; Fabrikam starts as a new tenant does (setting off, no
// policy), for walking through the admin flow.
const (
	demoContoso  = "contoso"
	demoFabrikam = "fabrikam"
)

// seedDemo creates the demo tenants unless they exist already.
func seedDemo(ctx context.Context, svc license.Service) error {
	if err := seedTenant(ctx, svc, demoContoso, "Contoso", "adele", "adele@contoso.com", "Adele Vance", true); err != nil {
		return err
	}
	return seedTenant(ctx, svc, demoFabrikam, "Fabrikam", "fiona", "fiona@fabrikam.com", "Fiona Park", false)
}

func seedTenant(ctx context.Context, svc license.Service, id, name, adminID, adminUPN, adminName string, preconfigured bool) error {
	_, _, err := svc.CreateTenant(ctx, license.NewTenant{
		ID: id, Name: name, AdminID: adminID, AdminUserPrincipalName: adminUPN, AdminDisplayName: adminName,
		AutoClaimEnabled: preconfigured,
	})
	if license.ErrorCode(err) == license.ECONFLICT {
		return nil // seeded by an earlier start
	}
	if err != nil {
		return fmt.Errorf("seed %s: %w", id, err)
	}
	quantities := []struct {
		sku string
		n   int
	}{{"POWERAPPS_PER_USER", 25}, {"FLOW_PER_USER", 10}, {"POWERAUTOMATE_ATTENDED_RPA", 5}}
	var products []*license.Product
	for _, q := range quantities {
		p, err := svc.AddProduct(ctx, id, q.sku, q.n)
		if err != nil {
			return fmt.Errorf("seed %s: %w", id, err)
		}
		products = append(products, p)
	}
	domain := id + ".com"
	for _, u := range [][2]string{{"alex", "Alex Wilber"}, {"megan", "Megan Bowen"}, {"lee", "Lee Gu"}, {"diego", "Diego Siciliani"}} {
		if _, err := svc.CreateUser(ctx, license.NewUser{TenantID: id, ID: u[0], UserPrincipalName: u[0] + "@" + domain, DisplayName: u[1]}); err != nil {
			return fmt.Errorf("seed %s: %w", id, err)
		}
	}
	if !preconfigured {
		return nil
	}
	_, err = svc.CreatePolicy(ctx, license.NewPolicy{
		TenantID: id, Name: "Power Automate", AppID: "POWER_AUTOMATE", Enabled: true, AutoCreated: true,
		Products: []license.PolicyProduct{{ProductID: products[1].ID}, {ProductID: products[2].ID}},
	})
	if err != nil {
		return fmt.Errorf("seed %s: %w", id, err)
	}
	return nil
}

// demoTokens are ready-made bearer tokens for the demo tenants.
type demoTokens struct{ name, token string }

func issueDemoTokens(secret []byte, now time.Time) ([]demoTokens, error) {
	callers := []struct {
		name string
		c    auth.Caller
	}{
		{"OPERATOR_TOKEN", auth.Caller{Subject: "operator", Roles: []auth.Role{auth.Operator}}},
		{"ADMIN_TOKEN", auth.Caller{Subject: "adele", TenantID: demoContoso, Roles: []auth.Role{auth.GlobalAdmin}}},
		{"READER_TOKEN", auth.Caller{Subject: "reports-reader", TenantID: demoContoso, Roles: []auth.Role{auth.ReportsReader}}},
		{"APP_TOKEN", auth.Caller{Subject: "power-automate", TenantID: demoContoso, Roles: []auth.Role{auth.App}}},
		{"USER_TOKEN", auth.Caller{Subject: "megan", TenantID: demoContoso, Roles: []auth.Role{auth.User}}},
		{"FABRIKAM_ADMIN_TOKEN", auth.Caller{Subject: "fiona", TenantID: demoFabrikam, Roles: []auth.Role{auth.GlobalAdmin}}},
	}
	out := make([]demoTokens, len(callers))
	for i, c := range callers {
		tok, err := auth.Issue(secret, c.c, 7*24*time.Hour, now)
		if err != nil {
			return nil, err
		}
		out[i] = demoTokens{c.name, tok}
	}
	return out, nil
}

func printDemoTokens(w io.Writer, tokens []demoTokens) {
	fmt.Fprintln(w, "Demo tokens (valid 7 days, for this run only; paste into a shell):")
	for _, t := range tokens {
		fmt.Fprintf(w, "export %s=%s\n", t.name, t.token)
	}
}
