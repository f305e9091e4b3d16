package store

import (
	"fmt"
	"strconv"

	"github.com/autoclaim/autoclaim/license"
)

// Every record the store keeps in Redis as a delimited string has one codec:
// a codec_<record>.go file here and its functions in lua/lib/codec.lua. This
// file holds what the Go side of the codecs shares.

// itoa writes a number as the records keep it.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// decimal reads a number as itoa writes a non-negative one: digits, without
// a sign or leading zeros. ok is false for anything else.
func decimal(s string) (n int64, ok bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// malformed is the error of a record of owner ("user u1") that does not read
// as its codec writes it.
func malformed(what, rec, owner string) error {
	return license.Internal(fmt.Errorf("%s: malformed %s %q", owner, what, rec))
}
