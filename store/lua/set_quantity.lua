-- Sets the total number of licenses of a product; never below what is assigned.
-- KEYS[1] product hash   KEYS[2] event stream
-- ARGV[1] quantity  ARGV[2] product number  ARGV[3] event window (ms)
-- Reply: 1, or an error "AC:NO_PRODUCT" or "AC:BELOW_ASSIGNED:<assigned>".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
local assigned = tonumber(redis.call('HGET', KEYS[1], 'assigned'))
if assigned > tonumber(ARGV[1]) then
  return redis.error_reply('AC:BELOW_ASSIGNED:' .. assigned)
end
redis.call('HSET', KEYS[1], 'total', ARGV[1])
emit(KEYS[2], ARGV[3], 'kind', 'LICENSE_QUANTITY_CHANGED', 'product', ARGV[2], 'total', ARGV[1], 'assigned', assigned)
return 1
