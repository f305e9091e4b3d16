-- Sets the org-wide auto-claim setting of a tenant.
-- KEYS[1] tenant hash   KEYS[2] event stream
-- ARGV[1] enabled (0/1)  ARGV[2] event window (ms)
-- Reply: 1, or an error "AC:NO_TENANT".
--@include lib/events.lua
local tenant_key, events_key = KEYS[1], KEYS[2]
local enabled, window = ARGV[1], ARGV[2]

if redis.call('EXISTS', tenant_key) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
redis.call('HSET', tenant_key, 'enabled', enabled)
emit(events_key, window, {kind = 'AUTO_CLAIM_SETTING_CHANGED', enabled = enabled})
return 1
