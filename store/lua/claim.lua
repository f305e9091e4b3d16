-- Decides one claim, all or nothing: the org setting, the app's policy and its
-- status, the user's licenses, then the policy's products in order. Records
-- the license, bumps the report counters and the claimed-users index, and
-- appends the decision to the tenant's event stream. Remembers the answer
-- under the idempotency key.
-- KEYS[1] tenant hash   KEYS[2] app -> policy hash   KEYS[3] policy hash (any key when none)
-- KEYS[4] the user's profile bucket hash   KEYS[5] upn index hash
-- KEYS[6] the user's license bucket hash
-- KEYS[7] today's idempotency bucket hash   KEYS[8] yesterday's (both any key when no key)
-- KEYS[9] event stream  KEYS[10] policy report hash  KEYS[11] policy claimed-users zset
-- KEYS[12..] product hashes, in the policy's order as the caller read it
-- ARGV[1] user id  ARGV[2] app id  ARGV[3] trigger  ARGV[4] policy number the caller read (0 = none)
-- ARGV[5] policy version the caller read  ARGV[6] idempotency key ('' = none)
-- ARGV[7] request fingerprint  ARGV[8] upn  ARGV[9] upn, lower case  ARGV[10] display name
-- ARGV[11] SKUs covering the app and trigger with the plan the app needs (see covering_encode)
-- ARGV[12] idempotency bucket TTL (ms)  ARGV[13] report window (ms)
-- ARGV[14..] product numbers matching KEYS[12..]
-- Reply: a JSON object (cjson.encode) whose values are all strings:
--   kind       'OK', 'REPLAY' (the stored first answer to the idempotency key) or
--              'STALE' (the policy changed since the caller read it; nothing else follows)
--   outcome    CLAIMED, ALREADY_LICENSED or DENIED
--   reason     the denial reason, or ''
--   policy     the policy number ('0' when none)
--   product    the number of the product claimed or held ('0' when none)
--   license    the license record claimed or held (absent when none, or when a
--              replay finds the license gone)
--   available  licenses available across the policy's products after the claim
--   event      the id of the decision's event   at   the decision's time (ms)
--   sku, total, assigned, created   the claimed product's skuPartNumber, its
--              pool after the claim and when it was added (ms); only when a
--              license was claimed now
-- or an error "AC:NO_TENANT", "AC:IDEM_MISMATCH" or "AC:BAD_RECORD:licenses".
--@include lib/codec.lua
--@include lib/events.lua
local tenant_key, app_policies_key, policy_key = KEYS[1], KEYS[2], KEYS[3]
local profiles_key, upns_key, licenses_key = KEYS[4], KEYS[5], KEYS[6]
local idem_today_key, idem_yesterday_key = KEYS[7], KEYS[8]
local events_key, report_key, claimed_key = KEYS[9], KEYS[10], KEYS[11]
local FIRST_PRODUCT_KEY = 12

local user, app, trigger, policy, policy_version = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local idem_key, fingerprint = ARGV[6], ARGV[7]
local upn, upn_lower, display_name = ARGV[8], ARGV[9], ARGV[10]
local covering, idem_ttl, window = covering_decode(ARGV[11]), ARGV[12], tonumber(ARGV[13])

-- products are the policy's products in order: {key, product (number)}.
local products = {}
for i = FIRST_PRODUCT_KEY, #KEYS do
  products[#products + 1] = {key = KEYS[i], product = ARGV[i + 2]}
end

local DAY_MS = 86400000 -- milliseconds in a day

if idem_key ~= '' then
  local saved = redis.call('HGET', idem_today_key, idem_key) or redis.call('HGET', idem_yesterday_key, idem_key)
  if saved then
    local first = idem_decode(saved)
    if not first or first.fingerprint ~= fingerprint then
      return redis.error_reply('AC:IDEM_MISMATCH')
    end
    local record
    if first.product ~= '0' then
      local _, license = find_product(licenses_decode(redis.call('HGET', licenses_key, user)) or {}, first.product)
      record = license and license.record
    end
    return cjson.encode({kind = 'REPLAY', outcome = first.outcome, reason = first.reason, policy = first.policy,
      product = first.product, license = record, available = first.available, event = first.event, at = first.at})
  end
end

if redis.call('EXISTS', tenant_key) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local current = redis.call('HGET', app_policies_key, app)
if policy == '0' then
  if current then
    return cjson.encode({kind = 'STALE'})
  end
elseif current ~= policy or redis.call('HGET', policy_key, 'version') ~= policy_version then
  return cjson.encode({kind = 'STALE'})
end

local now = now_ms()
local nowstr = string.format('%d', now)

if redis.call('HEXISTS', profiles_key, user) == 0 then
  local kept_upn = upn
  if upn ~= '' and redis.call('HSETNX', upns_key, upn_lower, user) == 0 then
    kept_upn = '' -- another user has it; the directory keeps the first
  end
  redis.call('HSET', profiles_key, user, profile_encode({upn = kept_upn, name = display_name, created = nowstr}))
  redis.call('HINCRBY', tenant_key, 'users', 1)
end

-- needs[sku] is the plan the app needs, for the SKUs that cover the app and trigger.
local needs = {}
for _, c in ipairs(covering) do
  needs[c.sku] = c.plan
end

-- licensed(record) says whether a held license covers the app and trigger:
-- its SKU does, and the plan the app needs is not among those it leaves off.
local function licensed(record)
  local l = license_decode(record)
  return l ~= nil and needs[l.sku] ~= nil and not list_has(l.plans, needs[l.sku])
end

-- count_claim bumps the report counters of today and of the product, dropping
-- counters older than the window once a day, and records the user among the
-- policy's claimants.
local function count_claim(product)
  local today = math.floor(now / DAY_MS)
  local trimmed = tonumber(redis.call('HGET', report_key, 'trimmed') or '0')
  if trimmed < today then
    for _, field in ipairs(redis.call('HKEYS', report_key)) do
      local day = report_field_decode(field)
      if day and tonumber(day) <= today - window / DAY_MS then
        redis.call('HDEL', report_key, field)
      end
    end
    redis.call('HSET', report_key, 'trimmed', string.format('%d', today))
  end
  local day = string.format('%d', today)
  redis.call('HINCRBY', report_key, report_field_encode(day), 1)
  redis.call('HINCRBY', report_key, report_field_encode(day, product), 1)
  redis.call('PEXPIRE', report_key, window + DAY_MS)
  redis.call('ZADD', claimed_key, now, user)
  redis.call('ZREMRANGEBYSCORE', claimed_key, '-inf', '(' .. string.format('%d', now - window))
  redis.call('PEXPIRE', claimed_key, window + DAY_MS)
end

local held = licenses_decode(redis.call('HGET', licenses_key, user))
if not held then
  return redis.error_reply('AC:BAD_RECORD:licenses')
end
local answer = {kind = 'OK', outcome = '', reason = '', policy = policy, product = '0'}
if redis.call('HGET', tenant_key, 'enabled') ~= '1' then
  answer.outcome, answer.reason = 'DENIED', 'AUTO_CLAIM_DISABLED'
elseif policy == '0' then
  answer.outcome, answer.reason = 'DENIED', 'NO_POLICY'
elseif redis.call('HGET', policy_key, 'enabled') ~= '1' then
  answer.outcome, answer.reason = 'DENIED', 'POLICY_DISABLED'
else
  for _, h in ipairs(held) do
    if licensed(h.record) then
      answer.outcome, answer.product, answer.license = 'ALREADY_LICENSED', h.product, h.record
      break
    end
  end
  if answer.outcome == '' then
    local eligible = false
    for _, p in ipairs(products) do
      local pool = redis.call('HMGET', p.key, 'sku', 'total', 'assigned', 'created')
      local sku, total, assigned, created = pool[1], pool[2], pool[3], pool[4]
      -- A product the user holds already (without the app's plan) can't be claimed twice.
      if sku and needs[sku] and not find_product(held, p.product) then
        eligible = true
        if tonumber(assigned) < tonumber(total) then
          assigned = string.format('%d', redis.call('HINCRBY', p.key, 'assigned', 1))
          local _, listed = find_product(products_decode(redis.call('HGET', policy_key, 'products')) or {}, p.product)
          local record = license_encode({source = 'A', policy = policy, assigned = nowstr,
            plans = listed and listed.plans or '', sku = sku})
          held[#held + 1] = {product = p.product, record = record}
          redis.call('HSET', licenses_key, user, licenses_encode(held))
          redis.call('HINCRBY', policy_key, 'claimed', 1)
          count_claim(p.product)
          answer.outcome, answer.product, answer.license = 'CLAIMED', p.product, record
          answer.sku, answer.total, answer.assigned, answer.created = sku, total, assigned, created
          break
        end
      end
    end
    if answer.outcome == '' then
      answer.outcome = 'DENIED'
      answer.reason = eligible and 'NO_LICENSES_AVAILABLE' or 'TRIGGER_NOT_ELIGIBLE'
    end
  end
end

local available = 0
for _, p in ipairs(products) do
  local pool = redis.call('HMGET', p.key, 'total', 'assigned')
  if pool[1] then
    available = available + math.max(0, tonumber(pool[1]) - tonumber(pool[2]))
  end
end
answer.available, answer.at = string.format('%d', available), nowstr

answer.event = emit(events_key, window, {kind = 'claim', policy = policy, user = user, app = app,
  product = answer.product, trigger = trigger, outcome = answer.outcome, reason = answer.reason,
  available = answer.available}, now)

if idem_key ~= '' then
  redis.call('HSET', idem_today_key, idem_key, idem_encode({fingerprint = fingerprint, outcome = answer.outcome,
    reason = answer.reason, policy = policy, product = answer.product, available = answer.available,
    event = answer.event, at = nowstr}))
  redis.call('PEXPIRE', idem_today_key, tonumber(idem_ttl))
end
return cjson.encode(answer)
