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
	ProductID  string   // PRODUCT_ADDED, LICENSE_*
	UserID     string   // LICENSE_ASSIGNED, LICENSE_REMOVED
	// TotalLicenses and AssignedLicenses are the product's counts after the
	// change (PRODUCT_ADDED, LICENSE_*).
	TotalLicenses    *int
	AssignedLicenses *int
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

// EventBuffer is how many live events a subscriber may have waiting before
// it is dropped.
const EventBuffer = 256

// EventService streams a tenant's events to live subscribers.
type EventService interface {
	// Subscribe delivers the tenant's events after the cursor after (or from
	// now when after is empty), then live ones as they happen, each exactly
	// once and in order, until ctx ends. Missed events go through send, which
	// may wait for room (it must return once its ctx is done; false stops the
	// subscription); live events go through offer, which must not block and
	// answers false when the subscriber has no room: it is then dropped.
	// Calls to send and offer never overlap. Subscribe then calls done once
	// with nil, or with EUNAVAILABLE when the subscriber was dropped or its
	// catch-up read failed. (Live reads that fail are retried until Redis
	// answers again; subscriptions stay open meanwhile.) Events older than
	// ReportWindow are trimmed: a cursor older than that resumes from the
	// oldest event kept. Returns ENOTFOUND for an unknown tenant and
	// EINVALID for a bad cursor, without calling done.
	Subscribe(ctx context.Context, tenantID, after string, send func(context.Context, Event) bool,
		offer func(Event) bool, done func(error)) error
}
