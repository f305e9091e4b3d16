-- Sets a product's low-license threshold (0: off). Setting it sends no
-- alert: the next change that takes the available count from above it to
-- at or below it does (lib/low.lua).
-- KEYS[1] product hash   KEYS[2] event stream   KEYS[3] audit stream
-- ARGV[1] threshold  ARGV[2] product number  ARGV[3] event window (ms)
-- ARGV[4] audit entry (see audit_arg)  ARGV[5] audit retention (ms)
-- Reply: 1, or an error "AC:NO_PRODUCT".
--@include lib/audit.lua
local product_key, events_key, audit_key = KEYS[1], KEYS[2], KEYS[3]
local threshold, product, window = ARGV[1], ARGV[2], ARGV[3]
local entry, retention = audit_arg(ARGV[4]), ARGV[5]

if redis.call('EXISTS', product_key) == 0 then
  return redis.error_reply('AC:NO_PRODUCT')
end
local was = redis.call('HMGET', product_key, 'low', 'total', 'assigned')
if tonumber(was[1] or '0') == tonumber(threshold) then
  return 1 -- nothing changes: no event, no audit entry
end
audit_change(entry, 'lowLicenseThreshold', was[1] or '0', threshold)
if threshold == '0' then
  redis.call('HDEL', product_key, 'low')
else
  redis.call('HSET', product_key, 'low', threshold)
end
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'LOW_LICENSE_THRESHOLD_CHANGED', product = product, total = was[2], assigned = was[3],
  threshold = threshold}, entry))
return 1
