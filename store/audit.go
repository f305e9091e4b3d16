package store

import (
	"context"
	"strconv"

	"github.com/autoclaim/autoclaim/license"
)

// auditBatch is how many entries one read of the audit stream takes while
// it looks for a page's worth that match the filters, and auditScan how
// many one call reads at most.
const (
	auditBatch = 200
	auditScan  = 2000
)

// audited returns the arguments a change script takes to record its audit
// entry: the entry's JSON (see encodeAuditArg) and the retention (ms). The
// action is the one ctx names (license.ChangeFromContext), else action.
func (s *Store) audited(ctx context.Context, action string, targets []string, changes ...license.FieldChange) (entry string, retention int64) {
	return encodeAuditArg(license.ChangeFromContext(ctx, action), targets, changes), s.AuditRetention.Milliseconds()
}

// AuditLog implements license.AuditService: a page of a tenant's audit log,
// newest first, read from the audit stream (after the cursor, down to
// since, never further back than the retention), skipping entries of other
// actions. One call reads at most auditScan entries: a page whose filter
// matches few may come back short, with a cursor to read on from.
func (s *Store) AuditLog(ctx context.Context, tenantID string, q license.AuditQuery) (*license.AuditPage, error) {
	if _, err := s.Tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	after, err := checkPage(q.First, q.After)
	if err != nil {
		return nil, err
	}
	start := "+"
	if q.After != "" {
		start = "(" + after.String()
	}
	now, err := s.redisNow(ctx) // the clock the entries were stamped with
	if err != nil {
		return nil, err
	}
	oldest := now.Add(-s.AuditRetention)
	if q.Since.After(oldest) {
		oldest = q.Since
	}
	end := "-"
	if oldest.UnixMilli() > 0 {
		end = strconv.FormatInt(oldest.UnixMilli(), 10)
	}
	k := s.keys(tenantID)
	total, err := s.rdb.XLen(ctx, k.audit()).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	page := &license.AuditPage{TotalCount: int(total)}
	if q.After != "" && after == (license.EventID{}) {
		return page, nil // nothing comes before the start of time
	}
	for scanned := 0; len(page.Entries) <= q.First && scanned < auditScan; {
		msgs, err := s.rdb.XRevRangeN(ctx, k.audit(), start, end, auditBatch).Result()
		if err != nil {
			return nil, s.fail(err)
		}
		for _, m := range msgs {
			if e := decodeAuditEntry(tenantID, m); q.Action == "" || e.Action == q.Action {
				page.Entries = append(page.Entries, e)
			}
			page.EndCursor = m.ID
			if len(page.Entries) > q.First {
				break
			}
		}
		scanned += len(msgs)
		if len(msgs) < auditBatch {
			page.EndCursor = ""
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
		page.HasNextPage = true // more may follow; settled below
	}
	switch {
	case len(page.Entries) > q.First:
		page.Entries = page.Entries[:q.First]
		page.HasNextPage = true
		page.EndCursor = ""
	case page.EndCursor == "":
		page.HasNextPage = false
	}
	if page.EndCursor == "" && len(page.Entries) > 0 {
		page.EndCursor = page.Entries[len(page.Entries)-1].ID
	}
	return page, nil
}
