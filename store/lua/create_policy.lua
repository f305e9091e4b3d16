-- Creates an auto-claim policy, within the tenant's policy limit and one per app.
-- KEYS[1] tenant hash   KEYS[2] policies zset   KEYS[3] app -> policy index hash
-- KEYS[4] policy hash   KEYS[5] event stream   KEYS[6..] product hashes, in policy order
-- ARGV[1] policy number  ARGV[2] app id  ARGV[3] name  ARGV[4] enabled (0/1)
-- ARGV[5] auto-created (0/1)  ARGV[6] now (unix ms)  ARGV[7] encoded products
-- ARGV[8] product numbers in order, comma-separated  ARGV[9] event window (ms)
-- Reply: 1, or an error "AC:NO_TENANT", "AC:POLICY_LIMIT:<limit>",
-- "AC:APP_HAS_POLICY:<policy number>", "AC:NO_PRODUCT" or "AC:BAD_PRODUCTS".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit'))
if redis.call('ZCARD', KEYS[2]) >= limit then
  return redis.error_reply('AC:POLICY_LIMIT:' .. limit)
end
local other = redis.call('HGET', KEYS[3], ARGV[2])
if other then
  return redis.error_reply('AC:APP_HAS_POLICY:' .. other)
end
local bad = check_products(ARGV[7], 6)
if bad then
  return bad
end
redis.call('HSET', KEYS[4], 'app', ARGV[2], 'name', ARGV[3], 'enabled', ARGV[4], 'auto', ARGV[5],
  'created', ARGV[6], 'updated', ARGV[6], 'products', ARGV[7], 'version', 1, 'claimed', 0)
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
emit(KEYS[5], ARGV[9], 'kind', 'POLICY_CREATED', 'policy', ARGV[1], 'enabled', ARGV[4], 'order', ARGV[8], 'version', 1)
return 1
