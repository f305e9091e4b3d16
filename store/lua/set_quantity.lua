-- Sets the total number of licenses of a product; never below what is
-- assigned. Licenses it makes available go to the waitlists they feed.
-- KEYS[1] product hash   KEYS[2] event stream   KEYS[3] audit stream
-- KEYS[4..] those the fill plan names
-- ARGV[1] quantity  ARGV[2] product number  ARGV[3] event window (ms)
-- ARGV[4] audit entry (see audit_arg)  ARGV[5] audit retention (ms)
-- ARGV[6] the fill plan (JSON, see fill_waitlists)
-- Reply: a JSON object of strings: filled, next (see fill_waitlists); or an
-- error "AC:NO_PRODUCT" or "AC:BELOW_ASSIGNED:<assigned>".
--@include lib/audit.lua
--@include lib/fill.lua
local product_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3]
local quantity, product, window = ARGV[1], ARGV[2], ARGV[3]
local entry, retention, plan = audit_arg(ARGV[4]), ARGV[5], cjson.decode(ARGV[6])

if redis.call('EXISTS', product_key) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
local was = redis.call('HMGET', product_key, 'total', 'assigned')
local total, assigned = tonumber(was[1]), tonumber(was[2])
if assigned > tonumber(quantity) then
  return redis.error_reply('AC:BELOW_ASSIGNED:' .. assigned)
end
if total == tonumber(quantity) then
  return cjson.encode({filled = '0', next = ''}) -- nothing changes: no event, no audit entry
end
audit_change(entry, 'totalLicenses', was[1], quantity)
redis.call('HSET', product_key, 'total', quantity)
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'LICENSE_QUANTITY_CHANGED', product = product, total = quantity, assigned = assigned}, entry))
local filled, next = fill_waitlists(plan, {{product = product, key = product_key, before = total - assigned}})
return cjson.encode({filled = string.format('%d', filled), next = next})
