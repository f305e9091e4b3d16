-- Appending to a tenant's event stream, for every script that records a
-- claim decision or an admin change, and to a policy's claims log.
--@include lib/codec.lua

-- now_ms() reads Redis's clock, in milliseconds since the epoch.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- emit(stream, window, event, now) appends an event (see event_encode) to a
-- tenant's stream, trimming entries older than window (ms) before now (Redis's
-- clock when nil); returns the entry's id.
local function emit(stream, window, event, now)
  now = now or now_ms()
  return redis.call('XADD', stream, 'MINID', '~', string.format('%d', now - tonumber(window)), '*',
    unpack(event_encode(event)))
end

-- log_claim(stream, window, row, now) appends a claim row (see
-- claim_row_encode) to a policy's claims log, trimming rows older than
-- window (ms) before now.
local function log_claim(stream, window, row, now)
  return redis.call('XADD', stream, 'MINID', '~', string.format('%d', now - tonumber(window)), '*',
    unpack(claim_row_encode(row)))
end
