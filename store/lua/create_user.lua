-- Adds a user to a tenant's directory; user principal names are unique per tenant.
-- KEYS[1] tenant hash   KEYS[2] the user's profile bucket hash   KEYS[3] upn index hash
-- ARGV[1] user id  ARGV[2] upn, lower case  ARGV[3] profile record
-- Reply: 1, or an error "AC:NO_TENANT", "AC:UPN_TAKEN:<user id>" or "AC:USER_EXISTS".
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local holder = redis.call('HGET', KEYS[3], ARGV[2])
if holder then
  return redis.error_reply('AC:UPN_TAKEN:' .. holder)
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return redis.error_reply('AC:USER_EXISTS')
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'users', 1)
return 1
