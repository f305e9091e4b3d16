package store

import (
	"strings"

	"github.com/autoclaim/autoclaim/license"
)

// A denial log entry is a field of a tenant's denial log of one UTC day
// (see keys.denials), a hash whose values are "1":
//
//	reason|scope|user
//
// scope is the number of the app's policy, or the app's id when it had
// none. The claim script appends a denial's event only when it adds the
// entry, so a user turned away again for the same reason that day adds
// none. The Lua twins are denial_encode and denial_decode of
// lua/lib/codec.lua.

// denial is one entry of a denial log.
type denial struct {
	reason license.Reason
	scope  string // a policy number, or an app id
	user   string
}

// encodeDenial writes a denial log entry.
func encodeDenial(d denial) string {
	return string(d.reason) + "|" + d.scope + "|" + d.user
}

// decodeDenial reads a denial log entry; ok is false when it is malformed.
func decodeDenial(s string) (d denial, ok bool) {
	f := strings.Split(s, "|")
	if len(f) != 3 || f[0] == "" || f[1] == "" || f[2] == "" || strings.Trim(f[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != "" {
		return denial{}, false
	}
	return denial{reason: license.Reason(f[0]), scope: f[1], user: f[2]}, true
}
