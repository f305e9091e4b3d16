-- Shared by the scripts that record an admin change. Prepended to them.
-- emit(stream, window_ms, field, value, ...) appends a change to the tenant's
-- event stream, trimming entries older than the window; returns the entry id.
local function emit(stream, window, ...)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  return redis.call('XADD', stream, 'MINID', '~', string.format('%d', now - tonumber(window)), '*', ...)
end
