-- Adds a product (a pool of licenses of one SKU) to a tenant.
-- KEYS[1] tenant hash   KEYS[2] products zset   KEYS[3] product hash   KEYS[4] sku index hash
-- KEYS[5] event stream
-- ARGV[1] product number  ARGV[2] skuPartNumber  ARGV[3] quantity  ARGV[4] now (unix ms)
-- ARGV[5] event window (ms)
-- Reply: 1, or an error "AC:NO_TENANT" or "AC:SKU_EXISTS:<product number>".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local existing = redis.call('HGET', KEYS[4], ARGV[2])
if existing then
  return redis.error_reply('AC:SKU_EXISTS:' .. existing)
end
redis.call('HSET', KEYS[3], 'sku', ARGV[2], 'total', ARGV[3], 'assigned', 0, 'created', ARGV[4])
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]), ARGV[1])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1])
emit(KEYS[5], ARGV[5], 'kind', 'PRODUCT_ADDED', 'product', ARGV[1], 'total', ARGV[3], 'assigned', 0)
return 1
