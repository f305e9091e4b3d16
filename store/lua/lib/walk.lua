-- The walk of a claim, for the scripts that decide one (claim.lua, and
-- approve_request.lua when an admin approves a license request): the
-- policy's products in its order, the first that covers the trigger and has
-- a license gives one; with the policy's waitlist on, a user finds its
-- place there, or joins it when no product has a license left.
--@include lib/codec.lua
--@include lib/events.lua
--@include lib/report.lua
--@include lib/supersede.lua

-- walk_pools(products) returns pool(i), the counts of products[i] (each
-- {product, plans, key}), read once: {sku, total, assigned, created, low}.
local function walk_pools(products)
  local pools = {}
  return function(i)
    if not pools[i] then
      local v = redis.call('HMGET', products[i].key, 'sku', 'total', 'assigned', 'created', 'low')
      pools[i] = {sku = v[1], total = tonumber(v[2]), assigned = tonumber(v[3]), created = v[4], low = v[5]}
    end
    return pools[i]
  end
end

-- walk_claimable(counts, product, needs, held) says whether a product (by
-- number, its counts read) could give the user a license: its SKU covers
-- the app and trigger (needs[sku], see covering_decode) and the user holds
-- none of it (without the app's plan) already: a product is claimed once.
local function walk_claimable(counts, product, needs, held)
  return counts.sku ~= nil and needs[counts.sku] ~= nil and not find_product(held, product)
end

-- walk_eligible(products, pool, needs, held) says whether a product of the
-- policy could give the user a license, available or not.
local function walk_eligible(products, pool, needs, held)
  for i, p in ipairs(products) do
    if walk_claimable(pool(i), p.product, needs, held) then
      return true
    end
  end
  return false
end

-- walk_claim(w) walks the policy's products for a user: w = {products,
-- pool, needs, held (the user's licenses, decoded), user, policy (number),
-- trigger, now (ms), window (ms), licenses_key, policy_key, report_key,
-- claims_key, held_key, events_key, filling, supersede}. The first product
-- that could give the user a license and has one gives it, unless filling
-- (a fill hands the licenses out to the users waiting: none is given): the
-- license is recorded among held and in the user's bucket, counted under
-- the policy and in its report, indexed among its claimed licenses, and,
-- with supersede = {on, list, key} (see release_superseded; nil when the
-- policy's setting is off), the licenses
-- it supersedes go back. Returns the product's index, the license record,
-- the licenses released (see release_superseded) and the low-license
-- alert to give (see low_alert) once the claim's event is out; or nil and
-- the denial reason, NO_LICENSES_AVAILABLE or TRIGGER_NOT_ELIGIBLE.
local function walk_claim(w)
  local eligible = false
  for i, p in ipairs(w.products) do
    local counts = w.pool(i)
    if walk_claimable(counts, p.product, w.needs, w.held) then
      eligible = true
      if counts.assigned < counts.total and not w.filling then
        counts.assigned = redis.call('HINCRBY', p.key, 'assigned', 1)
        local record = license_encode({source = 'A', policy = w.policy, assigned = string.format('%d', w.now),
          plans = p.plans, sku = counts.sku})
        w.held[#w.held + 1] = {product = p.product, record = record}
        local released = {}
        local s = w.supersede
        if s then
          s.sku, s.held, s.policy, s.user, s.now = counts.sku, w.held, w.policy, w.user, w.now
          s.policy_key, s.held_key, s.events, s.window = w.policy_key, w.held_key, w.events_key, w.window
          released = release_superseded(s)
          for _, r in ipairs(released) do
            for j, q in ipairs(w.products) do
              if q.product == r.product then
                w.pool(j).assigned = r.assigned
              end
            end
          end
        end
        redis.call('HSET', w.licenses_key, w.user, licenses_encode(w.held))
        redis.call('HINCRBY', w.policy_key, 'claimed', 1)
        report_claim(w.report_key, w.claims_key, w.now, w.window, p.product, w.user, w.trigger)
        redis.call('ZADD', w.held_key, w.now, held_encode(p.product, w.user))
        return i, record, released, {product = p.product, total = counts.total, assigned = counts.assigned,
          low = counts.low, before = counts.total - counts.assigned + 1}
      end
    end
  end
  if eligible then
    return nil, 'NO_LICENSES_AVAILABLE'
  end
  return nil, 'TRIGGER_NOT_ELIGIBLE'
end

-- walk_available(products, pool) counts the licenses available across the
-- policy's products.
local function walk_available(products, pool)
  local available = 0
  for i = 1, #products do
    local counts = pool(i)
    if counts.total then
      available = available + math.max(0, counts.total - counts.assigned)
    end
  end
  return available
end

-- waitlist_position(waitlist_key, user, expired) is the user's place on the
-- waitlist, 1 first, as a string: users queued before the seq expired
-- (waited too long, not yet dropped) don't count.
local function waitlist_position(waitlist_key, user, expired)
  local gone = redis.call('ZCOUNT', waitlist_key, '-inf', '(' .. waiter_score_encode({seq = expired, trigger = 0}))
  return string.format('%d', redis.call('ZRANK', waitlist_key, user) + 1 - gone)
end

-- waitlist_place(waitlist_key, user, expired) returns the place of a user
-- waiting (see waitlist_position), or nil: a user who waited too long
-- (queued before the seq expired) leaves the waitlist.
local function waitlist_place(waitlist_key, user, expired)
  local waiting = redis.call('ZSCORE', waitlist_key, user)
  if not waiting then
    return nil
  end
  local w = waiter_score_decode(waiting)
  if w and w.seq >= expired then
    return waitlist_position(waitlist_key, user, expired)
  end
  redis.call('ZREM', waitlist_key, user)
  return nil
end

-- waitlist_join(waitlist_key, user, seq, expired, trigger) puts the user at
-- the end of the waitlist, after the last user queued even if the clock
-- went back (seq, the first seq of the store's clock; trigger, the index
-- of the trigger it waits with), drops those who waited too long, and
-- returns its place.
local function waitlist_join(waitlist_key, user, seq, expired, trigger)
  local last = redis.call('ZREVRANGE', waitlist_key, 0, 0, 'WITHSCORES')
  local w = last[2] and waiter_score_decode(last[2])
  if w and w.seq >= seq then
    seq = w.seq + 1
  end
  redis.call('ZADD', waitlist_key, waiter_score_encode({seq = seq, trigger = trigger}), user)
  redis.call('ZREMRANGEBYSCORE', waitlist_key, '-inf', '(' .. waiter_score_encode({seq = expired, trigger = 0}))
  return waitlist_position(waitlist_key, user, expired)
end
