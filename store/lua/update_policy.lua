-- Writes a policy's name, status and products if nobody changed it since it was read.
-- KEYS[1] policy hash   KEYS[2] event stream   KEYS[3] audit stream
-- KEYS[4..] product hashes of the new list, in order
-- ARGV[1] version read  ARGV[2] name  ARGV[3] enabled (0/1)  ARGV[4] now (unix ms)
-- ARGV[5] encoded products  ARGV[6] policy number  ARGV[7] event window (ms)
-- ARGV[8] audit entry (see audit_arg; its changes are from the version read)  ARGV[9] audit retention (ms)
-- Reply: the new version, or an error "AC:NO_POLICY", "AC:STALE", "AC:NO_PRODUCT" or "AC:BAD_PRODUCTS".
--@include lib/audit.lua
--@include lib/policy.lua
local policy_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3]
local product_keys = {unpack(KEYS, 4)}
local version_read, name, enabled, now, encoded, policy, window = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local entry, retention = audit_arg(ARGV[8]), ARGV[9]

if redis.call('EXISTS', policy_key) == 0 or redis.call('HEXISTS', policy_key, 'deleted') == 1 then
  return redis.error_reply('AC:NO_POLICY')
end
if redis.call('HGET', policy_key, 'version') ~= version_read then
  return redis.error_reply('AC:STALE')
end
local products, bad = check_products(encoded, product_keys)
if bad then
  return bad
end
redis.call('HSET', policy_key, 'name', name, 'enabled', enabled, 'updated', now, 'products', encoded)
local version = redis.call('HINCRBY', policy_key, 'version', 1)
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'POLICY_UPDATED', policy = policy, enabled = enabled, order = product_numbers(products), version = version}, entry))
return version
