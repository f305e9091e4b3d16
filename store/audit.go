package store

import (
	"context"
	"strconv"

	"github.com/autoclaim/autoclaim/license"
)

// auditBatch is how many entries one read of the audit stream takes while
// it looks for a page's worth that match the filters.
const auditBatch = 200

// audited returns the arguments a change script takes to record its audit
// entry: the entry's JSON (see encodeAuditArg) and the retention (ms). The
// action is the one ctx names (license.ChangeFromContext), else action.
func (s *Store) audited(ctx context.Context, action string, targets []string, changes ...license.FieldChange) (entry string, retention int64) {
	return encodeAuditArg(license.ChangeFromContext(ctx, action), targets, changes), s.AuditRetention.Milliseconds()
}

// AuditLog implements license.AuditService: a page of a tenant's audit log,
// newest first, read from the audit stream (after the cursor, down to
// since), skipping entries of other actions.
func (s *Store) AuditLog(ctx context.Context, tenantID string, q license.AuditQuery) (*license.AuditPage, error) {
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	if q.First < 0 || q.First > MaxPageSize {
		return nil, license.Errorf(license.EINVALID, "first must be between 0 and %d; got %d.", MaxPageSize, q.First)
	}
	start := "+"
	if q.After != "" {
		if _, err := license.ParseEventID(q.After); err != nil {
			return nil, license.Errorf(license.EINVALID, "The cursor %q is not one this API returned.", q.After)
		}
		start = "(" + q.After
	}
	end := "-"
	if !q.Since.IsZero() {
		end = strconv.FormatInt(q.Since.UnixMilli(), 10)
	}
	k := s.keys(tenantID)
	total, err := s.rdb.XLen(ctx, k.audit()).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	page := &license.AuditPage{TotalCount: int(total)}
	for len(page.Entries) <= q.First {
		msgs, err := s.rdb.XRevRangeN(ctx, k.audit(), start, end, auditBatch).Result()
		if err != nil {
			return nil, s.fail(err)
		}
		for _, m := range msgs {
			if e := decodeAuditEntry(tenantID, m); q.Action == "" || e.Action == q.Action {
				page.Entries = append(page.Entries, e)
			}
		}
		if len(msgs) < auditBatch {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	if len(page.Entries) > q.First {
		page.HasNextPage = true
		page.Entries = page.Entries[:q.First]
	}
	return page, nil
}
