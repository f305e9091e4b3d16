-- Creates an auto-claim policy, within the tenant's policy limit and one per app.
-- KEYS[1] tenant hash   KEYS[2] policies zset   KEYS[3] app -> policy index hash
-- KEYS[4] policy hash   KEYS[5] event stream   KEYS[6] audit stream
-- KEYS[7..] product hashes, in policy order
-- ARGV[1] policy number  ARGV[2] app id  ARGV[3] name  ARGV[4] enabled (0/1)
-- ARGV[5] auto-created (0/1)  ARGV[6] now (unix ms)  ARGV[7] encoded products  ARGV[8] event window (ms)
-- ARGV[9] audit entry (see audit_arg)  ARGV[10] audit retention (ms)
-- Reply: 1, or an error "AC:NO_TENANT", "AC:POLICY_LIMIT:<limit>",
-- "AC:APP_HAS_POLICY:<policy number>", "AC:NO_PRODUCT", "AC:BAD_PRODUCTS" or
-- "AC:STALE" (another call took the policy number).
--@include lib/audit.lua
--@include lib/number.lua
--@include lib/policy.lua
local tenant_key, policies_key, app_policies_key, policy_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local product_keys = {unpack(KEYS, 7)}
local policy, app, name, enabled, auto = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, encoded, window = ARGV[6], ARGV[7], ARGV[8]
local entry, retention = audit_arg(ARGV[9]), ARGV[10]

if redis.call('EXISTS', tenant_key) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local limit = tonumber(redis.call('HGET', tenant_key, 'limit'))
if redis.call('ZCARD', policies_key) >= limit then
  return redis.error_reply('AC:POLICY_LIMIT:' .. limit)
end
local other = redis.call('HGET', app_policies_key, app)
if other then
  return redis.error_reply('AC:APP_HAS_POLICY:' .. other)
end
local products, bad = check_products(encoded, product_keys)
if bad then
  return bad
end
local stale = take_number(tenant_key, 'seq_policy', policy)
if stale then
  return stale
end
redis.call('HSET', policy_key, 'app', app, 'name', name, 'enabled', enabled, 'auto', auto,
  'created', now, 'updated', now, 'products', encoded, 'version', 1, 'claimed', 0)
redis.call('ZADD', policies_key, tonumber(policy), policy)
redis.call('HSET', app_policies_key, app, policy)
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'POLICY_CREATED', policy = policy, enabled = enabled, order = product_numbers(products), version = 1}, entry))
return 1
