package license

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Approval: a policy with ApprovalRequired answers the claims that would
// get a license under it with a license request (PENDING_APPROVAL), which a
// Global admin or License admin approves (the claim's walk runs then) or
// denies.

// Limits of license requests.
const (
	// RequestExpiry is how long a request waits for a decision: older, a
	// pending request is expired.
	RequestExpiry = 30 * 24 * time.Hour
	// RequestRetention is how long a decided or expired request is kept
	// (the report window) before it is dropped.
	RequestRetention = ReportWindow
	// MaxRequestMessageLength bounds the message of a denial, in characters.
	MaxRequestMessageLength = 500
)

// RequestStatus says where a license request stands.
type RequestStatus string

// Request statuses.
const (
	RequestPending  RequestStatus = "PENDING"
	RequestApproved RequestStatus = "APPROVED"
	RequestDenied   RequestStatus = "DENIED"
	RequestExpired  RequestStatus = "EXPIRED"
)

// LicenseRequest is a user's request for a license under a policy that
// requires approval, made by a claim that would have got one.
type LicenseRequest struct {
	ID       string
	TenantID string
	UserID   string
	AppID    string
	PolicyID string
	// Trigger is the trigger of the claim that made the request: the
	// license an approval gives covers it.
	Trigger     Trigger
	RequestedAt time.Time
	Status      RequestStatus
	// DecidedAt is when it was approved or denied, or when it expired;
	// zero while pending.
	DecidedAt time.Time
	// DecidedBy is who approved or denied it; nil while pending and for an
	// expired request.
	DecidedBy *Actor
	// Message is the denial's message, if the admin gave one.
	Message string
	// Outcome is what the approval led to (CLAIMED, QUEUED, DENIED, or
	// ALREADY_LICENSED when the user got a license another way since);
	// empty unless approved. Reason says why when it is DENIED.
	Outcome Outcome
	Reason  Reason
	// License is the license the approval gave (CLAIMED) or found
	// (ALREADY_LICENSED), as it was then.
	License *License
}

// At returns the request as it stands at now: a pending request made
// RequestExpiry or longer before now is expired, at that moment, even
// before the store's sweep records it.
func (r *LicenseRequest) At(now time.Time) *LicenseRequest {
	if r.Status != RequestPending || now.Before(r.ExpiresAt()) {
		return r
	}
	c := *r
	c.Status, c.DecidedAt = RequestExpired, r.ExpiresAt()
	return &c
}

// ExpiresAt is when the request expires if no one decides it.
func (r *LicenseRequest) ExpiresAt() time.Time { return r.RequestedAt.Add(RequestExpiry) }

// ValidateRequestMessage checks the message of a denial: at most
// MaxRequestMessageLength characters of valid UTF-8, no control characters
// (line breaks included).
func ValidateRequestMessage(msg string) error {
	switch {
	case !utf8.ValidString(msg):
		return Errorf(EINVALID, "The message must be valid UTF-8 text.")
	case utf8.RuneCountInString(msg) > MaxRequestMessageLength:
		return Errorf(EINVALID, "The message can be at most %d characters long; it has %d.", MaxRequestMessageLength, utf8.RuneCountInString(msg))
	case strings.ContainsFunc(msg, unicode.IsControl):
		return Errorf(EINVALID, "The message can't contain control characters such as line breaks.")
	case strings.ContainsFunc(msg, invisible):
		return Errorf(EINVALID, "The message can't contain invisible characters (zero-width, direction marks, line or paragraph separators).")
	}
	return nil
}

// RequestQuery selects a page of license requests, oldest first.
type RequestQuery struct {
	Status RequestStatus // only requests in this status ("" every status)
	UserID string        // only this user's requests ("" every user's)
	First  int
	After  string // the cursor of the request the page follows ("" from the oldest)
}

// RequestPage is one page of license requests, oldest first.
type RequestPage struct {
	Requests []*LicenseRequest
	// Cursors[i] is where Requests[i] is in the list, for paging.
	Cursors     []string
	HasNextPage bool
	// TotalCount is how many requests the query selects, on every page.
	TotalCount int
}

// RequestService decides license requests. Claims make them
// (ClaimService.Claim answers PENDING_APPROVAL).
type RequestService interface {
	// LicenseRequests returns a page of a tenant's license requests, oldest
	// first, each as it stands now (see LicenseRequest.At). Returns
	// ENOTFOUND (tenant) or EINVALID (a bad cursor or page size).
	LicenseRequests(ctx context.Context, tenantID string, q RequestQuery) (*RequestPage, error)
	// LicenseRequest returns a request as it stands now. Returns ENOTFOUND.
	LicenseRequest(ctx context.Context, id string) (*LicenseRequest, error)
	// ApproveRequest approves a pending request: the claim's walk runs now,
	// in the policy's order (CLAIMED; QUEUED when no license is left and the
	// policy's waitlist is on; DENIED with a reason otherwise;
	// ALREADY_LICENSED when the user holds a covering license by now).
	// Returns ENOTFOUND, or ECONFLICT on "requestId" when the request is
	// not pending (decided, or expired).
	ApproveRequest(ctx context.Context, id string) (*LicenseRequest, error)
	// DenyRequest denies a pending request, with an optional message.
	// Returns ENOTFOUND, EINVALID on "message", or ECONFLICT on
	// "requestId" when the request is not pending.
	DenyRequest(ctx context.Context, id, message string) (*LicenseRequest, error)
}

// RequestID returns the id of a tenant's n-th license request.
func RequestID(tenantID string, n int64) string { return objectID(tenantID, kindRequest, n) }

// ParseRequestID splits a license request id into its tenant and number.
// Returns ENOTFOUND if id is not a request id.
func ParseRequestID(id string) (tenantID string, n int64, err error) {
	return parseObjectID(id, kindRequest, "License request")
}
