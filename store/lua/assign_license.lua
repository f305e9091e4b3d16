-- Assigns a license of a product to a user directly (source DIRECT).
-- KEYS[1] user hash   KEYS[2] user's licenses hash   KEYS[3] product hash   KEYS[4] event stream
-- ARGV[1] product number  ARGV[2] encoded license record  ARGV[3] user id  ARGV[4] event window (ms)
-- Reply: 1, or an error "AC:NO_USER", "AC:NO_PRODUCT", "AC:ALREADY_HOLDS" or "AC:NO_AVAILABLE:<total>".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_USER')
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return redis.error_reply('AC:ALREADY_HOLDS')
end
local p = redis.call('HMGET', KEYS[3], 'total', 'assigned')
local total, assigned = tonumber(p[1]), tonumber(p[2])
if assigned >= total then
  return redis.error_reply('AC:NO_AVAILABLE:' .. total)
end
assigned = redis.call('HINCRBY', KEYS[3], 'assigned', 1)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
emit(KEYS[4], ARGV[4], 'kind', 'LICENSE_ASSIGNED', 'product', ARGV[1], 'user', ARGV[3], 'total', total, 'assigned', assigned)
return 1
