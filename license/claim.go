package license

import (
	"context"
	"slices"
	"time"
)

// Outcome is the answer to a claim.
type Outcome string

// Outcomes.
const (
	Claimed         Outcome = "CLAIMED"
	AlreadyLicensed Outcome = "ALREADY_LICENSED"
	Denied          Outcome = "DENIED"
	// Queued: no license was available, and the user waits on the
	// policy's waitlist.
	Queued Outcome = "QUEUED"
	// PendingApproval: the policy requires approval, and the claim made
	// (or found) a license request for an admin to decide.
	PendingApproval Outcome = "PENDING_APPROVAL"
)

// Reason says why a claim was denied.
type Reason string

// Denial reasons.
const (
	ReasonAutoClaimDisabled  Reason = "AUTO_CLAIM_DISABLED"   // the org setting is off
	ReasonNoPolicy           Reason = "NO_POLICY"             // the app has no policy
	ReasonPolicyDisabled     Reason = "POLICY_DISABLED"       // the app's policy is off
	ReasonTriggerNotEligible Reason = "TRIGGER_NOT_ELIGIBLE"  // no product of the policy covers the trigger
	ReasonNoLicenses         Reason = "NO_LICENSES_AVAILABLE" // every covering product is used up
)

// ClaimRequest asks for a license for a user who needs one now.
type ClaimRequest struct {
	TenantID string
	UserID   string
	AppID    string
	Trigger  Trigger
	// Caller is the subject of the token that asks (a user or an app's client
	// id); idempotency keys belong to it.
	Caller string
	// IdempotencyKey, when set, makes a retry by the same caller within
	// IdempotencyWindow of a claim that assigned a license return that first
	// answer and change nothing. Answers that changed nothing (ALREADY_LICENSED,
	// DENIED) are not remembered: a retry decides afresh.
	IdempotencyKey string
	// UserPrincipalName and DisplayName describe a user the tenant has not seen
	// before; the claim records them.
	UserPrincipalName string
	DisplayName       string
}

// IdempotencyWindow is how long an idempotency key is remembered.
const IdempotencyWindow = 24 * time.Hour

// ReportWindow is how far back claims are reported; older data is trimmed.
const ReportWindow = 90 * 24 * time.Hour

// Reasons lists the denial reasons in the order reports show them.
var Reasons = []Reason{ReasonAutoClaimDisabled, ReasonNoPolicy, ReasonPolicyDisabled, ReasonTriggerNotEligible, ReasonNoLicenses}

// ReportDays are the periods a report may cover.
var ReportDays = []int{1, 7, 30, 90}

// Validate checks the request's form against the catalog. Returns EINVALID for
// a bad id or a trigger the app does not have, ENOTFOUND for an unknown app.
func (r *ClaimRequest) Validate(c *Catalog) error {
	if err := ValidateTenantID(r.TenantID); err != nil {
		return OnField("tenantId", err)
	}
	var problems Problems
	problems.Add("userId", ValidateCallerID("user id", r.UserID))
	if r.IdempotencyKey != "" {
		problems.Add("idempotencyKey", ValidateCallerID("idempotency key", r.IdempotencyKey))
	}
	if r.UserPrincipalName != "" {
		problems.Add("userPrincipalName", ValidateUserPrincipalName(r.UserPrincipalName))
	}
	if r.DisplayName != "" {
		problems.Add("displayName", ValidateName("display name", r.DisplayName))
	}
	if app := c.App(r.AppID); app == nil {
		problems.Add("appId", Errorf(ENOTFOUND, "App %q was not found in the catalog.", r.AppID))
	} else if !slices.Contains(app.Triggers, r.Trigger) {
		problems.Add("trigger", Errorf(EINVALID, "%s has no trigger %s; its triggers are %v.", app.DisplayName, r.Trigger, app.Triggers))
	}
	return problems.Err()
}

// ClaimEvent records one claim decision. Events go to the tenant's event stream.
type ClaimEvent struct {
	ID             string // stream id; the resume cursor
	TenantID       string
	PolicyID       string // empty when the app had no policy
	UserID         string
	AppID          string
	ProductID      string // the product assigned or already held; empty when denied
	Trigger        Trigger
	Outcome        Outcome
	Reason         Reason // empty unless Denied
	At             time.Time
	AvailableAfter int // licenses available across the policy's products after the claim
	// RequestID is the license request the decision is about: the one a
	// PENDING_APPROVAL claim made, or the one whose approval made it.
	RequestID string
}

// ClaimResult is the answer to a claim.
type ClaimResult struct {
	Outcome Outcome
	Reason  Reason
	// Product is the product assigned (CLAIMED) or the one already held
	// (ALREADY_LICENSED); nil when denied. Its counts are as of the claim (on
	// a replay, as the first answer gave them).
	Product *Product
	// ProductID is set whenever Product would be; Product may be nil while
	// ProductID is set when the held product was not read.
	ProductID string
	// License is the license assigned or held, as it was when the first
	// answer was given.
	License *License
	// Event is the decision's event in the tenant's stream; nil when the
	// decision appended none (ALREADY_LICENSED, or a denial already reported
	// that UTC day for the same user, policy or app, and reason).
	Event *ClaimEvent
	// Replayed is true when the answer repeats the first answer to the same
	// idempotency key.
	Replayed bool
	// WaitlistPosition is the user's place on the policy's waitlist, 1
	// first (Queued only).
	WaitlistPosition int
	// Released lists the licenses the claim gave back because the product
	// it assigned supersedes theirs (Policy.ReleaseSupersededLicenses), as
	// they were before; empty otherwise.
	Released []*License
	// Request is the license request made, or found pending, for the user
	// under the policy (PendingApproval only).
	Request *LicenseRequest
}

// Report is the auto-claim report of a tenant over the past Days days.
type Report struct {
	Days        int
	Since       time.Time
	Until       time.Time
	TotalClaims int
	Policies    []*PolicyReport
	// Denials counts every denial of the period by reason: those under the
	// current policies and those for apps that had no policy.
	Denials []DenialCount
}

// PolicyReport counts the licenses one policy assigned and the claims it
// turned away.
type PolicyReport struct {
	Days int // the report's period
	// Policy is the policy as it is, or as it was when it was deleted: a
	// deleted policy's claims stay in reports, under its last name, while
	// they are in the period.
	Policy   *Policy
	Claims   int
	Products []ProductClaims // per product, in the policy's order, then removed products
	Daily    []DailyClaims   // one per day of the period, oldest first
	Denials  []DenialCount   // per reason, in the order of Reasons; reasons never given are left out
	// WaitlistFills counts the licenses given to waiting users (also
	// counted in Claims), and Reclaimed the licenses reclaimed as idle.
	WaitlistFills int
	Reclaimed     int
}

// DenialCount counts the claims denied for one reason.
type DenialCount struct {
	Reason Reason
	Count  int
}

// ProductClaims counts licenses assigned from one product.
type ProductClaims struct {
	ProductID string
	Claims    int
}

// DailyClaims counts licenses assigned, and claims denied, on one UTC day.
type DailyClaims struct {
	Date   string // YYYY-MM-DD
	Claims int
	Denied int
	// WaitlistFills counts the claims that gave a waiting user a license
	// (also counted in Claims), and Reclaimed the licenses reclaimed.
	WaitlistFills int
	Reclaimed     int
}

// ClaimedUser is one license claimed under a policy: who claimed it, when,
// of which product and on which trigger.
type ClaimedUser struct {
	ID        string // position in the policy's claims (a cursor)
	TenantID  string
	PolicyID  string
	UserID    string
	ProductID string
	Trigger   Trigger
	ClaimedAt time.Time
}

// ClaimedUserPage is one page of a policy's claimed users, newest first.
type ClaimedUserPage struct {
	Users       []*ClaimedUser
	HasNextPage bool
	TotalCount  int
	EndCursor   string
}

// ClaimService hands out licenses and reports on them.
type ClaimService interface {
	// Claim decides a claim atomically: a license the user holds that covers
	// the app and trigger answers ALREADY_LICENSED first, whatever the
	// switches say; then the org setting, the app's policy and its status,
	// then the policy's products in order. A denial is a result, not an
	// error. Returns EINVALID (a bad id, a trigger the app lacks, an
	// idempotency key reused with other arguments), ENOTFOUND (tenant or
	// app), or ECONFLICT if the app's policy is created and deleted without
	// pause while the claim is made.
	Claim(ctx context.Context, r ClaimRequest) (*ClaimResult, error)
	// Report returns the claims of the past days (1, 7, 30 or 90) per policy.
	// Returns EINVALID for other days.
	Report(ctx context.Context, tenantID string, days int) (*Report, error)
	// ClaimedUsers returns users who claimed under a policy in the past days,
	// newest first, up to first after the cursor after.
	ClaimedUsers(ctx context.Context, policyID string, days, first int, after string) (*ClaimedUserPage, error)
}

// ValidateReportDays checks a report period.
func ValidateReportDays(days int) error {
	for _, d := range ReportDays {
		if d == days {
			return nil
		}
	}
	return Errorf(EINVALID, "A report covers the past 1, 7, 30 or 90 days; %d is not one of them.", days)
}

// Cursor returns the position of u in its policy's claimed users, for paging.
func (u *ClaimedUser) Cursor() string { return u.ID }
