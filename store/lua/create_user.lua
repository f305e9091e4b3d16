-- Adds a user to a tenant's directory; user principal names are unique per tenant.
-- KEYS[1] tenant hash   KEYS[2] the user's profile bucket hash   KEYS[3] upn index hash
-- KEYS[4] directory index zset   KEYS[5] audit stream
-- ARGV[1] user id  ARGV[2] upn, lower case  ARGV[3] directory entry
-- ARGV[4] audit entry (see audit_arg)  ARGV[5] audit retention (ms)
-- Reply: 1, or an error "AC:NO_TENANT", "AC:UPN_TAKEN:<user id>" or "AC:USER_EXISTS".
--@include lib/audit.lua
local tenant_key, profiles_key, upns_key, directory_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local user, upn_lower, profile = ARGV[1], ARGV[2], ARGV[3]
local entry, retention = audit_arg(ARGV[4]), ARGV[5]

if redis.call('EXISTS', tenant_key) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local holder = redis.call('HGET', upns_key, upn_lower)
if holder then
  return redis.error_reply('AC:UPN_TAKEN:' .. holder)
end
if redis.call('HEXISTS', profiles_key, user) == 1 then
  return redis.error_reply('AC:USER_EXISTS')
end
redis.call('HSET', profiles_key, user, profile)
redis.call('HSET', upns_key, upn_lower, user)
redis.call('ZADD', directory_key, 0, user)
audit(audit_key, retention, entry)
return 1
