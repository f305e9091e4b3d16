-- Sets how many policies a tenant may hold; never below the number it holds.
-- KEYS[1] tenant hash   KEYS[2] policies zset
-- ARGV[1] limit
-- Reply: 1, or an error "AC:NO_TENANT" or "AC:LIMIT_BELOW_COUNT:<policies held>".
local tenant_key, policies_key = KEYS[1], KEYS[2]
local limit = ARGV[1]

if redis.call('EXISTS', tenant_key) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local held = redis.call('ZCARD', policies_key)
if held > tonumber(limit) then
  return redis.error_reply('AC:LIMIT_BELOW_COUNT:' .. held)
end
redis.call('HSET', tenant_key, 'limit', limit)
return 1
