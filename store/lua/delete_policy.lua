-- Deletes a policy. Licenses claimed under it stay with their holders.
-- KEYS[1] policy hash   KEYS[2] policies zset   KEYS[3] app -> policy index hash
-- KEYS[4] policy report hash   KEYS[5] policy claimed-users zset   KEYS[6] event stream
-- ARGV[1] policy number  ARGV[2] event window (ms)
-- Reply: the policy's app id, or an error "AC:NO_POLICY".
--@include lib/events.lua
local policy_key, policies_key, app_policies_key, report_key, claimed_key, events_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local policy, window = ARGV[1], ARGV[2]

local app = redis.call('HGET', policy_key, 'app')
if not app then
  return redis.error_reply('AC:NO_POLICY')
end
if redis.call('HGET', app_policies_key, app) == policy then
  redis.call('HDEL', app_policies_key, app)
end
redis.call('ZREM', policies_key, policy)
redis.call('DEL', policy_key, report_key, claimed_key)
emit(events_key, window, {kind = 'POLICY_DELETED', policy = policy})
return app
