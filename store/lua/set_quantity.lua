-- Sets the total number of licenses of a product; never below what is assigned.
-- KEYS[1] product hash   KEYS[2] event stream
-- ARGV[1] quantity  ARGV[2] product number  ARGV[3] event window (ms)
-- Reply: 1, or an error "AC:NO_PRODUCT" or "AC:BELOW_ASSIGNED:<assigned>".
--@include lib/events.lua
local product_key, events_key = KEYS[1], KEYS[2]
local quantity, product, window = ARGV[1], ARGV[2], ARGV[3]

if redis.call('EXISTS', product_key) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
local assigned = tonumber(redis.call('HGET', product_key, 'assigned'))
if assigned > tonumber(quantity) then
  return redis.error_reply('AC:BELOW_ASSIGNED:' .. assigned)
end
redis.call('HSET', product_key, 'total', quantity)
emit(events_key, window, {kind = 'LICENSE_QUANTITY_CHANGED', product = product, total = quantity, assigned = assigned})
return 1
