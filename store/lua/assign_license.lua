-- Assigns a license of a product to a user directly (source DIRECT).
-- KEYS[1] the user's profile bucket hash   KEYS[2] the user's license bucket hash
-- KEYS[3] product hash   KEYS[4] event stream
-- ARGV[1] product number  ARGV[2] license record  ARGV[3] user id  ARGV[4] event window (ms)
-- Reply: 1, or an error "AC:NO_USER", "AC:NO_PRODUCT", "AC:ALREADY_HOLDS" or "AC:NO_AVAILABLE:<total>".
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 then
  return redis.error_reply('AC:NO_USER')
end
if redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
local held = redis.call('HGET', KEYS[2], ARGV[3])
if held and string.find(';' .. held, ';' .. ARGV[1] .. '=', 1, true) then
  return redis.error_reply('AC:ALREADY_HOLDS')
end
local p = redis.call('HMGET', KEYS[3], 'total', 'assigned')
local total, assigned = tonumber(p[1]), tonumber(p[2])
if assigned >= total then
  return redis.error_reply('AC:NO_AVAILABLE:' .. total)
end
assigned = redis.call('HINCRBY', KEYS[3], 'assigned', 1)
local entry = ARGV[1] .. '=' .. ARGV[2]
redis.call('HSET', KEYS[2], ARGV[3], held and (held .. ';' .. entry) or entry)
emit(KEYS[4], ARGV[4], 'kind', 'LICENSE_ASSIGNED', 'product', ARGV[1], 'user', ARGV[3], 'total', total, 'assigned', assigned)
return 1
