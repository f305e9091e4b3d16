-- Takes a license of a product from a user; it goes back to its pool. A license
-- claimed under a policy also leaves that policy's count of claimed licenses.
-- KEYS[1] the user's license bucket hash   KEYS[2] product hash
-- KEYS[3] policy hash of the license (or any key when DIRECT)   KEYS[4] event stream
-- ARGV[1] product number  ARGV[2] the license record the caller read (guards against a change in between)
-- ARGV[3] 1 if the license was claimed under the policy of KEYS[3], else 0
-- ARGV[4] user id  ARGV[5] event window (ms)
-- Reply: 1, or an error "AC:NO_LICENSE" or "AC:STALE".
local held = redis.call('HGET', KEYS[1], ARGV[4])
if not held then
  return redis.error_reply('AC:NO_LICENSE')
end
local kept, found = {}, nil
for entry in string.gmatch(held, '[^;]+') do
  local n, record = string.match(entry, '^(%d+)=(.*)$')
  if n == ARGV[1] then
    found = record
  else
    kept[#kept + 1] = entry
  end
end
if not found then
  return redis.error_reply('AC:NO_LICENSE')
end
if found ~= ARGV[2] then
  return redis.error_reply('AC:STALE')
end
if #kept == 0 then
  redis.call('HDEL', KEYS[1], ARGV[4])
else
  redis.call('HSET', KEYS[1], ARGV[4], table.concat(kept, ';'))
end
local assigned = redis.call('HINCRBY', KEYS[2], 'assigned', -1)
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'claimed', -1)
end
emit(KEYS[4], ARGV[5], 'kind', 'LICENSE_REMOVED', 'product', ARGV[1], 'user', ARGV[4],
  'total', redis.call('HGET', KEYS[2], 'total'), 'assigned', assigned)
return 1
