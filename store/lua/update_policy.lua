-- Writes a policy's name, status and products if nobody changed it since it was read.
-- KEYS[1] policy hash   KEYS[2] event stream   KEYS[3..] product hashes of the new list, in order
-- ARGV[1] version read  ARGV[2] name  ARGV[3] enabled (0/1)  ARGV[4] now (unix ms)
-- ARGV[5] encoded products  ARGV[6] policy number  ARGV[7] product numbers in order, comma-separated
-- ARGV[8] event window (ms)
-- Reply: the new version, or an error "AC:NO_POLICY", "AC:STALE", "AC:NO_PRODUCT" or "AC:BAD_PRODUCTS".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_POLICY')
end
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then
  return redis.error_reply('AC:STALE')
end
local bad = check_products(ARGV[5], 3)
if bad then
  return bad
end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'enabled', ARGV[3], 'updated', ARGV[4], 'products', ARGV[5])
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
emit(KEYS[2], ARGV[8], 'kind', 'POLICY_UPDATED', 'policy', ARGV[6], 'enabled', ARGV[3], 'order', ARGV[7], 'version', version)
return version
