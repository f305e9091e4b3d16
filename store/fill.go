package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// Waitlists are filled in the script that makes licenses available: before
// the call, the store reads which waitlists the licenses feed (the tenant's
// policies with a waitlist that hold the products) and the head of each
// queue, and passes those users' license buckets in KEYS with a plan saying
// whose each key is; the script fills those users in order (lua/lib/fill.lua).
// When more licenses are available than it had users for, fill.lua goes on
// with the next users, one script after another, until no license is left
// or no one waits. A fill the caller could not finish (it crashed, or its
// client went away) stays marked in the tenant's work, and a worker
// finishes it (work.go).

// fillBatch is how many waiting users one script may walk per waitlist: it
// bounds how long a script runs.
const fillBatch = 64

// fillGrace is how long a fill a call left unfinished is the call's to
// finish before a worker takes it over.
const fillGrace = time.Second

// keyList builds a script's KEYS: each key once, known by its index (1 first).
type keyList struct {
	keys []string
	at   map[string]int
}

// newKeyList starts a script's KEYS with keys, as they are (a script reads
// them by position; one may stand for another).
func newKeyList(keys ...string) *keyList {
	kl := &keyList{keys: keys, at: map[string]int{}}
	for i, k := range keys {
		if _, ok := kl.at[k]; !ok {
			kl.at[k] = i + 1
		}
	}
	return kl
}

// add returns the index of key, adding it when new.
func (kl *keyList) add(key string) int {
	if i, ok := kl.at[key]; ok {
		return i
	}
	kl.keys = append(kl.keys, key)
	kl.at[key] = len(kl.keys)
	return len(kl.keys)
}

// fillPlan is what lib/fill.lua's fill_waitlists reads: the keys it uses,
// by their index in KEYS, and the clock of the store.
type fillPlan struct {
	Tenant int `json:"tenant"` // the tenant's hash (the org setting)
	Events int `json:"events"` // its event stream
	Work   int `json:"work"`   // its work (the unfinished-fill marks)
	// Now is the store's clock (ms); Expired the time (ms) before which a
	// user queued has waited too long; Grace how long (ms) after Now an
	// unfinished fill becomes a worker's; Window how long events are kept.
	Now     string `json:"now"`
	Expired string `json:"expired"`
	Grace   string `json:"grace"`
	Window  string `json:"window"`
	// Scan is how many waiting users a walk reads at most: one more than
	// it was given, to know whether the queue goes on.
	Scan int `json:"scan"`
	// Users are the license buckets of the users given, by user id.
	Users    map[string]int `json:"users"`
	Policies []fillPolicy   `json:"policies"`
}

// fillPolicy is one waitlist of a fillPlan.
type fillPolicy struct {
	N        string         `json:"n"`        // the policy's number
	Policy   int            `json:"policy"`   // its hash
	Waitlist int            `json:"waitlist"` // its queue
	Report   int            `json:"report"`   // its report
	Claims   int            `json:"claims"`   // its claims log
	Held     int            `json:"held"`     // its index of claimed licenses
	App      string         `json:"app"`
	Products map[string]int `json:"products"` // its products' hashes, by number
	// After is the score the walk starts after ("0": at the head).
	After string `json:"after"`
	// Covering lists, per trigger (in the order of license.AllTriggers),
	// the SKUs that cover it for the app (see encodeCovering; "" for a
	// trigger the app lacks).
	Covering []string `json:"covering"`
	// Supersedes is the app's supersedes list (see encodeSupersedes): a
	// fill gives back the licenses the one it gives supersedes when the
	// policy's releaseSupersededLicenses is on.
	Supersedes string `json:"supersedes"`
	// Lesser are the hashes, by number, of the tenant's products outside
	// the policy that one of its products supersedes (a license of one
	// claimed under the policy, before the product left it, goes back
	// too); only with releaseSupersededLicenses on.
	Lesser map[string]int `json:"lesser,omitempty"`
}

// fillTarget is a waitlist to fill and the score its walk starts after
// ("0": at the head).
type fillTarget struct {
	policy *license.Policy
	after  string
}

// targets lists the waitlists of policies, each from its head.
func targets(policies []*license.Policy) []fillTarget {
	out := make([]fillTarget, len(policies))
	for i, p := range policies {
		out[i] = fillTarget{policy: p, after: "0"}
	}
	return out
}

// waitlistsFed returns the policies of a tenant whose waitlist licenses of
// the products feeds (a nil feeds selects every waitlist): those on, with
// their waitlist on, holding a product that feeds selects. It reads the
// tenant's policies, a handful.
func (s *Store) waitlistsFed(ctx context.Context, tenantID string, feeds func(productID string) bool) ([]*license.Policy, error) {
	policies, err := s.Policies(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out []*license.Policy
	for _, p := range policies {
		if p.WaitlistEnabled && p.Enabled && (feeds == nil || slices.ContainsFunc(p.ProductIDs(), feeds)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// planFill reads the head of each target's queue and returns the plan of
// filling them (JSON), with its keys added to kl. With no targets the plan
// fills nothing, and gives the low-license alerts of the script's changes.
func (s *Store) planFill(ctx context.Context, kl *keyList, tenantID string, ts []fillTarget) (string, error) {
	k := s.keys(tenantID)
	heads := make([]*redis.StringSliceCmd, len(ts))
	if len(ts) > 0 {
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, t := range ts {
				_, n, _ := license.ParsePolicyID(t.policy.ID)
				heads[i] = p.ZRangeByScore(ctx, k.waitlist(n), &redis.ZRangeBy{Min: "(" + t.after, Max: "+inf", Count: fillBatch})
			}
			return nil
		}); err != nil {
			return "", s.fail(err)
		}
	}
	now := s.Now()
	plan := fillPlan{
		Tenant: kl.add(k.tenant()), Events: kl.add(k.events()), Work: kl.add(k.work()),
		Now: itoa(ms(now)), Expired: itoa(ms(now.Add(-license.WaitlistExpiry))), Grace: itoa(fillGrace.Milliseconds()),
		Window: itoa(eventWindow), Scan: fillBatch + 1, Users: map[string]int{}, Policies: []fillPolicy{},
	}
	for i, t := range ts {
		_, n, _ := license.ParsePolicyID(t.policy.ID)
		fp := fillPolicy{N: itoa(n), Policy: kl.add(k.policy(n)), Waitlist: kl.add(k.waitlist(n)), Report: kl.add(k.report(n)),
			Claims: kl.add(k.claims(n)), Held: kl.add(k.held(n)), App: t.policy.AppID, Products: map[string]int{}, After: t.after,
			Covering: make([]string, len(license.AllTriggers)), Supersedes: s.supersedes[t.policy.AppID]}
		for _, id := range t.policy.ProductIDs() {
			_, pn, _ := license.ParseProductID(id)
			fp.Products[itoa(pn)] = kl.add(k.product(pn))
		}
		if app := s.catalog.App(t.policy.AppID); app != nil {
			for j, tr := range license.AllTriggers {
				if slices.Contains(app.Triggers, tr) {
					fp.Covering[j] = s.covering(app.ID, tr)
				}
			}
		}
		if t.policy.ReleaseSupersededLicenses {
			lesser, err := s.lesserProducts(ctx, kl, tenantID, t.policy)
			if err != nil {
				return "", err
			}
			fp.Lesser = lesser
		}
		for _, user := range heads[i].Val() {
			plan.Users[user] = kl.add(k.licenseBucket(userBucket(user)))
		}
		plan.Policies = append(plan.Policies, fp)
	}
	b, err := json.Marshal(plan)
	if err != nil {
		return "", license.Internal(err)
	}
	return string(b), nil
}

// lesserProducts returns the hashes (added to kl), by number, of the
// tenant's products outside the policy that one of its products supersedes.
func (s *Store) lesserProducts(ctx context.Context, kl *keyList, tenantID string, p *license.Policy) (map[string]int, error) {
	products, err := s.Products(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, lesser := range products {
		if lesser.SKU == nil || p.Position(lesser.ID) >= 0 {
			continue
		}
		for _, pp := range p.Products {
			if sku := s.catalog.SKU(s.skuOf(products, pp.ProductID)); sku != nil && sku.Supersedes(lesser.SKU) {
				_, n, _ := license.ParseProductID(lesser.ID)
				out[itoa(n)] = kl.add(s.keys(tenantID).product(n))
				break
			}
		}
	}
	return out, nil
}

// skuOf returns the skuPartNumber of the product id among products ("" when none).
func (s *Store) skuOf(products []*license.Product, id string) string {
	for _, p := range products {
		if p.ID == id {
			return p.SkuPartNumber
		}
	}
	return ""
}

// fillReply is what a script that fills waitlists answers of them (see
// fill_waitlists), besides its own fields, which read reads.
type fillReply struct {
	filled int
	next   string
	given  []string // the licenses given, as members of their policies' indexes (heldMember)
}

// readFillReply reads a script's JSON reply: its fills, and each other
// field with read (nil: none expected).
func readFillReply(raw any, read func(name, value string)) (fillReply, error) {
	text, _ := raw.(string)
	var r fillReply
	bad := ""
	err := readReply(text, func(name, v string) {
		switch name {
		case "filled":
			n, ok := decimal(v)
			if !ok {
				bad = name
			}
			r.filled = int(n)
		case "next":
			r.next = v
		case "given":
			if v != "" {
				r.given = strings.Split(v, ",")
			}
		default:
			if read != nil {
				read(name, v)
			}
		}
	})
	if err == nil && bad != "" {
		err = fmt.Errorf("%s is not a number", bad)
	}
	if err != nil {
		return r, license.Internal(fmt.Errorf("script replied %v: %w", raw, err))
	}
	return r, nil
}

// fillRest goes on with the waitlists a script left unfinished (next, see
// fill_waitlists), one fill.lua after another, until each is over; it
// returns the licenses it gave (see fillReply). The policies are read
// again, so that a change of their products since is seen.
func (s *Store) fillRest(ctx context.Context, tenantID, next string) ([]string, error) {
	var given []string
	for next != "" {
		var ts []fillTarget
		for _, item := range strings.Split(next, ",") {
			num, after, _ := strings.Cut(item, "=")
			n, _ := strconv.ParseInt(num, 10, 64)
			p, err := s.Policy(ctx, license.PolicyID(tenantID, n))
			if license.ErrorCode(err) == license.ENOTFOUND {
				continue // deleted since: its waitlist with it
			}
			if err != nil {
				return given, err
			}
			ts = append(ts, fillTarget{policy: p, after: after})
		}
		if len(ts) == 0 {
			break
		}
		kl := newKeyList()
		plan, err := s.planFill(ctx, kl, tenantID, ts)
		if err != nil {
			return given, err
		}
		raw, err := s.runScript(ctx, fillScript, subject{tenantID: tenantID}, kl.keys, plan)
		if err != nil {
			return given, err
		}
		r, err := readFillReply(raw, nil)
		if err != nil {
			return given, err
		}
		given = append(given, r.given...)
		s.flowed(r.filled, 0)
		next = r.next
	}
	return given, nil
}

// feedReleased gives the licenses a claim or an approval gave back
// (superseded by the one it assigned; released, as the script's reply
// lists them, see encodeLicenses) to the waitlists they feed. The script
// marked them in the tenant's work ("p:<product>"); a failure here is
// logged, and a worker does it after the grace.
func (s *Store) feedReleased(ctx context.Context, tenantID, userID, released string) {
	held, err := decodeLicenses(userID, released)
	if err == nil {
		err = s.registerFlow(ctx, tenantID)
	}
	for _, h := range held {
		if err != nil {
			break
		}
		err = s.finishRelease(ctx, tenantID, h.product)
	}
	if err != nil {
		s.log.WarnContext(ctx, "the waitlists a released license feeds are left to the workers", "tenant", tenantID, "err", err)
	}
}

// finishRelease fills, from the head of each, the waitlists that licenses
// of product n given back feed, and takes their mark off the tenant's work.
func (s *Store) finishRelease(ctx context.Context, tenantID string, n int64) error {
	what := workMember(workRelease, n)
	l, ok, err := s.takeLease(ctx, tenantID, what, fillLease)
	if err != nil || !ok {
		return err // another does it
	}
	defer l.release(context.WithoutCancel(ctx))
	productID := license.ProductID(tenantID, n)
	fed, err := s.waitlistsFed(ctx, tenantID, func(id string) bool { return id == productID })
	if err != nil {
		return err
	}
	if len(fed) > 0 {
		items := make([]string, len(fed))
		for i, p := range fed {
			_, pn, _ := license.ParsePolicyID(p.ID)
			items[i] = itoa(pn) + "=0"
		}
		if _, err := s.fillRest(ctx, tenantID, strings.Join(items, ",")); err != nil {
			return err
		}
	}
	return s.fail(s.rdb.ZRem(ctx, s.keys(tenantID).work(), what).Err())
}

// flowed tells OnFlow of fills and reclaims.
func (s *Store) flowed(filled, reclaimed int) {
	if s.OnFlow != nil && (filled > 0 || reclaimed > 0) {
		s.OnFlow(filled, reclaimed)
	}
}

// registerFlow lists a tenant among those with background work, for the
// workers (work.go).
func (s *Store) registerFlow(ctx context.Context, tenantID string) error {
	return s.fail(s.rdb.SAdd(ctx, s.flowTenants(), tenantID).Err())
}

// runFeeding runs a script that makes licenses available (sc, with keys and
// args, to which it adds the plan of filling the waitlists fed: its keys,
// and the plan as the last argument), reads its reply (the fills, and its
// own fields with read), and goes on with the fills it left unfinished; it
// returns the licenses the fills gave (see fillReply). A failure of those
// fills is the workers' to mend: the change is made.
func (s *Store) runFeeding(ctx context.Context, sc *redis.Script, on subject, tenantID string, fed []*license.Policy,
	keys []string, read func(name, value string), args ...any) ([]string, error) {
	if len(fed) > 0 {
		if err := s.registerFlow(ctx, tenantID); err != nil {
			return nil, err
		}
	}
	kl := newKeyList(keys...)
	plan, err := s.planFill(ctx, kl, tenantID, targets(fed))
	if err != nil {
		return nil, err
	}
	raw, err := s.runScript(ctx, sc, on, kl.keys, append(args, plan)...)
	if err != nil {
		return nil, err
	}
	r, err := readFillReply(raw, read)
	if err != nil {
		return nil, err
	}
	s.flowed(r.filled, 0)
	more, err := s.fillRest(ctx, tenantID, r.next)
	if err != nil {
		s.log.WarnContext(ctx, "a waitlist fill is left to the workers", "tenant", tenantID, "err", err)
	}
	return append(r.given, more...), nil
}
