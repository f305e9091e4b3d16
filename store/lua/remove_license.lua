-- Takes a license of a product from a user; it goes back to its pool, and
-- to the waitlists it feeds. A license claimed under a policy also leaves
-- that policy's count and index of claimed licenses.
-- KEYS[1] the user's license bucket hash   KEYS[2] product hash
-- KEYS[3] policy hash of the license (or any key when DIRECT)   KEYS[4] event stream
-- KEYS[5] audit stream   KEYS[6] the policy's index of claimed licenses (any key when DIRECT)
-- KEYS[7..] those the fill plan names
-- ARGV[1] product number  ARGV[2] the license record the caller read (guards against a change in between)
-- ARGV[3] 1 if the license was claimed under the policy of KEYS[3], else 0
-- ARGV[4] user id  ARGV[5] event window (ms)  ARGV[6] audit entry (see audit_arg)
-- ARGV[7] audit retention (ms)  ARGV[8] the fill plan (JSON, see fill_waitlists)
-- Reply: a JSON object of strings: filled, next (see fill_waitlists); or an
-- error "AC:NO_LICENSE", "AC:STALE" or "AC:BAD_RECORD:licenses".
--@include lib/audit.lua
--@include lib/fill.lua
local licenses_key, product_key, policy_key, events_key, audit_key, held_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local product, record_read, claimed, user, window = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local entry, retention, plan = audit_arg(ARGV[6]), ARGV[7], cjson.decode(ARGV[8])

local held = licenses_decode(redis.call('HGET', licenses_key, user))
if not held then
  return redis.error_reply('AC:BAD_RECORD:licenses')
end
local i, license = find_product(held, product)
if not i then
  return redis.error_reply('AC:NO_LICENSE')
end
if license.record ~= record_read then
  return redis.error_reply('AC:STALE')
end
table.remove(held, i)
if #held == 0 then
  redis.call('HDEL', licenses_key, user)
else
  redis.call('HSET', licenses_key, user, licenses_encode(held))
end
local assigned = redis.call('HINCRBY', product_key, 'assigned', -1)
local total = redis.call('HGET', product_key, 'total')
if claimed == '1' then
  redis.call('ZREM', held_key, held_encode(product, user))
  if redis.call('EXISTS', policy_key) == 1 then
    redis.call('HINCRBY', policy_key, 'claimed', -1)
  end
end
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'LICENSE_REMOVED', product = product, user = user, total = total, assigned = assigned}, entry))
local filled, next = fill_waitlists(plan, {{product = product, key = product_key, before = tonumber(total) - assigned - 1}})
return cjson.encode({filled = string.format('%d', filled), next = next})
