-- Sets the org-wide auto-claim setting of a tenant.
-- KEYS[1] tenant hash
-- ARGV[1] enabled (0/1)
-- Reply: 1, or an error "AC:NO_TENANT".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
redis.call('HSET', KEYS[1], 'enabled', ARGV[1])
return 1
