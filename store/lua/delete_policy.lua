-- Deletes a policy. Licenses claimed under it stay with their holders.
-- KEYS[1] policy hash   KEYS[2] policies zset   KEYS[3] app -> policy index hash
-- KEYS[4] policy report hash   KEYS[5] policy claimed-users zset   KEYS[6] event stream
-- ARGV[1] policy number  ARGV[2] event window (ms)
-- Reply: the policy's app id, or an error "AC:NO_POLICY".
local app = redis.call('HGET', KEYS[1], 'app')
if not app then
  return redis.error_reply('AC:NO_POLICY')
end
if redis.call('HGET', KEYS[3], app) == ARGV[1] then
  redis.call('HDEL', KEYS[3], app)
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
emit(KEYS[6], ARGV[2], 'kind', 'POLICY_DELETED', 'policy', ARGV[1])
return app
