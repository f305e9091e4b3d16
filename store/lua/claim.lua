-- Decides one claim, all or nothing, in this order: the first answer under
-- the caller's idempotency key (a replay); a license the user holds that
-- covers the app and trigger (ALREADY_LICENSED, whatever the switches say);
-- the org setting; the app's policy and its status; the policy's products in
-- the order the policy holds now. A license claimed now is recorded (and the
-- user, when the tenant has not seen them), counted in the report, indexed
-- under the policy, appended to the event stream and remembered under the
-- idempotency key. With the policy's waitlist on, a user on it asking with
-- the trigger it waits with gets QUEUED with its place and nothing changes
-- (with another trigger, it may claim a license that covers that one, and
-- keeps its place otherwise); a claim that finds no license puts its user
-- at the end (QUEUED; the user is recorded, an event appended); and while a
-- fill hands licenses out to the users waiting (its mark is in the tenant's
-- work), a claim takes none: its user waits its turn. With approval
-- required, a claim that would get a license under the policy makes a
-- license request instead (PENDING_APPROVAL; the user is recorded, an event
-- appended), or finds the user's pending one (and nothing changes). With
-- the policy's releaseSupersededLicenses on, a license claimed gives back
-- those the user holds through the policy of products the one claimed
-- supersedes (see lib/supersede.lua). A call that changes nothing writes nothing: ALREADY_LICENSED
-- only stamps the license's last use, once per UTC day; a denial records no
-- user, is counted, and appends an event only the first time that UTC day
-- for its user, policy (or app) and reason.
-- KEYS[1] tenant hash   KEYS[2] app -> policy hash   KEYS[3] policy hash (any key when none)
-- KEYS[4] the user's profile bucket hash   KEYS[5] upn index hash   KEYS[6] directory index zset
-- KEYS[7] the user's license bucket hash
-- KEYS[8] the idempotency bucket of the key on ARGV[5]'s day   KEYS[9] on the day before (any keys when no key)
-- KEYS[10] the denial log of ARGV[5]'s day   KEYS[11] event stream
-- KEYS[12] report hash of the policy (of policy 0 when none)   KEYS[13] the policy's claims stream
-- KEYS[14] policy waitlist zset   KEYS[15] policy claimed-licenses index zset
-- KEYS[16] license requests hash   KEYS[17] index of all requests   KEYS[18] index of pending requests
-- KEYS[19] requests due for the sweep zset   KEYS[20] the user's requests bucket hash   KEYS[21] the tenant's work zset
-- KEYS[22..] hashes of the tenant's products that serve the app, as the caller read them
-- ARGV[1] user id  ARGV[2] app id  ARGV[3] trigger  ARGV[4] the app's policy number as the caller read it (0 = none)
-- ARGV[5] the UTC day (days since the epoch) the caller took today to be
-- ARGV[6] idempotency field ('' = no key)  ARGV[7] request digest
-- ARGV[8] upn  ARGV[9] upn, lower case  ARGV[10] display name
-- ARGV[11] SKUs covering the app and trigger with the plan the app needs (see covering_encode)
-- ARGV[12] idempotency bucket TTL (ms)  ARGV[13] report window (ms)
-- ARGV[14] the store's clock (ms; the waitlist's times are the store's)
-- ARGV[15] the time (ms, the store's clock) before which a user queued has waited too long
-- ARGV[16] the trigger's index in license.AllTriggers
-- ARGV[17] the products that serve the app with those each supersedes (see supersedes_encode)
-- ARGV[18] how long (ms) a fill this claim leaves is its caller's before a worker's
-- ARGV[19] how long a license request waits for a decision (ms)
-- ARGV[20..] product numbers matching KEYS[22..]
-- Reply: a JSON object (cjson.encode) whose values are all strings:
--   kind       'OK'; 'REPLAY' (the stored first answer to the idempotency key);
--              'STALE' (the app's policy, or a product of it, is not the one
--              the keys name; nothing else follows); or 'DAY' (Redis's UTC day is
--              not ARGV[5]: only at follows, to build the keys again)
--   outcome    CLAIMED, ALREADY_LICENSED, DENIED, QUEUED or PENDING_APPROVAL
--   reason     the denial reason, or ''
--   policy     the policy number ('0' when none)
--   product    the number of the product claimed or held ('0' when none)
--   license    the license record claimed or held (absent when none)
--   sku, total, assigned, created   the product claimed or held: its
--              skuPartNumber, its pool after the claim and when it was added (ms)
--   low        the product's low-license threshold, as set now (absent when off)
--   event      the id of the decision's event (absent when none was appended)
--   available  licenses available across the policy's products after the
--              claim (with event only)
--   at         the decision's time (ms)
--   position   the user's place on the waitlist, 1 first (QUEUED only)
--   released   the licenses the claim gave back, superseded by the one
--              claimed (see licenses_encode; absent when none)
--   request, record   the number and the record of the license request
--              made or found (PENDING_APPROVAL only)
-- or an error "AC:NO_TENANT", "AC:IDEM_MISMATCH" or "AC:BAD_RECORD:licenses".
--@include lib/codec.lua
--@include lib/events.lua
--@include lib/report.lua
--@include lib/low.lua
--@include lib/supersede.lua
--@include lib/walk.lua
--@include lib/request.lua
local tenant_key, app_policies_key, policy_key = KEYS[1], KEYS[2], KEYS[3]
local profiles_key, upns_key, directory_key, licenses_key = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local idem_today_key, idem_yesterday_key, denials_key = KEYS[8], KEYS[9], KEYS[10]
local events_key, report_key, claims_key = KEYS[11], KEYS[12], KEYS[13]
local waitlist_key, held_key = KEYS[14], KEYS[15]
local request_keys = {tenant = KEYS[1], requests = KEYS[16], all = KEYS[17], pending = KEYS[18], due = KEYS[19],
  mine = KEYS[20], work = KEYS[21]}
local FIRST_PRODUCT, FIRST_PRODUCT_ARG = 22, 20
local work_key = request_keys.work

local user, app, trigger, policy, day = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local idem_field, request = ARGV[6], ARGV[7]
local upn, upn_lower, display_name = ARGV[8], ARGV[9], ARGV[10]
local idem_ttl, window = ARGV[12], tonumber(ARGV[13])
local queued_now, waited_too_long = waiter_seq(tonumber(ARGV[14])), waiter_seq(tonumber(ARGV[15]))
local trigger_index = tonumber(ARGV[16])
local request_expiry = tonumber(ARGV[19])

local now = now_ms()
local nowstr = string.format('%d', now)
local today = math.floor(now / DAY_MS)
if string.format('%d', today) ~= day then
  return cjson.encode({kind = 'DAY', at = nowstr})
end

-- product_keys[number] is the key of a product of the tenant that serves the app.
local product_keys = {}
for i = 0, #KEYS - FIRST_PRODUCT do
  product_keys[ARGV[FIRST_PRODUCT_ARG + i]] = KEYS[FIRST_PRODUCT + i]
end

-- 1. A replay answers what the first answer said, whatever happened since.
if idem_field ~= '' then
  local saved = redis.call('HGET', idem_today_key, idem_field) or redis.call('HGET', idem_yesterday_key, idem_field)
  if saved then
    local first = idem_decode(saved)
    if not first or first.request ~= request then
      return redis.error_reply('AC:IDEM_MISMATCH')
    end
    local answer = {kind = 'REPLAY', outcome = first.outcome, reason = first.reason, policy = first.policy,
      product = first.product, event = first.event, available = first.available, at = first.at,
      total = first.total, assigned = first.assigned, created = first.created, license = first.license,
      released = first.released}
    local l = first.license and license_decode(first.license)
    if l then
      answer.sku = l.sku
    end
    local key = product_keys[first.product]
    if key and first.total then
      answer.low = redis.call('HGET', key, 'low') or nil
    end
    return cjson.encode(answer)
  end
end

-- needs[sku] is the plan the app needs, for the SKUs that cover the app and trigger.
local needs = {}
for _, c in ipairs(covering_decode(ARGV[11])) do
  needs[c.sku] = c.plan
end

-- 2. A license the user holds that covers the app and trigger ends it.
local held = licenses_decode(redis.call('HGET', licenses_key, user))
if not held then
  return redis.error_reply('AC:BAD_RECORD:licenses')
end
for _, h in ipairs(held) do
  local l = license_decode(h.record)
  if l and needs[l.sku] and not list_has(l.plans, needs[l.sku]) then
    if math.floor(tonumber(license_last_used(l)) / DAY_MS) < today then
      l.used = nowstr
      h.record = license_encode(l)
      redis.call('HSET', licenses_key, user, licenses_encode(held))
    end
    local answer = {kind = 'OK', outcome = 'ALREADY_LICENSED', reason = '', policy = policy, product = h.product,
      license = h.record, sku = l.sku, at = nowstr}
    local key = product_keys[h.product]
    if key then
      local pool = redis.call('HMGET', key, 'total', 'assigned', 'created', 'low')
      answer.total, answer.assigned, answer.created, answer.low = pool[1], pool[2], pool[3], pool[4] or nil
    end
    return cjson.encode(answer)
  end
end

-- 3. The switches and the policy, as they are now.
local setting = redis.call('HGET', tenant_key, 'enabled') -- every tenant has it
if not setting then
  return redis.error_reply('AC:NO_TENANT')
end
if (redis.call('HGET', app_policies_key, app) or '0') ~= policy then
  return cjson.encode({kind = 'STALE'})
end
local state = {}
if policy ~= '0' then
  state = redis.call('HMGET', policy_key, 'enabled', 'products', 'waitlist', 'supersede', 'approval')
end
-- products are the policy's products in its order now: {product, plans, key}.
local products = products_decode(state[2] or '') or {}
for _, p in ipairs(products) do
  p.key = product_keys[p.product]
  if not p.key then
    return cjson.encode({kind = 'STALE'}) -- a product added to the tenant since the caller read its products
  end
end

-- pool(i) is the counts of products[i], read once.
local pool = walk_pools(products)

local answer = {kind = 'OK', outcome = 'DENIED', reason = '', policy = policy, product = '0', at = nowstr}
local low -- the low-license alert of the product claimed, if it is to be given
local superseded -- the licenses the claim gave back, and how (see release_superseded)
local waitlist_on = state[3] == '1'
if setting ~= '1' then
  answer.reason = 'AUTO_CLAIM_DISABLED'
elseif policy == '0' then
  answer.reason = 'NO_POLICY'
elseif state[1] ~= '1' then
  answer.reason = 'POLICY_DISABLED'
else
  -- A user on the waitlist keeps its place: licenses go to the waitlist in
  -- order, and while a fill hands them out, they are the waiting users'.
  local waiting = waitlist_on and redis.call('ZSCORE', waitlist_key, user)
  local w = waiting and waiter_score_decode(waiting)
  if waiting and not (w and w.seq >= waited_too_long) then
    redis.call('ZREM', waitlist_key, user) -- waited too long: decided afresh
    waiting, w = false, nil
  end
  local filling = waitlist_on and redis.call('ZSCORE', work_key, work_encode('f', policy))
  if waiting and (filling or w.trigger == trigger_index) then
    answer.outcome, answer.position = 'QUEUED', waitlist_position(waitlist_key, user, waited_too_long)
    return cjson.encode(answer)
  end
  if state[5] == '1' and walk_eligible(products, pool, needs, held) then
    -- Approval required: a license request for an admin, whether or not a
    -- license is free now; the user's pending one is answered again as it is.
    answer.outcome = 'PENDING_APPROVAL'
    answer.request, answer.record = request_pending(request_keys.requests, request_keys.mine, user, policy,
      tonumber(ARGV[14]) - request_expiry)
    if answer.request then
      return cjson.encode(answer)
    end
    answer.request, answer.record = request_make(request_keys, {status = 'P', policy = policy, user = user, app = app,
      trigger = trigger, requested = ARGV[14], decided = '', outcome = '', reason = '', product = '0', roles = '',
      license = '', actor = '', message = ''}, string.format('%d', tonumber(ARGV[14]) + request_expiry))
  else
    local sup = state[4] == '1' and {on = '1', list = ARGV[17], key = function(n) return product_keys[n] end} or nil
    local i, claimed, released
    i, claimed, released, low = walk_claim({products = products, pool = pool, needs = needs, held = held, user = user,
      policy = policy, trigger = trigger, now = now, window = window, licenses_key = licenses_key,
      policy_key = policy_key, report_key = report_key, claims_key = claims_key, held_key = held_key,
      events_key = events_key, filling = filling, supersede = sup})
    if i then
      local counts = pool(i)
      answer.outcome, answer.product, answer.license = 'CLAIMED', products[i].product, claimed
      answer.sku, answer.total = counts.sku, string.format('%d', counts.total)
      answer.assigned, answer.created, answer.low = string.format('%d', counts.assigned), counts.created, counts.low or nil
      if #released > 0 then
        superseded = {sup = sup, released = released}
        answer.released = licenses_encode(released)
        -- The licenses given back are the waiting users': the caller fills
        -- the waitlists they feed, or a worker does after the grace.
        mark_released({work_key = work_key, due = string.format('%d', tonumber(ARGV[14]) + tonumber(ARGV[18])),
          products = products, policy = policy, waitlist_on = waitlist_on, waitlist_key = waitlist_key}, released)
      end
    else
      answer.reason = claimed
    end
    if answer.reason == 'NO_LICENSES_AVAILABLE' and waiting then
      -- Its place, for the trigger it waits with.
      answer.outcome, answer.reason = 'QUEUED', ''
      answer.position = waitlist_position(waitlist_key, user, waited_too_long)
      return cjson.encode(answer)
    elseif answer.reason == 'NO_LICENSES_AVAILABLE' and waitlist_on then
      answer.outcome, answer.reason = 'QUEUED', ''
      answer.position = waitlist_join(waitlist_key, user, queued_now, waited_too_long, trigger_index)
    end
  end
end

if answer.outcome == 'CLAIMED' or answer.outcome == 'QUEUED' or answer.outcome == 'PENDING_APPROVAL' then
  -- A user the tenant has not seen joins its directory.
  if redis.call('ZADD', directory_key, 'NX', 0, user) == 1 then
    local kept_upn = upn
    if upn ~= '' and redis.call('HSETNX', upns_key, upn_lower, user) == 0 then
      kept_upn = '' -- another user has it; the directory keeps the first
    end
    redis.call('HSET', profiles_key, user, profile_encode({upn = kept_upn, name = display_name, created = nowstr}))
  end
else
  report_count(report_key, claims_key, now, window, denial_count_field_encode(day, answer.reason))
  local scope = policy
  if policy == '0' then
    scope = app
  end
  if redis.call('HSETNX', denials_key, denial_encode({reason = answer.reason, scope = scope, user = user}), '1') == 0 then
    return cjson.encode(answer) -- reported already today
  end
  redis.call('PEXPIRE', denials_key, 2 * DAY_MS)
end

answer.available = string.format('%d', walk_available(products, pool))
answer.event = emit(events_key, window, {kind = 'claim', policy = policy, user = user, app = app,
  product = answer.product, trigger = trigger, outcome = answer.outcome, reason = answer.reason,
  available = answer.available, request = answer.request}, now)
if low then
  low_alert(events_key, window, low) -- after the claim that took the product low
end
if superseded then
  emit_released(superseded.sup, superseded.released)
end

if idem_field ~= '' and answer.outcome == 'CLAIMED' then
  redis.call('HSET', idem_today_key, idem_field, idem_encode({request = request, outcome = answer.outcome,
    reason = answer.reason, policy = policy, product = answer.product, available = answer.available,
    event = answer.event, at = nowstr, total = answer.total, assigned = answer.assigned, created = answer.created,
    license = answer.license, released = answer.released}))
  redis.call('PEXPIRE', idem_today_key, tonumber(idem_ttl))
end
return cjson.encode(answer)
