-- Creates a tenant and its first Global admin (the person who signed up).
-- KEYS[1] tenant hash   KEYS[2] admin's profile bucket hash   KEYS[3] upn index hash
-- ARGV[1] name  ARGV[2] policy limit  ARGV[3] auto-claim enabled (0/1)  ARGV[4] now (unix ms)
-- ARGV[5] admin user id  ARGV[6] admin upn, lower case  ARGV[7] admin profile record
-- Reply: 1, or an error "AC:TENANT_EXISTS".
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('AC:TENANT_EXISTS')
end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'limit', ARGV[2], 'enabled', ARGV[3], 'created', ARGV[4],
  'seq_product', 0, 'seq_policy', 0, 'users', 1)
redis.call('HSET', KEYS[2], ARGV[5], ARGV[7])
redis.call('HSET', KEYS[3], ARGV[6], ARGV[5])
return 1
