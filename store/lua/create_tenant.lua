-- Creates a tenant and its first Global admin (the person who signed up).
-- KEYS[1] tenant hash   KEYS[2] admin's profile bucket hash   KEYS[3] upn index hash
-- KEYS[4] directory index zset   KEYS[5] audit stream
-- ARGV[1] name  ARGV[2] policy limit  ARGV[3] auto-claim enabled (0/1)  ARGV[4] now (unix ms)
-- ARGV[5] admin user id  ARGV[6] admin upn, lower case  ARGV[7] admin's directory entry
-- ARGV[8] audit entry (see audit_arg)  ARGV[9] audit retention (ms)
-- Reply: 1, or an error "AC:TENANT_EXISTS".
--@include lib/audit.lua
local tenant_key, profiles_key, upns_key, directory_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local name, limit, enabled, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local admin, admin_upn_lower, admin_profile = ARGV[5], ARGV[6], ARGV[7]
local entry, retention = audit_arg(ARGV[8]), ARGV[9]

if redis.call('EXISTS', tenant_key) == 1 then
  return redis.error_reply('AC:TENANT_EXISTS')
end
redis.call('HSET', tenant_key, 'name', name, 'limit', limit, 'enabled', enabled, 'created', now,
  'seq_product', 0, 'seq_policy', 0)
redis.call('HSET', profiles_key, admin, admin_profile)
redis.call('HSET', upns_key, admin_upn_lower, admin)
redis.call('ZADD', directory_key, 0, admin)
audit(audit_key, retention, entry)
return 1
