-- Takes a user off a policy's waitlist.
-- KEYS[1] policy hash   KEYS[2] the policy's waitlist zset   KEYS[3] event stream
-- KEYS[4] audit stream
-- ARGV[1] user id  ARGV[2] policy number  ARGV[3] event window (ms)
-- ARGV[4] audit entry (see audit_arg)  ARGV[5] audit retention (ms)
-- Reply: 1, or an error "AC:NO_POLICY" or "AC:NOT_WAITING".
--@include lib/audit.lua
local policy_key, waitlist_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local user, policy, window, entry, retention = ARGV[1], ARGV[2], ARGV[3], audit_arg(ARGV[4]), ARGV[5]

if redis.call('EXISTS', policy_key) == 0 then
  return redis.error_reply('AC:NO_POLICY')
end
local rank = redis.call('ZRANK', waitlist_key, user)
if not rank then
  return redis.error_reply('AC:NOT_WAITING')
end
redis.call('ZREM', waitlist_key, user)
audit_change(entry, 'waitlistPosition', string.format('%d', rank + 1), nil)
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'WAITLIST_ENTRY_REMOVED', policy = policy, user = user}, entry))
return 1
