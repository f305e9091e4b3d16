package license

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Actor is who made a change: a token's subject and roles.
type Actor struct {
	Subject string
	Roles   []string
}

// System is the actor of the changes autoclaim makes by itself (seeding the
// demo tenants, for one).
var System = Actor{Subject: "autoclaim"}

// FieldChange is one field a change set: its value before and after, as
// text (nil: the field had, or has, no value).
type FieldChange struct {
	Field  string
	Before *string
	After  *string
}

// AuditEntry records one admin or operator change: who made it, when, with
// which mutation, to what, and what it changed. It is written in the same
// script as the change, so neither exists without the other.
type AuditEntry struct {
	ID        string // position in the tenant's audit log (a cursor)
	TenantID  string
	At        time.Time
	Actor     Actor
	Action    string   // the mutation's name, e.g. renameAutoClaimPolicy
	TargetIDs []string // the objects changed: tenant, product, policy or user ids
	Changes   []FieldChange
}

// DefaultAuditRetention is how long audit entries are kept unless an
// operator sets otherwise.
const DefaultAuditRetention = 365 * 24 * time.Hour

// AuditQuery selects a page of a tenant's audit log, newest first.
type AuditQuery struct {
	First  int       // entries in the page
	After  string    // the cursor of the entry the page follows ("" from the newest)
	Since  time.Time // only entries at or after (zero: all kept)
	Action string    // only entries of this mutation ("" all)
}

// AuditPage is one page of a tenant's audit log.
type AuditPage struct {
	Entries     []*AuditEntry
	HasNextPage bool
	// TotalCount is the number of entries the log keeps, before filters.
	TotalCount int
	// EndCursor is where the next page starts: the last entry's id, or,
	// when the filters matched few of the entries read, the last entry read.
	EndCursor string
}

// AuditService reads the audit log. Its entries are written by the services
// that make the changes.
type AuditService interface {
	// AuditLog returns a page of a tenant's audit log, newest first.
	// Returns ENOTFOUND (tenant) or EINVALID (a bad cursor or page size).
	AuditLog(ctx context.Context, tenantID string, q AuditQuery) (*AuditPage, error)
}

// Change names the change a call makes, for its audit entry: the mutation
// (Action) and who asked (Actor).
type Change struct {
	Action string
	Actor  Actor
}

type changeKey struct{}

// NewContextWithChange returns a context whose calls record c in the audit log.
func NewContextWithChange(ctx context.Context, c Change) context.Context {
	return context.WithValue(ctx, changeKey{}, c)
}

// ChangeFromContext returns the change a context names. Without one, the
// action is defaultAction and the actor System.
func ChangeFromContext(ctx context.Context, defaultAction string) Change {
	c, ok := ctx.Value(changeKey{}).(Change)
	if !ok {
		return Change{Action: defaultAction, Actor: System}
	}
	if c.Action == "" {
		c.Action = defaultAction
	}
	return c
}

// Text returns a pointer to a change's value.
func Text(s string) *string { return &s }

// BoolText writes a flag as a change's value.
func BoolText(b bool) *string { return Text(strconv.FormatBool(b)) }

// PolicyCreated lists what creating a policy set: its app, name, status,
// products and the service plans a claimed license of each leaves off.
func PolicyCreated(p *Policy) []FieldChange {
	out := []FieldChange{{Field: "app", After: Text(p.AppID)}}
	for _, c := range PolicyChanges(&Policy{Name: "", Enabled: !p.Enabled}, p) {
		c.Before = nil
		out = append(out, c)
	}
	return out
}

// PolicyChanges lists what an edit changed in a policy: its name, status,
// products (in order), settings (waitlistEnabled, reclaimInactiveAfterDays:
// none when off, releaseSupersededLicenses, approvalRequired) and, per product, the service plans a claimed
// license leaves off ("disabledServicePlans[<product id>]"; none before for
// a product added, none after for one removed).
func PolicyChanges(before, after *Policy) []FieldChange {
	var out []FieldChange
	if before.Name != after.Name {
		out = append(out, FieldChange{Field: "name", Before: Text(before.Name), After: Text(after.Name)})
	}
	if before.Enabled != after.Enabled {
		out = append(out, FieldChange{Field: "enabled", Before: BoolText(before.Enabled), After: BoolText(after.Enabled)})
	}
	if b, a := strings.Join(before.ProductIDs(), ","), strings.Join(after.ProductIDs(), ","); b != a {
		out = append(out, FieldChange{Field: "products", Before: Text(b), After: Text(a)})
	}
	if before.WaitlistEnabled != after.WaitlistEnabled {
		out = append(out, FieldChange{Field: "waitlistEnabled", Before: BoolText(before.WaitlistEnabled), After: BoolText(after.WaitlistEnabled)})
	}
	if b, a := before.ReclaimInactiveAfterDays, after.ReclaimInactiveAfterDays; b != a {
		out = append(out, FieldChange{Field: "reclaimInactiveAfterDays", Before: daysText(b), After: daysText(a)})
	}
	if before.ReleaseSupersededLicenses != after.ReleaseSupersededLicenses {
		out = append(out, FieldChange{Field: "releaseSupersededLicenses", Before: BoolText(before.ReleaseSupersededLicenses), After: BoolText(after.ReleaseSupersededLicenses)})
	}
	if before.ApprovalRequired != after.ApprovalRequired {
		out = append(out, FieldChange{Field: "approvalRequired", Before: BoolText(before.ApprovalRequired), After: BoolText(after.ApprovalRequired)})
	}
	plans := func(p *Policy, id string) *string {
		if i := p.Position(id); i >= 0 {
			return Text(strings.Join(p.Products[i].DisabledServicePlanIDs, ","))
		}
		return nil
	}
	ids := append(before.ProductIDs(), after.ProductIDs()...)
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			continue
		}
		b, a := plans(before, id), plans(after, id)
		if (b == nil) != (a == nil) || (b != nil && *b != *a) {
			if (b == nil || *b == "") && (a == nil || *a == "") {
				continue // a product added or removed with no plans off says nothing more
			}
			out = append(out, FieldChange{Field: "disabledServicePlans[" + id + "]", Before: b, After: a})
		}
	}
	return out
}

// daysText writes a reclaim period as a change's value: none when off (0).
func daysText(days int) *string {
	if days == 0 {
		return nil
	}
	return Text(strconv.Itoa(days))
}
