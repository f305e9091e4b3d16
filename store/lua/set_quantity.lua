-- Sets the total number of licenses of a product; never below what is assigned.
-- KEYS[1] product hash
-- ARGV[1] quantity
-- Reply: 1, or an error "AC:NO_PRODUCT" or "AC:BELOW_ASSIGNED:<assigned>".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
local assigned = tonumber(redis.call('HGET', KEYS[1], 'assigned'))
if assigned > tonumber(ARGV[1]) then
  return redis.error_reply('AC:BELOW_ASSIGNED:' .. assigned)
end
redis.call('HSET', KEYS[1], 'total', ARGV[1])
return 1
