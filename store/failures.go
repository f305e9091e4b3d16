package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/license"
)

// subject names what a script call is about, for the messages of the
// failures it may answer.
type subject struct {
	tenantID, userID, productID, policyID string
	requestID                             string
	upn                                   string // a user principal name asked for
	sku                                   string // a skuPartNumber asked for
	app                                   string // an app's display name
	idemKey                               string // an idempotency key
	n                                     int    // a quantity or policy limit asked for
}

// errStale is a script's answer that what the caller read has changed since;
// the caller reads again and retries.
var errStale = errors.New("changed since read")

// scriptFailures maps each failure a script answers with, an error reply
// "AC:<REASON>" or "AC:<REASON>:<arg>", to the domain error it means for the
// call's subject. Each script's header lists the failures it answers.
var scriptFailures = map[string]func(on subject, arg string) error{
	"NO_TENANT": func(on subject, _ string) error { return notFoundTenant(on.tenantID) },
	"TENANT_EXISTS": func(on subject, _ string) error {
		return license.OnField("id", license.Errorf(license.ECONFLICT, "A tenant with id %q already exists.", on.tenantID))
	},
	"LIMIT_BELOW_COUNT": func(on subject, held string) error {
		return license.OnField("limit", license.Errorf(license.ECONFLICT, "The tenant holds %s policies, more than a limit of %d allows; delete policies first.", held, on.n))
	},
	"NO_USER": func(on subject, _ string) error { return notFoundUser(on.userID) },
	"USER_EXISTS": func(on subject, _ string) error {
		return license.OnField("id", license.Errorf(license.ECONFLICT, "A user with id %q already exists.", on.userID))
	},
	"UPN_TAKEN": func(on subject, holder string) error {
		return license.OnField("userPrincipalName", license.Errorf(license.ECONFLICT, "User principal name %q is already used by user %q.", on.upn, holder))
	},
	"NO_PRODUCT": func(on subject, _ string) error { return notFoundProduct(on.productID) },
	"SKU_EXISTS": func(on subject, other string) error {
		return license.OnField("skuPartNumber", license.Errorf(license.ECONFLICT, "The tenant already has %s as product %q; change its quantity with setLicenseQuantity.", on.sku, license.ProductID(on.tenantID, number(other))))
	},
	"BELOW_ASSIGNED": func(on subject, assigned string) error {
		return license.OnField("quantity", license.Errorf(license.ECONFLICT, "Product %q has %s licenses assigned; the total can't go below that (asked for %d). Remove licenses from users first.", on.productID, assigned, on.n))
	},
	"ALREADY_HOLDS": func(on subject, _ string) error {
		return license.Errorf(license.ECONFLICT, "User %q already holds a license of product %q.", on.userID, on.productID)
	},
	"NO_AVAILABLE": func(on subject, total string) error {
		return license.Errorf(license.ECONFLICT, "All %s licenses of product %q are assigned; buy more or remove some first.", total, on.productID)
	},
	"NO_LICENSE": func(on subject, _ string) error {
		return license.OnField("productId", license.Errorf(license.ENOTFOUND, "User %q holds no license of product %q.", on.userID, on.productID))
	},
	"NO_POLICY": func(on subject, _ string) error { return notFoundPolicy(on.policyID) },
	"NOT_WAITING": func(on subject, _ string) error {
		return license.OnField("userId", license.Errorf(license.ENOTFOUND, "User %q is not on the waitlist of policy %q.", on.userID, on.policyID))
	},
	"POLICY_LIMIT": func(_ subject, limit string) error {
		return license.Errorf(license.ECONFLICT, "The tenant may hold at most %s auto-claim policies and has reached that limit; delete a policy or ask an operator to raise the limit.", limit)
	},
	"APP_HAS_POLICY": func(on subject, other string) error {
		return license.Errorf(license.ECONFLICT, "%s already has an auto-claim policy (%q); an app can have only one.", on.app, license.PolicyID(on.tenantID, number(other)))
	},
	"IDEM_MISMATCH": func(on subject, _ string) error {
		return license.OnField("idempotencyKey", license.Errorf(license.EINVALID, "Idempotency key %q was used within the last 24 hours for a different claim; use a new key for a new claim.", on.idemKey))
	},
	"NO_REQUEST": func(on subject, _ string) error { return notFoundRequest(on.requestID) },
	"NOT_PENDING": func(on subject, letter string) error {
		for status, l := range requestStatusLetters {
			if l == letter {
				return notPending(on.requestID, status)
			}
		}
		return license.Internal(fmt.Errorf("license request %s: not pending, in status %q", on.requestID, letter))
	},
	"STALE": func(subject, string) error { return errStale },
}

// runScript runs a script and returns its reply. It translates a failure
// the script answers by scriptFailures (a reason missing there, such as
// BAD_PRODUCTS or BAD_RECORD, which only a bug can cause, is EINTERNAL), and
// any other error by fail.
func (s *Store) runScript(ctx context.Context, sc *redis.Script, on subject, keys []string, args ...any) (any, error) {
	return s.runScriptOn(ctx, s.rdb, sc, on, keys, args...)
}

// runScriptOn is runScript through a given client.
func (s *Store) runScriptOn(ctx context.Context, c redis.Scripter, sc *redis.Script, on subject, keys []string, args ...any) (any, error) {
	reply, err := sc.Run(ctx, c, keys, args...).Result()
	if err == nil {
		return reply, nil
	}
	reason, arg, ok := scriptReason(err)
	if !ok {
		return nil, s.fail(err)
	}
	if meaning, ok := scriptFailures[reason]; ok {
		return nil, meaning(on, arg)
	}
	return nil, license.Internal(err)
}

// scriptReason returns the reason and argument of an "AC:<REASON>[:<arg>]"
// error reply of one of our scripts, or ok false for any other error.
func scriptReason(err error) (reason, arg string, ok bool) {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return "", "", false
	}
	msg := strings.TrimPrefix(rerr.Error(), "ERR ")
	// Some servers decorate error replies of scripts; find our marker anywhere.
	i := strings.Index(msg, "AC:")
	if i < 0 {
		return "", "", false
	}
	msg = msg[i+3:]
	if j := strings.IndexAny(msg, " \n"); j >= 0 {
		msg = msg[:j]
	}
	reason, arg, _ = strings.Cut(msg, ":")
	return reason, arg, true
}

// fail translates an error from go-redis into a license error: connection
// failures to EUNAVAILABLE, the rest to EINTERNAL. Errors that already are
// license errors pass through.
func (s *Store) fail(err error) error {
	if err == nil {
		return nil
	}
	var le *license.Error
	if errors.As(err, &le) {
		return err
	}
	if errors.Is(err, redis.Nil) {
		return license.Internal(err)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		switch {
		case strings.HasPrefix(msg, "LOADING"), strings.HasPrefix(msg, "MASTERDOWN"), strings.HasPrefix(msg, "CLUSTERDOWN"),
			strings.HasPrefix(msg, "TRYAGAIN"), strings.HasPrefix(msg, "READONLY"), strings.HasPrefix(msg, "BUSY"),
			strings.HasPrefix(msg, "MOVED "), strings.HasPrefix(msg, "ASK "):
			return unavailable(err)
		}
		return license.Internal(err)
	}
	if errors.Is(err, context.Canceled) {
		return &license.Error{Code: license.EUNAVAILABLE, Message: "The request was cancelled.", Cause: err}
	}
	return unavailable(err)
}

func unavailable(cause error) error {
	return &license.Error{Code: license.EUNAVAILABLE, Message: "The license store can't be reached right now; try again shortly. A change under way either happened in full or not at all (retry claims with the same idempotency key).", Cause: cause}
}

func busy() error {
	return license.Errorf(license.ECONFLICT, "Others are changing the same object at this moment; nothing was changed. Try again.")
}

func notFoundTenant(id string) error {
	return license.Errorf(license.ENOTFOUND, "Tenant %q was not found.", id)
}

func notFoundUser(id string) error {
	return license.Errorf(license.ENOTFOUND, "User %q was not found.", id)
}

func notFoundProduct(id string) error {
	return license.Errorf(license.ENOTFOUND, "Product %q was not found.", id)
}

func notFoundPolicy(id string) error {
	return license.Errorf(license.ENOTFOUND, "Policy %q was not found.", id)
}

func notFoundRequest(id string) error {
	return license.Errorf(license.ENOTFOUND, "License request %q was not found.", id)
}

// notPending is the conflict of deciding a request that is not pending.
func notPending(id string, status license.RequestStatus) error {
	var why string
	switch status {
	case license.RequestApproved:
		why = "was approved already"
	case license.RequestDenied:
		why = "was denied already"
	default:
		why = fmt.Sprintf("expired: no one decided it within %d days; the user's next claim makes a new request", int(license.RequestExpiry.Hours()/24))
	}
	return license.OnField("requestId", license.Errorf(license.ECONFLICT, "License request %q %s; only a pending request can be approved or denied.", id, why))
}

// number reads a non-negative decimal number that a script wrote; 0 for
// anything else.
func number(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
