-- Creates a tenant and its first Global admin (the person who signed up).
-- KEYS[1] tenant hash   KEYS[2] users zset   KEYS[3] admin user hash   KEYS[4] upn index hash
-- ARGV[1] tenant id  ARGV[2] name  ARGV[3] policy limit  ARGV[4] auto-claim enabled (0/1)
-- ARGV[5] now (unix ms)  ARGV[6] admin user id  ARGV[7] admin upn, lower case
-- ARGV[8] admin upn  ARGV[9] admin display name
-- Reply: 1, or an error "AC:TENANT_EXISTS".
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('AC:TENANT_EXISTS')
end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'limit', ARGV[3], 'enabled', ARGV[4], 'created', ARGV[5],
  'seq_product', 0, 'seq_policy', 0)
redis.call('ZADD', KEYS[2], 0, ARGV[6])
redis.call('HSET', KEYS[3], 'upn', ARGV[8], 'name', ARGV[9], 'created', ARGV[5])
redis.call('HSET', KEYS[4], ARGV[7], ARGV[6])
return 1
