package resolvers

import (
	"context"
	"slices"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/graph/model"
	"github.com/autoclaim/autoclaim/license"
)

// plans returns the service plans of sku with the given ids, in the SKU's order.
// With keep false it returns the other plans instead.
func plans(sku *license.SKU, ids []string, keep bool) []*license.ServicePlan {
	out := []*license.ServicePlan{}
	if sku == nil {
		return out
	}
	for i := range sku.ServicePlans {
		if slices.Contains(ids, sku.ServicePlans[i].ID) == keep {
			out = append(out, &sku.ServicePlans[i])
		}
	}
	return out
}

// policyProducts loads a policy's products and builds their views, in order.
func (r *Resolver) policyProducts(ctx context.Context, p *license.Policy) ([]*model.PolicyProduct, error) {
	products, err := r.Service.ProductsByID(ctx, p.ProductIDs())
	if err != nil {
		return nil, err
	}
	out := make([]*model.PolicyProduct, len(products))
	for i, prod := range products {
		off := p.Products[i].DisabledServicePlanIDs
		out[i] = &model.PolicyProduct{
			Position:             i + 1,
			IsPrimary:            i == 0,
			Product:              prod,
			EnabledServicePlans:  plans(prod.SKU, off, false),
			DisabledServicePlans: plans(prod.SKU, off, true),
			AvailableLicenses:    prod.AvailableLicenses(),
		}
	}
	return out, nil
}

// userConnection builds a Relay connection from a page of users; a cursor is a user id.
func userConnection(page *license.UserPage) *model.UserConnection {
	c := &model.UserConnection{
		Edges:      make([]*model.UserEdge, len(page.Users)),
		Nodes:      page.Users,
		TotalCount: page.TotalCount,
		PageInfo:   &model.PageInfo{HasNextPage: page.HasNextPage},
	}
	for i, u := range page.Users {
		c.Edges[i] = &model.UserEdge{Cursor: u.ID, Node: u}
	}
	if n := len(page.Users); n > 0 {
		c.PageInfo.StartCursor = &page.Users[0].ID
		c.PageInfo.EndCursor = &page.Users[n-1].ID
	}
	return c
}

// app returns a catalog app. Returns ENOTFOUND if the catalog lacks it.
func (r *Resolver) app(id string) (*license.App, error) {
	if a := r.Service.Catalog().App(id); a != nil {
		return a, nil
	}
	return nil, license.Errorf(license.ENOTFOUND, "App %q was not found in the catalog.", id)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// nonEmpty returns nil for "", else a pointer to v.
func nonEmpty[T ~string](v T) *T {
	if v == "" {
		return nil
	}
	return &v
}

// optionalPolicy returns a policy, or nil when id is empty or the policy is gone.
func (r *Resolver) optionalPolicy(ctx context.Context, id string) (*license.Policy, error) {
	if id == "" {
		return nil, nil
	}
	p, err := r.Service.Policy(ctx, id)
	if license.ErrorCode(err) == license.ENOTFOUND {
		return nil, nil
	}
	return p, err
}

// optionalUser returns a user, or nil when the directory has no such user.
func (r *Resolver) optionalUser(ctx context.Context, tenantID, id string) (*license.User, error) {
	u, err := r.Service.User(ctx, tenantID, id)
	if license.ErrorCode(err) == license.ENOTFOUND {
		return nil, nil
	}
	return u, err
}

// claimedUserConnection builds a Relay connection from a page of claimed users.
func claimedUserConnection(page *license.ClaimedUserPage) *model.ClaimedUserConnection {
	c := &model.ClaimedUserConnection{
		Edges:      make([]*model.ClaimedUserEdge, len(page.Users)),
		Nodes:      page.Users,
		TotalCount: page.TotalCount,
		PageInfo:   &model.PageInfo{HasNextPage: page.HasNextPage},
	}
	for i, u := range page.Users {
		cursor := u.Cursor()
		c.Edges[i] = &model.ClaimedUserEdge{Cursor: cursor, Node: u}
		if i == 0 {
			c.PageInfo.StartCursor = &cursor
		}
	}
	if page.EndCursor != "" {
		c.PageInfo.EndCursor = &page.EndCursor
	}
	return c
}

// acquireSubscription takes a place for a subscription of the caller,
// given back when ctx ends.
func (r *Resolver) acquireSubscription(ctx context.Context) error {
	if r.Subscriptions == nil {
		return nil
	}
	c, err := auth.CallerFrom(ctx)
	if err != nil {
		return err
	}
	return r.Subscriptions.AcquireSubscription(ctx, c)
}

// auditConnection builds a Relay connection from a page of the audit log;
// a cursor is an entry's id.
func auditConnection(page *license.AuditPage) *model.AuditEntryConnection {
	c := &model.AuditEntryConnection{
		Edges:      make([]*model.AuditEntryEdge, len(page.Entries)),
		Nodes:      page.Entries,
		TotalCount: page.TotalCount,
		PageInfo:   &model.PageInfo{HasNextPage: page.HasNextPage},
	}
	for i, e := range page.Entries {
		c.Edges[i] = &model.AuditEntryEdge{Cursor: e.ID, Node: e}
	}
	if len(page.Entries) > 0 {
		c.PageInfo.StartCursor = &page.Entries[0].ID
	}
	if page.EndCursor != "" {
		c.PageInfo.EndCursor = &page.EndCursor
	}
	return c
}

// waitlistConnection builds a Relay connection from a page of a waitlist.
func waitlistConnection(page *license.WaitlistPage) *model.WaitlistConnection {
	c := &model.WaitlistConnection{
		Edges:      make([]*model.WaitlistEdge, len(page.Entries)),
		Nodes:      page.Entries,
		TotalCount: page.TotalCount,
		PageInfo:   pageInfo(page.Cursors, page.HasNextPage),
	}
	for i, e := range page.Entries {
		c.Edges[i] = &model.WaitlistEdge{Cursor: page.Cursors[i], Node: e}
	}
	return c
}

// inactiveLicenseConnection builds a Relay connection from a page of a
// policy's unused licenses.
func inactiveLicenseConnection(page *license.InactiveLicensePage) *model.InactiveLicenseConnection {
	c := &model.InactiveLicenseConnection{
		Edges:      make([]*model.InactiveLicenseEdge, len(page.Licenses)),
		Nodes:      page.Licenses,
		TotalCount: page.TotalCount,
		PageInfo:   pageInfo(page.Cursors, page.HasNextPage),
	}
	for i, l := range page.Licenses {
		c.Edges[i] = &model.InactiveLicenseEdge{Cursor: page.Cursors[i], Node: l}
	}
	return c
}

// pageInfo describes a page whose items have the given cursors.
func pageInfo(cursors []string, hasNextPage bool) *model.PageInfo {
	p := &model.PageInfo{HasNextPage: hasNextPage}
	if n := len(cursors); n > 0 {
		p.StartCursor, p.EndCursor = &cursors[0], &cursors[n-1]
	}
	return p
}

// licenseRequests reads a page of a tenant's license requests.
func (r *Resolver) licenseRequests(ctx context.Context, tenantID string, q license.RequestQuery) (*model.LicenseRequestConnection, error) {
	page, err := r.Service.LicenseRequests(ctx, tenantID, q)
	if err != nil {
		return nil, err
	}
	return requestConnection(page), nil
}

// requestConnection builds a Relay connection from a page of license
// requests.
func requestConnection(page *license.RequestPage) *model.LicenseRequestConnection {
	c := &model.LicenseRequestConnection{
		Edges:      make([]*model.LicenseRequestEdge, len(page.Requests)),
		Nodes:      page.Requests,
		TotalCount: page.TotalCount,
		PageInfo:   pageInfo(page.Cursors, page.HasNextPage),
	}
	for i, lr := range page.Requests {
		c.Edges[i] = &model.LicenseRequestEdge{Cursor: page.Cursors[i], Node: lr}
	}
	return c
}

// optionalRequest returns a license request, or nil when id is empty or
// the request was dropped.
func (r *Resolver) optionalRequest(ctx context.Context, id string) (*license.LicenseRequest, error) {
	if id == "" {
		return nil, nil
	}
	lr, err := r.Service.LicenseRequest(ctx, id)
	if license.ErrorCode(err) == license.ENOTFOUND {
		return nil, nil
	}
	return lr, err
}
