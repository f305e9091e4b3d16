-- Assigns a license of a product to a user directly (source DIRECT). A user
-- waiting on a waitlist for a trigger the license covers leaves it.
-- KEYS[1] the user's profile bucket hash   KEYS[2] the user's license bucket hash
-- KEYS[3] product hash   KEYS[4] event stream   KEYS[5] audit stream
-- KEYS[6..] the waitlists the license may serve (zsets)
-- ARGV[1] product number  ARGV[2] license record  ARGV[3] user id  ARGV[4] event window (ms)
-- ARGV[5] audit entry (see audit_arg)  ARGV[6] audit retention (ms)
-- ARGV[7] for each waitlist of KEYS[6..], in order, the triggers the license
-- covers for its policy's app: indexes in license.AllTriggers, JSON
-- ([[0, 1], [4]])
-- Reply: 1, or an error "AC:NO_USER", "AC:NO_PRODUCT", "AC:ALREADY_HOLDS",
-- "AC:NO_AVAILABLE:<total>" or "AC:BAD_RECORD:licenses".
--@include lib/audit.lua
--@include lib/low.lua
local profiles_key, licenses_key, product_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local product, record, user, window = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local entry, retention, covers = audit_arg(ARGV[5]), ARGV[6], cjson.decode(ARGV[7])

if redis.call('HEXISTS', profiles_key, user) == 0 then
  return redis.error_reply('AC:NO_USER')
end
if redis.call('EXISTS', product_key) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
local held = licenses_decode(redis.call('HGET', licenses_key, user))
if not held then
  return redis.error_reply('AC:BAD_RECORD:licenses')
end
if find_product(held, product) then
  return redis.error_reply('AC:ALREADY_HOLDS')
end
local pool = redis.call('HMGET', product_key, 'total', 'assigned', 'low')
local total, assigned = tonumber(pool[1]), tonumber(pool[2])
if assigned >= total then
  return redis.error_reply('AC:NO_AVAILABLE:' .. total)
end
assigned = redis.call('HINCRBY', product_key, 'assigned', 1)
held[#held + 1] = {product = product, record = record}
redis.call('HSET', licenses_key, user, licenses_encode(held))
for i, triggers in ipairs(covers) do
  local w = waiter_score_decode(redis.call('ZSCORE', KEYS[5 + i], user) or '')
  if w then
    for _, t in ipairs(triggers) do
      if t == w.trigger then
        redis.call('ZREM', KEYS[5 + i], user)
      end
    end
  end
end
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'LICENSE_ASSIGNED', product = product, user = user, total = total, assigned = assigned}, entry))
low_alert(events_key, window, {product = product, total = total, assigned = assigned, low = pool[3], before = total - assigned + 1})
return 1
