-- Sets the org-wide auto-claim setting of a tenant. Turned on, the
-- licenses available to the waitlists go to them.
-- KEYS[1] tenant hash   KEYS[2] event stream   KEYS[3] audit stream
-- KEYS[4..] those the fill plan names
-- ARGV[1] enabled (0/1)  ARGV[2] event window (ms)  ARGV[3] audit entry (see audit_arg)
-- ARGV[4] audit retention (ms)  ARGV[5] the fill plan (JSON, see fill_waitlists)
-- Reply: a JSON object of strings: filled, next (see fill_waitlists); or an
-- error "AC:NO_TENANT".
--@include lib/audit.lua
--@include lib/fill.lua
local tenant_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3]
local enabled, window, entry, retention = ARGV[1], ARGV[2], audit_arg(ARGV[3]), ARGV[4]
local plan = cjson.decode(ARGV[5])

if redis.call('EXISTS', tenant_key) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local was = redis.call('HGET', tenant_key, 'enabled')
if bool_text(was) == bool_text(enabled) then
  return cjson.encode({filled = '0', next = ''}) -- nothing changes: no event, no audit entry
end
audit_change(entry, 'autoClaimEnabled', bool_text(was), bool_text(enabled))
redis.call('HSET', tenant_key, 'enabled', enabled)
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'AUTO_CLAIM_SETTING_CHANGED', enabled = enabled}, entry))
local filled, next = fill_waitlists(plan, {})
return cjson.encode({filled = string.format('%d', filled), next = next})
