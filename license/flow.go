package license

import (
	"context"
	"time"
)

// Licenses that flow back: a policy's waitlist, reclaiming licenses their
// holders stopped using, and alerts when a product runs low.

// Limits of the flow back.
const (
	// WaitlistExpiry is how long a user stays on a policy's waitlist
	// without getting a license.
	WaitlistExpiry = 30 * 24 * time.Hour
	// SweepInterval is how often a policy with a reclaim period has its
	// idle licenses reclaimed, at most.
	SweepInterval = time.Hour
	// MinReclaimDays and MaxReclaimDays bound a reclaim period.
	MinReclaimDays = 7
	MaxReclaimDays = 365
)

// Update is one setting of a settings change: Set says whether the change
// sets it, to Value.
type Update[T any] struct {
	Set   bool
	Value T
}

// PolicySettings is a change of a policy's settings
// (updateAutoClaimPolicySettings). A setting not Set keeps its value.
type PolicySettings struct {
	// WaitlistEnabled turns the policy's waitlist on or off; off empties it.
	WaitlistEnabled Update[bool]
	// ReclaimInactiveAfterDays sets the reclaim period (MinReclaimDays to
	// MaxReclaimDays); a nil Value turns reclaiming off.
	ReclaimInactiveAfterDays Update[*int]
	// ReleaseSupersededLicenses turns releasing superseded licenses on or
	// off (Policy.ReleaseSupersededLicenses).
	ReleaseSupersededLicenses Update[bool]
	// ApprovalRequired turns approval of claims on or off; off, pending
	// requests stay for an admin to decide (or to expire).
	ApprovalRequired Update[bool]
	// ExpectedVersion, when set, must be the policy's version.
	ExpectedVersion *int64
}

// ApplySettings applies a settings change to the policy. Returns, each
// about its field and all at once, EINVALID for a reclaim period out of
// bounds or an expected version that no policy has (below 1), and
// ECONFLICT when ExpectedVersion is not the policy's version; the policy
// is left as it was then.
func (p *Policy) ApplySettings(s PolicySettings) error {
	var problems Problems
	switch v := s.ExpectedVersion; {
	case v != nil && *v < 1:
		problems.Add("expectedVersion", Errorf(EINVALID, "A policy's version is 1 or more; got %d.", *v))
	case v != nil && *v != p.Version:
		problems.Add("expectedVersion", Errorf(ECONFLICT, "Policy %q is at version %d, not %d: someone changed it since you read it. Read it again and retry.", p.Name, p.Version, *v))
	}
	days := p.ReclaimInactiveAfterDays
	if s.ReclaimInactiveAfterDays.Set {
		days = 0
		if v := s.ReclaimInactiveAfterDays.Value; v != nil {
			problems.Add("reclaimInactiveAfterDays", ValidateReclaimDays(*v))
			days = *v
		}
	}
	if err := problems.Err(); err != nil {
		return err
	}
	if s.WaitlistEnabled.Set {
		p.WaitlistEnabled = s.WaitlistEnabled.Value
	}
	if s.ReleaseSupersededLicenses.Set {
		p.ReleaseSupersededLicenses = s.ReleaseSupersededLicenses.Value
	}
	if s.ApprovalRequired.Set {
		p.ApprovalRequired = s.ApprovalRequired.Value
	}
	p.ReclaimInactiveAfterDays = days
	return nil
}

// ValidateReclaimDays checks a reclaim period, or the idleness a reclaim
// asks for: MinReclaimDays to MaxReclaimDays days.
func ValidateReclaimDays(days int) error {
	if days < MinReclaimDays || days > MaxReclaimDays {
		return Errorf(EINVALID, "Licenses can be reclaimed after %d to %d days without use; got %d.", MinReclaimDays, MaxReclaimDays, days)
	}
	return nil
}

// ValidateThreshold checks a low-license threshold: 0 (off) to MaxQuantity.
func ValidateThreshold(threshold int) error {
	if threshold < 0 || threshold > MaxQuantity {
		return Errorf(EINVALID, "The low-license threshold must be between 0 (off) and %d; got %d.", MaxQuantity, threshold)
	}
	return nil
}

// RunningLow says whether the product's available licenses are at or below
// its low-license threshold (never when the threshold is 0, off).
func (p *Product) RunningLow() bool {
	return p.LowLicenseThreshold > 0 && p.AvailableLicenses() <= p.LowLicenseThreshold
}

// WaitlistEntry is a user waiting on a policy's waitlist for a license.
type WaitlistEntry struct {
	TenantID string
	PolicyID string
	UserID   string
	QueuedAt time.Time
	// Trigger is the trigger of the claim that queued the user: a fill gives
	// a license that covers it.
	Trigger Trigger
	// Position is the entry's place in the queue, 1 first.
	Position int
}

// WaitlistPage is one page of a policy's waitlist, in queue order.
type WaitlistPage struct {
	Entries []*WaitlistEntry
	// Cursors[i] is where Entries[i] is in the waitlist, for paging.
	Cursors     []string
	HasNextPage bool
	TotalCount  int
}

// InactiveLicensePage is one page of a policy's idle licenses, the longest
// idle first.
type InactiveLicensePage struct {
	Licenses []*License
	// Cursors[i] is where Licenses[i] is in the list, for paging.
	Cursors     []string
	HasNextPage bool
	// TotalCount is how many licenses a reclaim would release now.
	TotalCount int
}

// FlowService runs the flow back of licenses: waitlists, reclaiming idle
// licenses and low-license alerts. Settings change through
// PolicyService.UpdatePolicy with Policy.ApplySettings.
type FlowService interface {
	// Waitlist returns up to first users waiting on a policy's waitlist
	// after the cursor after, in queue order. Returns ENOTFOUND or
	// EINVALID (a bad cursor or page size).
	Waitlist(ctx context.Context, policyID string, first int, after string) (*WaitlistPage, error)
	// RemoveFromWaitlist takes a user off a policy's waitlist. Returns
	// ENOTFOUND if the policy does not exist or the user is not waiting.
	RemoveFromWaitlist(ctx context.Context, policyID, userID string) error
	// InactiveLicenses returns the AUTO_CLAIM licenses of a policy unused
	// for at least days days (the dry run of ReclaimInactiveLicenses), the
	// longest idle first. Returns ENOTFOUND or EINVALID (days, a bad cursor
	// or page size).
	InactiveLicenses(ctx context.Context, policyID string, days, first int, after string) (*InactiveLicensePage, error)
	// ReclaimInactiveLicenses releases the licenses InactiveLicenses lists
	// to their pools, which feeds the waitlists, and returns how many it
	// released. Returns ENOTFOUND or EINVALID (days).
	ReclaimInactiveLicenses(ctx context.Context, policyID string, days int) (int, error)
	// SetLowLicenseThreshold sets the available count at or below which a
	// product is running low (0: off). Returns ENOTFOUND or EINVALID.
	SetLowLicenseThreshold(ctx context.Context, productID string, threshold int) (*Product, error)
}
