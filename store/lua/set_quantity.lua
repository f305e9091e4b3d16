-- Sets the total number of licenses of a product; never below what is assigned.
-- KEYS[1] product hash   KEYS[2] event stream   KEYS[3] audit stream
-- ARGV[1] quantity  ARGV[2] product number  ARGV[3] event window (ms)
-- ARGV[4] audit entry (see audit_arg)  ARGV[5] audit retention (ms)
-- Reply: 1, or an error "AC:NO_PRODUCT" or "AC:BELOW_ASSIGNED:<assigned>".
--@include lib/audit.lua
local product_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3]
local quantity, product, window = ARGV[1], ARGV[2], ARGV[3]
local entry, retention = audit_arg(ARGV[4]), ARGV[5]

if redis.call('EXISTS', product_key) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
local assigned = tonumber(redis.call('HGET', product_key, 'assigned'))
if assigned > tonumber(quantity) then
  return redis.error_reply('AC:BELOW_ASSIGNED:' .. assigned)
end
audit_change(entry, 'totalLicenses', redis.call('HGET', product_key, 'total'), quantity)
redis.call('HSET', product_key, 'total', quantity)
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'LICENSE_QUANTITY_CHANGED', product = product, total = quantity, assigned = assigned}, entry))
return 1
