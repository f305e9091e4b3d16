-- Keeping a policy's report (its counters and its claims log), for the
-- scripts that count claims, denials, waitlist fills and reclaims.
--@include lib/codec.lua
--@include lib/events.lua

-- DAY_MS is the milliseconds of a day.
local DAY_MS = 86400000

-- report_trim(report_key, claims_key, now, window) drops the counters older
-- than window (ms) before now (ms), once a UTC day per report, and keeps
-- the report and the claims log while they are in use (the log trims its
-- own old rows as it grows).
local function report_trim(report_key, claims_key, now, window)
  local today = math.floor(now / DAY_MS)
  local trimmed = tonumber(redis.call('HGET', report_key, 'trimmed') or '0')
  if trimmed >= today then
    return
  end
  for _, field in ipairs(redis.call('HKEYS', report_key)) do
    local d = report_field_decode(field)
    if d and tonumber(d) <= today - window / DAY_MS then
      redis.call('HDEL', report_key, field)
    end
  end
  redis.call('HSET', report_key, 'trimmed', string.format('%d', today))
  redis.call('PEXPIRE', report_key, window + 2 * DAY_MS)
  redis.call('PEXPIRE', claims_key, window + 2 * DAY_MS)
end

-- report_count(report_key, claims_key, now, window, field) adds one to a
-- counter of the report (see report_field_decode).
local function report_count(report_key, claims_key, now, window, field)
  report_trim(report_key, claims_key, now, window)
  redis.call('HINCRBY', report_key, field, 1)
end

-- report_claim(report_key, claims_key, now, window, product, user, trigger)
-- counts a license claimed now from a product (by number) and logs the
-- claim: its user, product and trigger.
local function report_claim(report_key, claims_key, now, window, product, user, trigger)
  report_trim(report_key, claims_key, now, window)
  local day = string.format('%d', math.floor(now / DAY_MS))
  redis.call('HINCRBY', report_key, report_field_encode(day), 1)
  redis.call('HINCRBY', report_key, report_field_encode(day, product), 1)
  log_claim(claims_key, window, {user = user, product = product, trigger = trigger}, now)
end
