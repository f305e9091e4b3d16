-- Adds a product (a pool of licenses of one SKU) to a tenant.
-- KEYS[1] tenant hash   KEYS[2] products zset   KEYS[3] product hash   KEYS[4] sku index hash
-- KEYS[5] event stream   KEYS[6] audit stream
-- ARGV[1] product number  ARGV[2] skuPartNumber  ARGV[3] quantity  ARGV[4] now (unix ms)
-- ARGV[5] event window (ms)  ARGV[6] audit entry (see audit_arg)  ARGV[7] audit retention (ms)
-- Reply: 1, or an error "AC:NO_TENANT", "AC:SKU_EXISTS:<product number>" or
-- "AC:STALE" (another call took the product number).
--@include lib/audit.lua
--@include lib/number.lua
local tenant_key, products_key, product_key, skus_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local product, sku, quantity, now, window = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local entry, retention = audit_arg(ARGV[6]), ARGV[7]

if redis.call('EXISTS', tenant_key) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local existing = redis.call('HGET', skus_key, sku)
if existing then
  return redis.error_reply('AC:SKU_EXISTS:' .. existing)
end
local stale = take_number(tenant_key, 'seq_product', product)
if stale then
  return stale
end
redis.call('HSET', product_key, 'sku', sku, 'total', quantity, 'assigned', 0, 'created', now)
redis.call('ZADD', products_key, tonumber(product), product)
redis.call('HSET', skus_key, sku, product)
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'PRODUCT_ADDED', product = product, total = quantity, assigned = 0}, entry))
return 1
