-- Adds a user to a tenant's directory; user principal names are unique per tenant.
-- KEYS[1] tenant hash   KEYS[2] users zset   KEYS[3] user hash   KEYS[4] upn index hash
-- ARGV[1] user id  ARGV[2] upn, lower case  ARGV[3] upn  ARGV[4] display name  ARGV[5] now (unix ms)
-- Reply: 1, or an error "AC:NO_TENANT", "AC:UPN_TAKEN:<user id>" or "AC:USER_EXISTS".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local holder = redis.call('HGET', KEYS[4], ARGV[2])
if holder then
  return redis.error_reply('AC:UPN_TAKEN:' .. holder)
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return redis.error_reply('AC:USER_EXISTS')
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('HSET', KEYS[3], 'upn', ARGV[3], 'name', ARGV[4], 'created', ARGV[5])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1])
return 1
