package license

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// ChangeKind names an admin change that dashboards show.
type ChangeKind string

// Change kinds.
const (
	ChangeSetting         ChangeKind = "AUTO_CLAIM_SETTING_CHANGED"
	ChangeProductAdded    ChangeKind = "PRODUCT_ADDED"
	ChangeQuantity        ChangeKind = "LICENSE_QUANTITY_CHANGED"
	ChangeLicenseAssigned ChangeKind = "LICENSE_ASSIGNED"
	ChangeLicenseRemoved  ChangeKind = "LICENSE_REMOVED"
	ChangePolicyCreated   ChangeKind = "POLICY_CREATED"
	ChangePolicyUpdated   ChangeKind = "POLICY_UPDATED"
	ChangePolicyDeleted   ChangeKind = "POLICY_DELETED"
	// ChangeLicenseReclaimed: a license unused for the policy's reclaim
	// period went back to its pool.
	ChangeLicenseReclaimed ChangeKind = "LICENSE_RECLAIMED"
	// ChangeLowLicenses: a product's available licenses fell to or below its
	// low-license threshold.
	ChangeLowLicenses ChangeKind = "LOW_LICENSES"
	// ChangeThreshold: a product's low-license threshold was set.
	ChangeThreshold ChangeKind = "LOW_LICENSE_THRESHOLD_CHANGED"
	// ChangeLicenseSuperseded: a license claimed under a policy went back to
	// its pool because its user claimed a product that supersedes it.
	ChangeLicenseSuperseded ChangeKind = "LICENSE_SUPERSEDED"
	// ChangeWaitlistRemoved: an admin took a user off a policy's waitlist.
	ChangeWaitlistRemoved ChangeKind = "WAITLIST_ENTRY_REMOVED"
	// ChangeRequestApproved: an admin approved a license request (the
	// claim event of what it led to follows).
	ChangeRequestApproved ChangeKind = "LICENSE_REQUEST_APPROVED"
	// ChangeRequestDenied: an admin denied a license request.
	ChangeRequestDenied ChangeKind = "LICENSE_REQUEST_DENIED"
	// ChangeRequestExpired: a license request went undecided for
	// RequestExpiry.
	ChangeRequestExpired ChangeKind = "LICENSE_REQUEST_EXPIRED"
)

// ChangeEvent records an admin change, as the change left things.
type ChangeEvent struct {
	ID       string // stream id; the resume cursor
	TenantID string
	Kind     ChangeKind
	At       time.Time
	// Enabled is the org setting (AUTO_CLAIM_SETTING_CHANGED) or the policy's
	// status (POLICY_*), after the change.
	Enabled    *bool
	PolicyID   string
	ProductIDs []string // the policy's products in order (POLICY_CREATED, POLICY_UPDATED)
	Version    int64    // the policy's version (POLICY_CREATED, POLICY_UPDATED)
	ProductID  string   // PRODUCT_ADDED, LICENSE_*, LOW_LICENSE*
	UserID     string   // LICENSE_*, WAITLIST_ENTRY_REMOVED
	RequestID  string   // LICENSE_REQUEST_*
	// TotalLicenses and AssignedLicenses are the product's counts after the
	// change (PRODUCT_ADDED, LICENSE_*, LOW_LICENSE*).
	TotalLicenses    *int
	AssignedLicenses *int
	// Threshold is the product's low-license threshold (LOW_LICENSE*).
	Threshold *int
	// Actor is who made the change (nil for events written before actors
	// were recorded, and for LOW_LICENSES and LICENSE_REQUEST_EXPIRED,
	// which no one makes).
	Actor *Actor
}

// Event is one entry of a tenant's event stream: a claim decision or an admin change.
type Event struct {
	Claim  *ClaimEvent
	Change *ChangeEvent
}

// ID returns the event's stream id.
func (e Event) ID() string {
	if e.Claim != nil {
		return e.Claim.ID
	}
	return e.Change.ID
}

// EventID is a position in a tenant's event stream: milliseconds and a sequence.
type EventID struct{ MS, Seq uint64 }

// ParseEventID reads "<ms>-<seq>". Returns EINVALID for anything else.
func ParseEventID(s string) (EventID, error) {
	msStr, seqStr, ok := strings.Cut(s, "-")
	ms, err1 := strconv.ParseUint(msStr, 10, 64)
	seq, err2 := strconv.ParseUint(seqStr, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return EventID{}, Errorf(EINVALID, "The cursor %q is not an event id (they look like 1764147600000-0).", s)
	}
	return EventID{ms, seq}, nil
}

// After reports whether id comes after o in the stream.
func (id EventID) After(o EventID) bool {
	return id.MS > o.MS || (id.MS == o.MS && id.Seq > o.Seq)
}

// String returns "<ms>-<seq>".
func (id EventID) String() string {
	return strconv.FormatUint(id.MS, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// Subscription is a subscriber's feed of a tenant's events of one kind (T
// is *ClaimEvent or *ChangeEvent): first those after its cursor, then live
// ones, each once and in stream order, until it ends.
type Subscription[T any] interface {
	// Events delivers the events. Close closes it.
	Events() <-chan T
	// Context is done once the subscription has ended: its context ended,
	// Close was called, the subscriber fell behind the live events, or
	// reading the events it missed failed. No event follows.
	Context() context.Context
	// Err says why the subscription ended, once Context is done: nil when
	// its context ended or Close was called; EUNAVAILABLE when the
	// subscriber fell behind (it may subscribe again with the last event id
	// it received) or reading the events it missed failed.
	Err() error
	// Close ends the subscription, if it has not ended, and closes Events.
	// It may be called more than once, from any goroutine.
	Close()
}

// EventService follows tenants' event streams.
type EventService interface {
	// SubscribeClaims follows a tenant's claim decisions (those under one
	// policy when policyID is not empty) after the cursor after, an event
	// id, or from now when after is empty, until ctx ends. Live reads that
	// fail are retried until Redis answers again; subscriptions stay open
	// meanwhile. Events older than ReportWindow are trimmed: a cursor older
	// than that resumes from the oldest event kept. Returns ENOTFOUND for an
	// unknown tenant and EINVALID for a bad cursor.
	SubscribeClaims(ctx context.Context, tenantID, policyID, after string) (Subscription[*ClaimEvent], error)
	// SubscribeChanges follows a tenant's admin changes as SubscribeClaims
	// follows its claims. Both share one stream: an id from either resumes
	// either.
	SubscribeChanges(ctx context.Context, tenantID, after string) (Subscription[*ChangeEvent], error)
}
