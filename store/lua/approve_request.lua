-- Approves a pending license request: the claim runs now for its user, app
-- and trigger under its policy, as claim.lua would run it (lib/walk.lua),
-- in this order: a license the user holds by now that covers the app and
-- trigger (ALREADY_LICENSED: no second license); the org setting; the
-- policy (DENIED NO_POLICY once it is deleted) and its status; the user's
-- place on the policy's waitlist (QUEUED); the policy's products in its
-- order now (CLAIMED), or, none having a license left, the end of the
-- waitlist when it is on (QUEUED), else DENIED. The request records
-- APPROVED, what it led to, when (the store's clock) and by whom (the audit
-- entry's actor). A LICENSE_REQUEST_APPROVED event goes out, then the claim
-- event of what it led to (but ALREADY_LICENSED and NO_POLICY, which decide
-- nothing under the policy), and a claim or a denial is counted in the
-- policy's report as a claim's is; the audit entry lists the outcome. As
-- in a claim, while a fill hands licenses out to the users waiting none is
-- taken (QUEUED), and with releaseSupersededLicenses on, the licenses a
-- license given supersedes go back (and are marked for the waitlists they
-- feed: the caller fills them, or a worker after the grace).
-- KEYS[1] tenant hash   KEYS[2] policy hash   KEYS[3] license requests hash
-- KEYS[4] pending requests index   KEYS[5] approved requests index   KEYS[6] requests due zset
-- KEYS[7] the user's license bucket hash   KEYS[8] event stream   KEYS[9] audit stream
-- KEYS[10] policy report hash   KEYS[11] the policy's claims stream
-- KEYS[12] policy claimed-licenses index zset   KEYS[13] policy waitlist zset
-- KEYS[14] the tenant's work zset   KEYS[15] the policy's approved waiters hash
-- KEYS[16..] hashes of the tenant's products that serve the app, as the caller read them
-- ARGV[1] request number   ARGV[2] SKUs covering the app and trigger (see covering_encode)
-- ARGV[3] the store's clock (ms)   ARGV[4] how long a request waits for a decision (ms)
-- ARGV[5] the time (ms, the store's clock) before which a user queued has waited too long
-- ARGV[6] the trigger's index in license.AllTriggers   ARGV[7] event and report window (ms)
-- ARGV[8] audit entry (see audit_arg)   ARGV[9] audit retention (ms)
-- ARGV[10] how long a decided request is kept (ms)   ARGV[11] the tenant's id (to name products in the entry)
-- ARGV[12] the products that serve the app with those each supersedes (see supersedes_encode)
-- ARGV[13] how long (ms) a fill this leaves is its caller's before a worker's
-- ARGV[14..] product numbers matching KEYS[16..]
-- Reply: a JSON object of strings: kind ('OK', or 'STALE' when the policy
-- holds a product the keys lack: nothing changed), outcome, released (the
-- licenses given back, see licenses_encode; absent when none); or an error
-- "AC:NO_REQUEST", "AC:NOT_PENDING:<P|A|D|E>", "AC:BAD_RECORD:request" or
-- "AC:BAD_RECORD:licenses".
--@include lib/audit.lua
--@include lib/walk.lua
--@include lib/low.lua
--@include lib/request.lua
local tenant_key, policy_key = KEYS[1], KEYS[2]
local request_keys = {requests = KEYS[3], pending = KEYS[4], due = KEYS[6]}
local approved_key, licenses_key, events_key, audit_key = KEYS[5], KEYS[7], KEYS[8], KEYS[9]
local report_key, claims_key, held_key, waitlist_key = KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local work_key, approved_waiters_key = KEYS[14], KEYS[15]
local FIRST_PRODUCT, FIRST_PRODUCT_ARG = 16, 14

local n, clock, expiry = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local waited_too_long, trigger_index, window = waiter_seq(tonumber(ARGV[5])), tonumber(ARGV[6]), tonumber(ARGV[7])
local entry, retention, keep, tenant = audit_arg(ARGV[8]), ARGV[9], tonumber(ARGV[10]), ARGV[11]

local r, refused = request_open(request_keys.requests, n, clock, expiry)
if refused then
  return refused
end

-- product_keys[number] is the key of a product of the tenant that serves the app.
local product_keys = {}
for i = 0, #KEYS - FIRST_PRODUCT do
  product_keys[ARGV[FIRST_PRODUCT_ARG + i]] = KEYS[FIRST_PRODUCT + i]
end
-- The policy as it is now; products in its order: {product, plans, key}.
local state = redis.call('HMGET', policy_key, 'enabled', 'products', 'waitlist', 'deleted', 'supersede')
local gone = not state[2] or state[4]
local products = {}
if not gone then
  products = products_decode(state[2]) or {}
  for _, p in ipairs(products) do
    p.key = product_keys[p.product]
    if not p.key then
      return cjson.encode({kind = 'STALE'}) -- a product added to the tenant since the caller read its products
    end
  end
end
local pool = walk_pools(products)

local needs = {}
for _, c in ipairs(covering_decode(ARGV[2])) do
  needs[c.sku] = c.plan
end
local held = licenses_decode(redis.call('HGET', licenses_key, r.user))
if not held then
  return redis.error_reply('AC:BAD_RECORD:licenses')
end

local now = now_ms()
emit(events_key, window, by({kind = 'LICENSE_REQUEST_APPROVED', policy = r.policy, user = r.user, request = n}, entry), now)

local outcome, reason, product, license = 'DENIED', '', '0', ''
local low, superseded -- the low-license alert and the licenses given back, for after the claim's event
for _, h in ipairs(held) do
  local l = license_decode(h.record)
  if l and needs[l.sku] and not list_has(l.plans, needs[l.sku]) then
    outcome, product, license = 'ALREADY_LICENSED', h.product, h.record
    break
  end
end
if outcome ~= 'ALREADY_LICENSED' then
  local waitlist_on = state[3] == '1'
  if redis.call('HGET', tenant_key, 'enabled') ~= '1' then
    reason = 'AUTO_CLAIM_DISABLED'
  elseif gone then
    reason = 'NO_POLICY'
  elseif state[1] ~= '1' then
    reason = 'POLICY_DISABLED'
  elseif waitlist_on and waitlist_place(waitlist_key, r.user, waited_too_long) then
    outcome = 'QUEUED'
    redis.call('HSET', approved_waiters_key, r.user, redis.call('ZSCORE', waitlist_key, r.user)) -- approved now
  else
    local sup = state[5] == '1' and {on = '1', list = ARGV[12], key = function(k) return product_keys[k] end} or nil
    local filling = waitlist_on and redis.call('ZSCORE', work_key, work_encode('f', r.policy))
    local i, claimed, released
    i, claimed, released, low = walk_claim({products = products, pool = pool, needs = needs, held = held, user = r.user,
      policy = r.policy, trigger = r.trigger, now = now, window = window, licenses_key = licenses_key,
      policy_key = policy_key, report_key = report_key, claims_key = claims_key, held_key = held_key,
      events_key = events_key, filling = filling, supersede = sup})
    if i then
      outcome, product, license = 'CLAIMED', products[i].product, claimed
      if #released > 0 then
        superseded = {sup = sup, released = released}
        mark_released({work_key = work_key, due = string.format('%d', clock + tonumber(ARGV[13])),
          products = products, policy = r.policy, waitlist_on = waitlist_on, waitlist_key = waitlist_key}, released)
      end
    elseif claimed == 'NO_LICENSES_AVAILABLE' and waitlist_on then
      outcome = 'QUEUED'
      waitlist_join(waitlist_key, r.user, waiter_seq(clock), waited_too_long, trigger_index)
      redis.call('HSET', approved_waiters_key, r.user, redis.call('ZSCORE', waitlist_key, r.user))
    else
      reason = claimed
    end
  end
  if reason ~= 'NO_POLICY' then
    if outcome == 'DENIED' then
      report_count(report_key, claims_key, now, window,
        denial_count_field_encode(string.format('%d', math.floor(now / DAY_MS)), reason))
    end
    emit(events_key, window, {kind = 'claim', policy = r.policy, user = r.user, app = r.app, product = product,
      trigger = r.trigger, outcome = outcome, reason = reason,
      available = string.format('%d', walk_available(products, pool)), request = n}, now)
  end
  if low then
    low_alert(events_key, window, low)
  end
  if superseded then
    emit_released(superseded.sup, superseded.released)
  end
end

r.status, r.decided, r.outcome, r.reason, r.product, r.license = 'A', string.format('%d', clock), outcome, reason, product, license
r.actor, r.roles = entry.actor, entry.roles
request_decide(request_keys, n, r, approved_key, string.format('%d', clock + keep))
audit_change(entry, 'outcome', nil, outcome)
if reason ~= '' then
  audit_change(entry, 'reason', nil, reason)
end
if product ~= '0' then
  audit_change(entry, 'license[' .. r.user .. ']', nil, tenant .. ':product:' .. product)
end
audit(audit_key, retention, entry)
local answer = {kind = 'OK', outcome = outcome}
if superseded then
  answer.released = licenses_encode(superseded.released)
end
return cjson.encode(answer)
