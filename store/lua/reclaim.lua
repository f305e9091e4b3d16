-- Reclaims a batch of a policy's licenses unused since a time: each goes
-- back to its pool (and to the waitlists it feeds), with a
-- LICENSE_RECLAIMED event, counted in the policy's report; one audit entry
-- lists them. A candidate that is not a license claimed under the policy
-- (any more), or that was used since, is left, and the policy's index of
-- claimed licenses put right.
-- KEYS[1] policy hash   KEYS[2] the policy's index of claimed licenses
-- KEYS[3] its report hash   KEYS[4] its claims stream   KEYS[5] event stream
-- KEYS[6] audit stream   KEYS[7..] the candidates' license buckets and products, and those the fill plan names
-- ARGV[1] policy number  ARGV[2] the time (ms, the store's clock) a license unused since is idle
-- ARGV[3] the candidates, JSON: [[user id, product number, license bucket, product hash], …],
-- the keys by index in KEYS
-- ARGV[4] event window (ms)  ARGV[5] audit entry (see audit_arg)  ARGV[6] audit retention (ms)
-- ARGV[7] the tenant's id (to name products in the entry)  ARGV[8] the fill plan (JSON, see fill_waitlists)
-- Reply: a JSON object of strings: reclaimed, filled, next, given (see
-- fill_waitlists); or an error "AC:NO_POLICY".
--@include lib/audit.lua
--@include lib/fill.lua
local policy_key, held_key, report_key, claims_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local policy, idle_since, candidates = ARGV[1], tonumber(ARGV[2]), cjson.decode(ARGV[3])
local window, entry, retention, tenant, plan = tonumber(ARGV[4]), audit_arg(ARGV[5]), ARGV[6], ARGV[7], cjson.decode(ARGV[8])

if redis.call('EXISTS', policy_key) == 0 then
  return redis.error_reply('AC:NO_POLICY')
end
local now = now_ms()
local day = string.format('%d', math.floor(now / DAY_MS))
local reclaimed, changed, seen = 0, {}, {}
for _, c in ipairs(candidates) do
  local user, product, bucket, product_key = c[1], c[2], KEYS[c[3]], KEYS[c[4]]
  local member = held_encode(product, user)
  local held = licenses_decode(redis.call('HGET', bucket, user))
  local i, h
  if held then
    i, h = find_product(held, product)
  end
  local l = h and license_decode(h.record)
  if not l or l.source ~= 'A' or l.policy ~= policy then
    redis.call('ZREM', held_key, member)
  elseif tonumber(license_last_used(l)) > idle_since then
    redis.call('ZADD', held_key, license_last_used(l), member)
  else
    local pool = redis.call('HMGET', product_key, 'total', 'assigned')
    if not seen[product] then
      seen[product] = true
      changed[#changed + 1] = {product = product, key = product_key, before = tonumber(pool[1]) - tonumber(pool[2])}
    end
    table.remove(held, i)
    if #held == 0 then
      redis.call('HDEL', bucket, user)
    else
      redis.call('HSET', bucket, user, licenses_encode(held))
    end
    local assigned = redis.call('HINCRBY', product_key, 'assigned', -1)
    redis.call('HINCRBY', policy_key, 'claimed', -1)
    redis.call('ZREM', held_key, member)
    report_count(report_key, claims_key, now, window, flow_count_field_encode(day, 'reclaims'))
    emit(events_key, window, by({kind = 'LICENSE_RECLAIMED', policy = policy, product = product, user = user,
      total = pool[1], assigned = assigned}, entry), now)
    audit_change(entry, 'license[' .. user .. ']', tenant .. ':product:' .. product .. ' (AUTO_CLAIM)', nil)
    entry.targets = entry.targets .. ',' .. user
    reclaimed = reclaimed + 1
  end
end
if reclaimed > 0 then
  audit(audit_key, retention, entry)
end
local filled, next, given = fill_waitlists(plan, changed)
return cjson.encode({reclaimed = string.format('%d', reclaimed), filled = string.format('%d', filled), next = next, given = given})
