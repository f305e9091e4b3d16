-- Keeping a policy's report (its counters and its claimed users), for the
-- scripts that count claims, denials, waitlist fills and reclaims.
--@include lib/codec.lua

-- DAY_MS is the milliseconds of a day.
local DAY_MS = 86400000

-- report_trim(report_key, claimed_key, now, window) drops the counters and
-- the claimed users older than window (ms) before now (ms), once a UTC day
-- per report, and keeps the report while it is in use.
local function report_trim(report_key, claimed_key, now, window)
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
  redis.call('ZREMRANGEBYSCORE', claimed_key, '-inf', '(' .. string.format('%d', now - window))
  redis.call('PEXPIRE', claimed_key, window + 2 * DAY_MS)
end

-- report_count(report_key, claimed_key, now, window, field) adds one to a
-- counter of the report (see report_field_decode).
local function report_count(report_key, claimed_key, now, window, field)
  report_trim(report_key, claimed_key, now, window)
  redis.call('HINCRBY', report_key, field, 1)
end

-- report_claim(report_key, claimed_key, now, window, product, user) counts
-- a license claimed now from a product (by number) and lists its user
-- among the policy's claimed users.
local function report_claim(report_key, claimed_key, now, window, product, user)
  report_trim(report_key, claimed_key, now, window)
  local day = string.format('%d', math.floor(now / DAY_MS))
  redis.call('HINCRBY', report_key, report_field_encode(day), 1)
  redis.call('HINCRBY', report_key, report_field_encode(day, product), 1)
  redis.call('ZADD', claimed_key, now, user)
end
