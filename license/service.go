package license

import "context"

// NewTenant is the input of creating a tenant.
type NewTenant struct {
	ID                     string // optional; a random id is chosen when empty
	Name                   string
	AdminUserPrincipalName string
	AdminDisplayName       string
	AdminID                string // optional; a random UUID is chosen when empty
	AutoClaimEnabled       bool   // tenants that come with the feature on
}

// NewUser is the input of adding a user to a tenant's directory.
type NewUser struct {
	TenantID          string
	ID                string // optional; a random id is chosen when empty
	UserPrincipalName string
	DisplayName       string
}

// UserPage is one page of a tenant's users, ordered by id.
type UserPage struct {
	Users       []*User
	HasNextPage bool
	TotalCount  int
}

// TenantService manages tenants and their org-wide settings.
type TenantService interface {
	// CreateTenant creates a tenant and its first Global admin.
	// Returns EINVALID for a bad name or principal name, ECONFLICT if the id is taken.
	CreateTenant(ctx context.Context, t NewTenant) (*Tenant, *User, error)
	// Tenant returns a tenant. Returns ENOTFOUND if it does not exist.
	Tenant(ctx context.Context, id string) (*Tenant, error)
	// SetPolicyLimit sets how many policies a tenant may hold.
	// Returns ENOTFOUND, EINVALID, or ECONFLICT if it holds more policies than limit.
	SetPolicyLimit(ctx context.Context, tenantID string, limit int) (*Tenant, error)
	// SetAutoClaimEnabled turns the org-wide auto-claim setting on or off.
	// Returns ENOTFOUND.
	SetAutoClaimEnabled(ctx context.Context, tenantID string, enabled bool) (*Tenant, error)
}

// ProductService manages a tenant's pools of licenses.
type ProductService interface {
	// AddProduct adds a pool of quantity licenses of a catalog SKU.
	// Returns ENOTFOUND (tenant), EINVALID (an SKU not in the catalog, a bad
	// quantity), ECONFLICT if the tenant has that SKU.
	AddProduct(ctx context.Context, tenantID, skuPartNumber string, quantity int) (*Product, error)
	// SetLicenseQuantity sets a product's total. Returns ENOTFOUND, EINVALID,
	// or ECONFLICT if quantity is below the licenses assigned.
	SetLicenseQuantity(ctx context.Context, productID string, quantity int) (*Product, error)
	// Product returns a product. Returns ENOTFOUND.
	Product(ctx context.Context, id string) (*Product, error)
	// Products returns a tenant's products in the order they were added.
	Products(ctx context.Context, tenantID string) ([]*Product, error)
	// ProductsByID returns the given products, in the given order, in one
	// round trip. Returns ENOTFOUND if one does not exist.
	ProductsByID(ctx context.Context, ids []string) ([]*Product, error)
}

// UserService manages a tenant's directory and directly assigned licenses.
type UserService interface {
	// CreateUser adds a user. Returns ENOTFOUND (tenant), EINVALID, or ECONFLICT
	// if the principal name or id is taken.
	CreateUser(ctx context.Context, u NewUser) (*User, error)
	// User returns a user. Returns ENOTFOUND.
	User(ctx context.Context, tenantID, userID string) (*User, error)
	// UsersByID returns the given users of a tenant, in the given order, in
	// one round trip; nil for an id the directory lacks.
	UsersByID(ctx context.Context, tenantID string, ids []string) ([]*User, error)
	// Users returns up to first users whose id sorts after after.
	Users(ctx context.Context, tenantID string, first int, after string) (*UserPage, error)
	// Licenses returns the licenses a user holds, in the order of their products.
	Licenses(ctx context.Context, tenantID, userID string) ([]*License, error)
	// AssignLicense gives a user a license of a product (source DIRECT).
	// Returns ENOTFOUND, EINVALID (service plans), or ECONFLICT if the user holds
	// one already or none is available.
	AssignLicense(ctx context.Context, userID, productID string, disabledServicePlanIDs []string) (*License, error)
	// RemoveLicense takes a user's license of a product back to its pool.
	// Returns ENOTFOUND if the user holds none, ECONFLICT if others keep
	// changing it at the same moment.
	RemoveLicense(ctx context.Context, userID, productID string) error
}

// PolicyService manages auto-claim policies. Every change is checked against
// the rules of DESIGN.md atomically, so concurrent admins can't break them.
type PolicyService interface {
	// CreatePolicy creates a policy. Returns ENOTFOUND, EINVALID, or ECONFLICT
	// if the tenant's policy limit is reached or the app already has a policy.
	CreatePolicy(ctx context.Context, p NewPolicy) (*Policy, error)
	// Policy returns a policy. Returns ENOTFOUND.
	Policy(ctx context.Context, id string) (*Policy, error)
	// Policies returns a tenant's policies in the order they were created.
	Policies(ctx context.Context, tenantID string) ([]*Policy, error)
	// UpdatePolicy reads a policy, applies edit to it and writes it back, all
	// or nothing; edit's error is returned unchanged. Returns ENOTFOUND, or
	// ECONFLICT if others keep changing the policy at the same moment.
	UpdatePolicy(ctx context.Context, id string, edit func(p *Policy, skuOf SKULookup) error) (*Policy, error)
	// DeletePolicy deletes a policy; licenses claimed under it stay. Returns ENOTFOUND.
	DeletePolicy(ctx context.Context, id string) error
}

// Service is everything the API needs from the system of record.
type Service interface {
	TenantService
	ProductService
	UserService
	PolicyService
	ClaimService
	FlowService
	RequestService
	EventService
	AuditService
	// Catalog returns the catalog in force.
	Catalog() *Catalog
}
