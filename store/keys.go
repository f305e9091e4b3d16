package store

import (
	"strconv"

	"github.com/autoclaim/autoclaim/license"
)

// keys builds the keys of one tenant. Every key carries the hash tag
// {t:<tenantID>}, so all of a tenant's keys live in one cluster slot.
type keys struct{ p string }

func (s *Store) keys(tenantID string) keys {
	return keys{p: s.prefix + "{t:" + tenantID + "}:"}
}

func (k keys) tenant() string   { return k.p + "tenant" }   // hash: name limit enabled created seq_*
func (k keys) products() string { return k.p + "products" } // zset of product numbers
func (k keys) product(n int64) string {
	return k.p + "product:" + strconv.FormatInt(n, 10) // hash: sku total assigned created
}
func (k keys) skus() string     { return k.p + "skus" }     // hash: skuPartNumber -> product number
func (k keys) policies() string { return k.p + "policies" } // zset of policy numbers
func (k keys) policy(n int64) string {
	return k.p + "policy:" + strconv.FormatInt(n, 10) // hash: app name enabled auto created updated products version claimed
}
func (k keys) appPolicies() string       { return k.p + "apps" }           // hash: app id -> policy number
func (k keys) users() string             { return k.p + "users" }          // zset (score 0) of user ids
func (k keys) user(id string) string     { return k.p + "user:" + id }     // hash: upn name created
func (k keys) upns() string              { return k.p + "upns" }           // hash: lower-case upn -> user id
func (k keys) licenses(id string) string { return k.p + "licenses:" + id } // hash: product number -> license record

func (k keys) idem(key string) string { return k.p + "idem:" + key } // string: fingerprint and first answer
func (k keys) events() string         { return k.p + "events" }      // stream of claim and admin events
func (k keys) report(n int64) string {
	return k.p + "report:" + strconv.FormatInt(n, 10) // hash: <day> and <day>:<product> -> claims; trimmed
}
func (k keys) claimed(n int64) string {
	return k.p + "claimed:" + strconv.FormatInt(n, 10) // zset: user id scored by claim time (ms)
}

// eventWindow is how long events stay in a tenant's stream (ms), as an argument to scripts.
var eventWindow = license.ReportWindow.Milliseconds()
