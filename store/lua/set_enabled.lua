-- Sets the org-wide auto-claim setting of a tenant.
-- KEYS[1] tenant hash   KEYS[2] event stream
-- ARGV[1] enabled (0/1)  ARGV[2] event window (ms)
-- Reply: 1, or an error "AC:NO_TENANT".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
redis.call('HSET', KEYS[1], 'enabled', ARGV[1])
emit(KEYS[2], ARGV[2], 'kind', 'AUTO_CLAIM_SETTING_CHANGED', 'enabled', ARGV[1])
return 1
