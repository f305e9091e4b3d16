-- Deletes a policy. Licenses claimed under it stay with their holders; its
-- waitlist, its index of claimed licenses and its background work go.
-- KEYS[1] policy hash   KEYS[2] policies zset   KEYS[3] app -> policy index hash
-- KEYS[4] policy report hash   KEYS[5] the policy's claims stream   KEYS[6] event stream
-- KEYS[7] audit stream   KEYS[8] the tenant's deleted policies zset
-- KEYS[9] policy waitlist zset   KEYS[10] policy claimed-licenses index zset
-- KEYS[11] the tenant's work zset   KEYS[12] the policy's approved waiters hash
-- ARGV[1] policy number  ARGV[2] event window (ms)  ARGV[3] audit entry (see audit_arg)
-- ARGV[4] audit retention (ms)  ARGV[5] the tenant's id (to name products in the entry)
-- ARGV[6] report window (ms)
-- Reply: the policy's app id, or an error "AC:NO_POLICY".
--@include lib/audit.lua
--@include lib/report.lua
local policy_key, policies_key, app_policies_key, report_key, claims_key, events_key, audit_key, deleted_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local waitlist_key, held_key, work_key = KEYS[9], KEYS[10], KEYS[11]
local policy, window = ARGV[1], ARGV[2]
local entry, retention, tenant, report_window = audit_arg(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])

local app = redis.call('HGET', policy_key, 'app')
if not app or redis.call('HEXISTS', policy_key, 'deleted') == 1 then
  return redis.error_reply('AC:NO_POLICY')
end
if redis.call('HGET', app_policies_key, app) == policy then
  redis.call('HDEL', app_policies_key, app)
end
local was = redis.call('HMGET', policy_key, 'name', 'enabled', 'products')
local product_ids = {}
for i, p in ipairs(products_decode(was[3]) or {}) do
  product_ids[i] = tenant .. ':product:' .. p.product
end
audit_change(entry, 'name', was[1], nil)
audit_change(entry, 'app', app, nil)
audit_change(entry, 'enabled', bool_text(was[2]), nil)
audit_change(entry, 'products', list_encode(product_ids), nil)
local waiting = redis.call('ZCARD', waitlist_key)
if waiting > 0 then
  audit_change(entry, 'waitlistedUsers', string.format('%d', waiting), nil)
end
redis.call('ZREM', policies_key, policy)
-- The policy's record, report and claims stay, under its last name, while
-- its claims are in the report window; its waitlist, index and work go.
local now = now_ms()
redis.call('HSET', policy_key, 'deleted', string.format('%d', now))
redis.call('ZADD', deleted_key, now, policy)
redis.call('ZREMRANGEBYSCORE', deleted_key, '-inf', '(' .. string.format('%d', now - report_window))
for _, key in ipairs({policy_key, report_key, claims_key}) do
  redis.call('PEXPIRE', key, report_window + DAY_MS)
end
redis.call('DEL', waitlist_key, held_key, KEYS[12])
redis.call('ZREM', work_key, work_encode('f', policy), work_encode('s', policy), work_encode('w', policy),
  work_encode('a', policy))
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'POLICY_DELETED', policy = policy}, entry))
return app
