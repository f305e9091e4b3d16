-- Writes a policy's name, status, products and settings if nobody changed it
-- since it was read. Its waitlist turned off empties it, and approval
-- turned on takes off it the users no approval queued (no one waiting
-- unapproved gets a license); the licenses
-- available to its waitlist (the policy turned on, a product added or
-- moved up) go to it.
-- KEYS[1] policy hash   KEYS[2] event stream   KEYS[3] audit stream
-- KEYS[4] the policy's waitlist zset   KEYS[5] the tenant's work zset
-- KEYS[6] the policy's approved waiters hash
-- KEYS[7..6+ARGV[12]] product hashes of the new list, in order; then those the fill plan names
-- ARGV[1] version read  ARGV[2] name  ARGV[3] enabled (0/1)  ARGV[4] now (unix ms, the store's clock)
-- ARGV[5] encoded products  ARGV[6] policy number  ARGV[7] event window (ms)
-- ARGV[8] audit entry (see audit_arg; its changes are from the version read)  ARGV[9] audit retention (ms)
-- ARGV[10] waitlist on (0/1)  ARGV[11] reclaim period (days, 0 off)  ARGV[12] how many products
-- ARGV[13] release superseded licenses (0/1)  ARGV[14] approval required (0/1)
-- ARGV[15] the fill plan (JSON, see fill_waitlists)
-- Reply: a JSON object of strings: version (the new one), filled, next (see
-- fill_waitlists); or an error "AC:NO_POLICY", "AC:STALE", "AC:NO_PRODUCT"
-- or "AC:BAD_PRODUCTS".
--@include lib/audit.lua
--@include lib/policy.lua
--@include lib/fill.lua
local policy_key, events_key, audit_key, waitlist_key, work_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local approved_waiters_key = KEYS[6]
local product_keys = {unpack(KEYS, 7, 6 + tonumber(ARGV[12]))}
local version_read, name, enabled, now, encoded, policy, window = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local entry, retention = audit_arg(ARGV[8]), ARGV[9]
local waitlist, reclaim, plan = ARGV[10], ARGV[11], cjson.decode(ARGV[15])
local supersede, approval = ARGV[13], ARGV[14]

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
local had_waitlist = redis.call('HGET', policy_key, 'waitlist') == '1'
local had_approval = redis.call('HGET', policy_key, 'approval') == '1'
redis.call('HSET', policy_key, 'name', name, 'enabled', enabled, 'updated', now, 'products', encoded,
  'waitlist', waitlist, 'reclaim', reclaim, 'supersede', supersede, 'approval', approval)
local version = redis.call('HINCRBY', policy_key, 'version', 1)
if waitlist == '1' and approval == '1' and not had_approval then
  -- Approval turned on: the users waiting that no approval queued leave the
  -- waitlist; their next claim asks for approval.
  local dropped = 0
  local entries = redis.call('ZRANGE', waitlist_key, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    if redis.call('HGET', approved_waiters_key, entries[i]) ~= entries[i + 1] then
      redis.call('ZREM', waitlist_key, entries[i])
      dropped = dropped + 1
    end
  end
  if dropped > 0 then
    audit_change(entry, 'waitlistedUsers', string.format('%d', dropped), '0')
  end
end
if waitlist == '1' then
  redis.call('ZADD', work_key, '+inf', work_encode('w', policy))
elseif had_waitlist then
  -- Off, the waitlist empties: its users are no longer waiting.
  local dropped = redis.call('ZCARD', waitlist_key)
  redis.call('DEL', waitlist_key, approved_waiters_key)
  redis.call('ZREM', work_key, work_encode('w', policy), work_encode('f', policy))
  if dropped > 0 then
    audit_change(entry, 'waitlistedUsers', string.format('%d', dropped), '0')
  end
end
-- A policy that requires approval keeps its tenant among those the workers
-- visit, for the sweep of its license requests.
if approval == '1' then
  redis.call('ZADD', work_key, '+inf', work_encode('a', policy))
else
  redis.call('ZREM', work_key, work_encode('a', policy))
end
if reclaim ~= '0' then
  redis.call('ZADD', work_key, 'NX', now, work_encode('s', policy)) -- the first sweep is due now
else
  redis.call('ZREM', work_key, work_encode('s', policy))
end
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'POLICY_UPDATED', policy = policy, enabled = enabled, order = product_numbers(products), version = version}, entry))
local filled, next = fill_waitlists(plan, {})
return cjson.encode({version = string.format('%d', version), filled = string.format('%d', filled), next = next})
