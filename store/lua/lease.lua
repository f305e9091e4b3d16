-- Renews or gives back a lease on a piece of a tenant's work (a key its
-- holder set with SET NX PX), if the caller still holds it.
-- KEYS[1] the lease
-- ARGV[1] the holder's token  ARGV[2] 'renew' or 'release'  ARGV[3] (renew) for how long (ms)
-- Reply: 1 when the caller held the lease (it is renewed or given back), 0 when not.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == 'renew' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
