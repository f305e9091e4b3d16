package store

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// An audit entry is an entry of a tenant's audit stream (see keys.audit);
// its id is its time (ms) and a sequence. Its fields, in order: action (the
// mutation), actor (the subject), roles ("R,R"), targets (the ids changed,
// "id,id"), then for the i-th change (from 1) fi (the field), bi (the value
// before; absent when none) and ai (the value after; absent when none).
// Values are whole stream fields, so free text needs no escaping. The Lua
// twins are audit_encode and audit_decode of lua/lib/codec.lua; scripts
// append entries with audit (lua/lib/audit.lua).
//
// A script gets the entry it is to write as one argument, the JSON of
// auditArg; it may add changes it reads itself (a value before the change)
// and then writes it whole.

// auditArg is an audit entry as a script takes it.
type auditArg struct {
	Action  string        `json:"action"`
	Actor   string        `json:"actor"`
	Roles   string        `json:"roles"`
	Targets string        `json:"targets"`
	Changes []auditChange `json:"changes"`
}

type auditChange struct {
	Field  string  `json:"field"`
	Before *string `json:"before,omitempty"`
	After  *string `json:"after,omitempty"`
}

// encodeAuditArg writes the entry a script is to record for a change of
// ctx's caller (see license.ChangeFromContext), to targets, with the
// changes the caller knows.
func encodeAuditArg(change license.Change, targets []string, changes []license.FieldChange) string {
	a := auditArg{Action: change.Action, Actor: change.Actor.Subject, Roles: strings.Join(change.Actor.Roles, ","),
		Targets: strings.Join(targets, ","), Changes: make([]auditChange, len(changes))}
	for i, c := range changes {
		a.Changes[i] = auditChange{Field: c.Field, Before: c.Before, After: c.After}
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// encodeAuditEntry writes an entry's fields and values, in order.
func encodeAuditEntry(e *license.AuditEntry) []string {
	fields := []string{"action", e.Action, "actor", e.Actor.Subject, "roles", strings.Join(e.Actor.Roles, ","),
		"targets", strings.Join(e.TargetIDs, ",")}
	for i, c := range e.Changes {
		n := strconv.Itoa(i + 1)
		fields = append(fields, "f"+n, c.Field)
		if c.Before != nil {
			fields = append(fields, "b"+n, *c.Before)
		}
		if c.After != nil {
			fields = append(fields, "a"+n, *c.After)
		}
	}
	return fields
}

// decodeAuditEntry reads an entry of a tenant's audit stream.
func decodeAuditEntry(tenantID string, m redis.XMessage) *license.AuditEntry {
	f := func(name string) (string, bool) { v, ok := m.Values[name].(string); return v, ok }
	id, _ := license.ParseEventID(m.ID)
	e := &license.AuditEntry{ID: m.ID, TenantID: tenantID, At: time.UnixMilli(int64(id.MS)).UTC()}
	e.Action, _ = f("action")
	e.Actor.Subject, _ = f("actor")
	e.Actor.Roles = splitList(m.Values["roles"])
	e.TargetIDs = splitList(m.Values["targets"])
	for i := 1; ; i++ {
		n := strconv.Itoa(i)
		field, ok := f("f" + n)
		if !ok {
			break
		}
		c := license.FieldChange{Field: field}
		if v, ok := f("b" + n); ok {
			c.Before = &v
		}
		if v, ok := f("a" + n); ok {
			c.After = &v
		}
		e.Changes = append(e.Changes, c)
	}
	return e
}

// splitList reads a comma-separated list ("" is none).
func splitList(v any) []string {
	s, _ := v.(string)
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}
