package store

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// readReply reads a script's reply, a JSON object whose values are all
// strings (see scripts.go), calling field with each name and value. It reads
// only that shape, by hand: a claim's reply is read on every claim, and
// encoding/json's reflection cost the server more than the rest of the
// store's part of a claim.
func readReply(s string, field func(name, value string)) error {
	r := replyReader{s: s}
	r.space()
	if !r.eat('{') {
		return errReply
	}
	r.space()
	if r.eat('}') {
		return r.end()
	}
	for {
		name, ok := r.str()
		r.space()
		if !ok || !r.eat(':') {
			return errReply
		}
		r.space()
		value, ok := r.str()
		if !ok {
			return errReply
		}
		field(name, value)
		r.space()
		if r.eat('}') {
			return r.end()
		}
		if !r.eat(',') {
			return errReply
		}
		r.space()
	}
}

var errReply = errors.New("not a JSON object of strings")

type replyReader struct {
	s string
	i int
}

func (r *replyReader) space() {
	for r.i < len(r.s) && (r.s[r.i] == ' ' || r.s[r.i] == '\n' || r.s[r.i] == '\r' || r.s[r.i] == '\t') {
		r.i++
	}
}

func (r *replyReader) eat(c byte) bool {
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *replyReader) end() error {
	r.space()
	if r.i != len(r.s) {
		return errReply
	}
	return nil
}

// str reads a JSON string.
func (r *replyReader) str() (string, bool) {
	if !r.eat('"') {
		return "", false
	}
	start := r.i
	for r.i < len(r.s) {
		switch c := r.s[r.i]; {
		case c == '"':
			r.i++
			return r.s[start : r.i-1], true
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			return "", false
		}
		r.i++
	}
	return "", false
}

// escaped reads the rest of a JSON string that holds escapes, from start
// (just after its opening quote).
func (r *replyReader) escaped(start int) (string, bool) {
	var b strings.Builder
	b.WriteString(r.s[start:r.i])
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			return b.String(), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b.WriteByte(c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.s) {
			return "", false
		}
		r.i += 2
		switch e := r.s[r.i-1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			u, ok := r.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(u) && strings.HasPrefix(r.s[r.i:], `\u`) {
				r.i += 2
				lo, ok := r.hex4()
				if !ok {
					return "", false
				}
				u = utf16.DecodeRune(u, lo)
			}
			b.WriteRune(u)
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func (r *replyReader) hex4() (rune, bool) {
	if r.i+4 > len(r.s) {
		return utf8.RuneError, false
	}
	n, err := strconv.ParseUint(r.s[r.i:r.i+4], 16, 32)
	r.i += 4
	return rune(n), err == nil
}
