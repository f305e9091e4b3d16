package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/license"
)

// mintToken is the token subcommand: it signs an HS256 token with
// AUTOCLAIM_JWT_SECRET (or -jwt-secret) and prints it alone on stdout.
//
//	autoclaim token -role GLOBAL_ADMIN -tenant contoso -sub adele -ttl 1h [-app POWER_AUTOMATE]
func mintToken(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("autoclaim token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	roles := fs.String("role", "", "the caller's roles, comma-separated: "+roleNames())
	tenant := fs.String("tenant", "", "the caller's tenant id (not for OPERATOR)")
	sub := fs.String("sub", "", "the caller's id: a user id or an app's client id")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid (at most 8760h)")
	app := fs.String("app", "", "for an APP token: the one app it may claim licenses for")
	secret := fs.String("jwt-secret", getenv("AUTOCLAIM_JWT_SECRET"), "the HS256 secret the servers use (AUTOCLAIM_JWT_SECRET)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: autoclaim token -role ROLE[,ROLE] [-tenant ID] -sub ID [-ttl 1h] [-app APP_ID]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := auth.Caller{Subject: *sub, TenantID: *tenant, App: *app}
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.Roles = append(c.Roles, auth.Role(r))
		}
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("token: unexpected arguments %q", fs.Args())
	case *secret == "":
		return errors.New("token: AUTOCLAIM_JWT_SECRET is not set; tokens are signed with the servers' secret")
	case len(*secret) < minSecretBytes:
		return fmt.Errorf("token: AUTOCLAIM_JWT_SECRET is %d bytes long; the servers refuse secrets under %d", len(*secret), minSecretBytes)
	case len(c.Roles) == 0:
		return fmt.Errorf("token: -role is required (%s)", roleNames())
	case c.Subject == "":
		return errors.New("token: -sub is required")
	case *ttl <= 0 || *ttl > 365*24*time.Hour:
		return fmt.Errorf("token: -ttl must be between 1s and 8760h; got %s", *ttl)
	}
	for _, r := range c.Roles {
		if !slices.Contains(auth.AllRoles, r) {
			return fmt.Errorf("token: unknown role %q (%s)", r, roleNames())
		}
	}
	if !c.Has(auth.Operator) {
		if err := license.ValidateTenantID(c.TenantID); err != nil {
			return fmt.Errorf("token: -tenant must be a tenant id (2 to 40 characters of a-z, 0-9 and -); got %q", c.TenantID)
		}
	}
	if c.App != "" && !c.Has(auth.App) {
		return errors.New("token: -app binds an APP token to an app; add -role APP")
	}
	if c.App != "" {
		catalog := license.BuiltinCatalog()
		if file := getenv("AUTOCLAIM_CATALOG"); file != "" {
			var err error
			if catalog, err = extendCatalog(catalog, file); err != nil {
				return fmt.Errorf("token: %w", err)
			}
		}
		if catalog.App(c.App) == nil {
			return fmt.Errorf("token: the catalog has no app %q", c.App)
		}
	}
	tok, err := auth.Issue([]byte(*secret), c, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func roleNames() string {
	names := make([]string, len(auth.AllRoles))
	for i, r := range auth.AllRoles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
