-- Sets how many policies a tenant may hold; never below the number it holds.
-- KEYS[1] tenant hash   KEYS[2] policies zset
-- ARGV[1] limit
-- Reply: 1, or an error "AC:NO_TENANT" or "AC:LIMIT_BELOW_COUNT:<policies held>".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local held = redis.call('ZCARD', KEYS[2])
if held > tonumber(ARGV[1]) then
  return redis.error_reply('AC:LIMIT_BELOW_COUNT:' .. held)
end
redis.call('HSET', KEYS[1], 'limit', ARGV[1])
return 1
