// Package license is the domain of autoclaim: tenants, products, auto-claim
// policies, users and their licenses, the rules that bind them, the error type
// and the built-in catalog. It imports no adapter (no GraphQL, no Redis).
package license

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the domain.
const (
	DefaultPolicyLimit = 1   // policies a new tenant may hold
	MaxPolicyLimit     = 100 // the most an operator may allow
	MaxPolicyProducts  = 5   // a primary and up to four backups
	MaxBackupProducts  = MaxPolicyProducts - 1
	MaxNameLength      = 100 // names of tenants, policies, users
	MaxIDLength        = 128 // ids given by callers (user ids, idempotency keys)
	MaxQuantity        = 10_000_000
)

// Tenant is an organization that buys licenses.
type Tenant struct {
	ID               string
	Name             string
	AutoClaimEnabled bool // the org-wide auto-claim setting; off by default
	PolicyLimit      int
	CreatedAt        time.Time
}

// Product is a pool of licenses of one SKU that a tenant bought.
type Product struct {
	ID               string
	TenantID         string
	SkuPartNumber    string
	SKU              *SKU // nil if the catalog no longer lists SkuPartNumber
	TotalLicenses    int
	AssignedLicenses int
	// LowLicenseThreshold is the available count at or below which the
	// product is running low (0: off).
	LowLicenseThreshold int
	CreatedAt           time.Time
}

// AvailableLicenses is total minus assigned; never negative.
func (p *Product) AvailableLicenses() int { return max(0, p.TotalLicenses-p.AssignedLicenses) }

// DisplayName is the product's name in the catalog, or its part number
// marked as no longer in the catalog.
func (p *Product) DisplayName() string {
	if p.SKU == nil {
		return p.SkuPartNumber + " (no longer in the catalog)"
	}
	return p.SKU.DisplayName
}

// PolicyProduct is one product of a policy, with the service plans a claimed
// license leaves disabled.
type PolicyProduct struct {
	ProductID              string
	DisabledServicePlanIDs []string
}

// Policy is an auto-claim policy: claims for App are served from Products in order.
type Policy struct {
	ID          string
	TenantID    string
	Name        string
	AppID       string
	Enabled     bool
	AutoCreated bool
	Products    []PolicyProduct // first is the primary, then backups
	Version     int64           // bumped by every change
	// ClaimedLicenses counts the licenses claimed under the policy that their
	// holders still have.
	ClaimedLicenses int
	// WaitlistEnabled queues the claims that find no license available;
	// licenses that become available go to the queue in order.
	WaitlistEnabled bool
	// ReclaimInactiveAfterDays, when not 0, has licenses claimed under the
	// policy and unused for that many days reclaimed by a sweep.
	ReclaimInactiveAfterDays int
	// ReleaseSupersededLicenses has a claim that assigns a product give
	// back the AUTO_CLAIM licenses the user holds through the policy of
	// products it supersedes (Catalog.Superseded), in the same step.
	ReleaseSupersededLicenses bool
	CreatedAt                 time.Time
	UpdatedAt                 time.Time
	// DeletedAt is when the policy was deleted; zero while it exists. Only
	// reports show deleted policies.
	DeletedAt time.Time
	// ApprovalRequired answers the claims that would get a license with a
	// license request, which an admin approves or denies.
	ApprovalRequired bool
}

// Position returns the index of productID in the policy, or -1.
func (p *Policy) Position(productID string) int {
	return slices.IndexFunc(p.Products, func(pp PolicyProduct) bool { return pp.ProductID == productID })
}

// ProductIDs returns the policy's product ids in order.
func (p *Policy) ProductIDs() []string {
	ids := make([]string, len(p.Products))
	for i, pp := range p.Products {
		ids[i] = pp.ProductID
	}
	return ids
}

// User is a person of a tenant's directory.
type User struct {
	ID                string
	TenantID          string
	UserPrincipalName string
	DisplayName       string
	CreatedAt         time.Time
}

// Source says how a license was assigned.
type Source string

// License sources.
const (
	SourceAutoClaim Source = "AUTO_CLAIM"
	SourceDirect    Source = "DIRECT"
)

// License is a license of one product held by one user.
type License struct {
	UserID                 string
	ProductID              string
	PolicyID               string // empty unless Source is SourceAutoClaim
	Source                 Source
	DisabledServicePlanIDs []string
	AssignedAt             time.Time
	// LastUsedAt is the last UTC day a claim found the license covering
	// (stamped with that day's first such claim); AssignedAt until then.
	LastUsedAt time.Time
	SKU        *SKU // the product's SKU, when known
}

// Direction moves a product within a policy.
type Direction string

// Directions.
const (
	Up   Direction = "UP"
	Down Direction = "DOWN"
)

var upnPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// isTenantID says whether id is 2 to 40 characters of a-z 0-9 -, not
// starting with -. (Byte loops, not regular expressions: every claim checks
// a tenant id and a user id.)
func isTenantID(id string) bool {
	if len(id) < 2 || len(id) > 40 || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isCallerID says whether id is made of A-Z a-z 0-9 . _ @ : - only.
func isCallerID(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '@' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateTenantID checks the form of a tenant id.
func ValidateTenantID(id string) error {
	if !isTenantID(id) {
		return Errorf(ENOTFOUND, "Tenant %q was not found.", id)
	}
	return nil
}

// ValidateName checks a display name: not blank, at most MaxNameLength
// characters, no control characters. what names the thing ("policy name").
func ValidateName(what, name string) error {
	trimmed := strings.TrimSpace(name)
	switch {
	case trimmed == "":
		return Errorf(EINVALID, "The %s can't be empty.", what)
	case !utf8.ValidString(name):
		return Errorf(EINVALID, "The %s must be valid UTF-8 text.", what)
	case utf8.RuneCountInString(trimmed) > MaxNameLength:
		return Errorf(EINVALID, "The %s can be at most %d characters long; it has %d.", what, MaxNameLength, utf8.RuneCountInString(trimmed))
	case strings.ContainsFunc(name, unicode.IsControl):
		return Errorf(EINVALID, "The %s can't contain control characters such as line breaks.", what)
	case strings.ContainsFunc(name, invisible):
		return Errorf(EINVALID, "The %s can't contain invisible characters (zero-width, direction marks, line or paragraph separators).", what)
	}
	return nil
}

// invisible reports format characters (zero-width spaces and joiners,
// direction marks and overrides) and line and paragraph separators: they
// let two names look alike.
func invisible(r rune) bool { return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) }

// ValidateUserPrincipalName checks the form name@domain: valid UTF-8, no
// spaces and no control characters.
func ValidateUserPrincipalName(upn string) error {
	switch {
	case len(upn) > 256 || !upnPattern.MatchString(upn):
		return Errorf(EINVALID, "The user principal name %q must look like name@example.com.", upn)
	case !utf8.ValidString(upn):
		return Errorf(EINVALID, "The user principal name %q must be valid UTF-8 text.", upn)
	case strings.ContainsFunc(upn, unicode.IsControl):
		return Errorf(EINVALID, "The user principal name %q can't contain control characters.", upn)
	case strings.ContainsFunc(upn, func(r rune) bool { return invisible(r) || unicode.IsSpace(r) || unicode.Is(unicode.Zs, r) }):
		return Errorf(EINVALID, "The user principal name %q can't contain spaces or invisible characters.", upn)
	}
	return nil
}

// ValidateCallerID checks an id chosen by a caller (a user id from the identity
// provider, an idempotency key): 1 to MaxIDLength characters of A-Z a-z 0-9 . _ @ : -.
func ValidateCallerID(what, id string) error {
	switch {
	case id == "":
		return Errorf(EINVALID, "The %s can't be empty.", what)
	case len(id) > MaxIDLength:
		return Errorf(EINVALID, "The %s can be at most %d characters long; it has %d.", what, MaxIDLength, len(id))
	case !isCallerID(id):
		return Errorf(EINVALID, "The %s %q may only contain letters, digits and . _ @ : -", what, id)
	}
	return nil
}

// ValidateQuantity checks a number of licenses.
func ValidateQuantity(q int) error {
	if q < 0 || q > MaxQuantity {
		return Errorf(EINVALID, "The number of licenses must be between 0 and %d; got %d.", MaxQuantity, q)
	}
	return nil
}

// ValidatePolicyLimit checks a tenant's policy limit.
func ValidatePolicyLimit(limit int) error {
	if limit < 1 || limit > MaxPolicyLimit {
		return Errorf(EINVALID, "The policy limit must be between 1 and %d; got %d.", MaxPolicyLimit, limit)
	}
	return nil
}

// Object kinds in ids.
const (
	kindProduct = "product"
	kindPolicy  = "policy"
	kindRequest = "request"
)

// ProductID returns the id of a tenant's n-th product.
func ProductID(tenantID string, n int64) string { return objectID(tenantID, kindProduct, n) }

// PolicyID returns the id of a tenant's n-th policy.
func PolicyID(tenantID string, n int64) string { return objectID(tenantID, kindPolicy, n) }

func objectID(tenantID, kind string, n int64) string {
	return tenantID + ":" + kind + ":" + strconv.FormatInt(n, 10)
}

// ParseProductID splits a product id into its tenant and number.
// Returns ENOTFOUND if id is not a product id.
func ParseProductID(id string) (tenantID string, n int64, err error) {
	return parseObjectID(id, kindProduct, "Product")
}

// ParsePolicyID splits a policy id into its tenant and number.
// Returns ENOTFOUND if id is not a policy id.
func ParsePolicyID(id string) (tenantID string, n int64, err error) {
	return parseObjectID(id, kindPolicy, "Policy")
}

func parseObjectID(id, kind, what string) (string, int64, error) {
	parts := strings.Split(id, ":")
	if len(parts) == 3 && parts[1] == kind && isTenantID(parts[0]) {
		if n, err := strconv.ParseInt(parts[2], 10, 64); err == nil && n > 0 && strconv.FormatInt(n, 10) == parts[2] {
			return parts[0], n, nil
		}
	}
	return "", 0, Errorf(ENOTFOUND, "%s %q was not found.", what, id)
}

// TenantOf returns the tenant id an object id belongs to: the id itself for a
// tenant id, the prefix of a product, policy or license request id. ok is false for anything else.
func TenantOf(id string) (tenantID string, ok bool) {
	if isTenantID(id) {
		return id, true
	}
	if t, _, err := ParseProductID(id); err == nil {
		return t, true
	}
	if t, _, err := ParsePolicyID(id); err == nil {
		return t, true
	}
	if t, _, err := ParseRequestID(id); err == nil {
		return t, true
	}
	return "", false
}

// KindOf names the kind of object an id denotes, for messages: "Product",
// "Policy", "License request", "Tenant" for an id without parts, or
// "Object" for anything else.
func KindOf(id string) string {
	switch parts := strings.Split(id, ":"); {
	case len(parts) == 3 && parts[1] == kindProduct:
		return "Product"
	case len(parts) == 3 && parts[1] == kindPolicy:
		return "Policy"
	case len(parts) == 3 && parts[1] == kindRequest:
		return "License request"
	case len(parts) == 1 && id != "":
		return "Tenant"
	}
	return "Object" // the id of nothing autoclaim has
}

// String returns a short description used in messages.
func (p *Product) String() string {
	if p.SKU != nil {
		return fmt.Sprintf("%s (%s)", p.SKU.DisplayName, p.ID)
	}
	return p.ID
}
