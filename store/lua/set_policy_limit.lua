-- Sets how many policies a tenant may hold; never below the number it holds.
-- KEYS[1] tenant hash   KEYS[2] policies zset   KEYS[3] audit stream
-- ARGV[1] limit  ARGV[2] audit entry (see audit_arg)  ARGV[3] audit retention (ms)
-- Reply: 1, or an error "AC:NO_TENANT" or "AC:LIMIT_BELOW_COUNT:<policies held>".
--@include lib/audit.lua
local tenant_key, policies_key, audit_key = KEYS[1], KEYS[2], KEYS[3]
local limit, entry, retention = ARGV[1], audit_arg(ARGV[2]), ARGV[3]

if redis.call('EXISTS', tenant_key) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local held = redis.call('ZCARD', policies_key)
if held > tonumber(limit) then
  return redis.error_reply('AC:LIMIT_BELOW_COUNT:' .. held)
end
local was = redis.call('HGET', tenant_key, 'limit')
if tonumber(was) == tonumber(limit) then
  return 1 -- nothing changes: no audit entry
end
audit_change(entry, 'policyLimit', was, limit)
redis.call('HSET', tenant_key, 'limit', limit)
audit(audit_key, retention, entry)
return 1
