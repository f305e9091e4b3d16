package store

import (
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// A directory entry is a user's field of a profile bucket hash:
//
//	upn \x1f display name \x1f created (ms)
//
// The API refuses control characters in principal and display names, so
// \x1f never occurs in them. The Lua twins are profile_encode and
// profile_decode of lua/lib/codec.lua.

// encodeProfile writes a user's directory entry.
func encodeProfile(u *license.User) string {
	return u.UserPrincipalName + "\x1f" + u.DisplayName + "\x1f" + itoa(ms(u.CreatedAt))
}

// decodeProfile reads the directory entry of user id. Returns EINTERNAL when
// it is malformed.
func decodeProfile(tenantID, id, rec string) (*license.User, error) {
	f := strings.Split(rec, "\x1f")
	if len(f) != 3 {
		return nil, malformed("directory entry", rec, "user "+id)
	}
	created, ok := decimal(f[2])
	if !ok {
		return nil, malformed("directory entry", rec, "user "+id)
	}
	return &license.User{ID: id, TenantID: tenantID, UserPrincipalName: f[0], DisplayName: f[1], CreatedAt: fromMS(created)}, nil
}
