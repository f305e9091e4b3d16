-- Sweeps a tenant's license requests that are due (the candidates the
-- caller read; one that is not due now, or no longer there, is left): a
-- pending one past its expiry records EXPIRED, decided at its expiry, with
-- a LICENSE_REQUEST_EXPIRED event (no actor), and is due to be dropped a
-- retention later; a decided or expired one that is due is dropped: its
-- record, its indexes and its place in its user's list. Then the tenant's
-- work has this sweep due when the next request is, or none when no
-- request is left.
-- KEYS[1] license requests hash   KEYS[2] index of all requests   KEYS[3] pending requests index
-- KEYS[4] approved requests index   KEYS[5] denied requests index   KEYS[6] expired requests index
-- KEYS[7] requests due zset   KEYS[8] event stream   KEYS[9] the tenant's work zset
-- KEYS[10..] the request buckets of the candidates' users
-- ARGV[1] the store's clock (ms)
-- ARGV[2] the candidates, JSON: [[request number, index in KEYS of its user's bucket (0: unknown)], …]
-- ARGV[3] how long a request waits for a decision (ms)   ARGV[4] how long a decided request is kept (ms)
-- ARGV[5] event window (ms)
-- Reply: a JSON object of strings: expired, dropped (how many of each).
--@include lib/events.lua
--@include lib/request.lua
local request_keys = {requests = KEYS[1], pending = KEYS[3], due = KEYS[7]}
local all_key, events_key, work_key = KEYS[2], KEYS[8], KEYS[9]
local status_keys = {P = KEYS[3], A = KEYS[4], D = KEYS[5], E = KEYS[6]}
local clock, candidates = tonumber(ARGV[1]), cjson.decode(ARGV[2])
local expiry, keep, window = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]

local expired, dropped = 0, 0
for _, c in ipairs(candidates) do
  local n, bucket = c[1], KEYS[c[2]]
  local due = redis.call('ZSCORE', request_keys.due, n)
  if due and tonumber(due) <= clock then
    local r = request_decode(redis.call('HGET', request_keys.requests, n) or '')
    if r and r.status == 'P' then
      r.status, r.decided = 'E', string.format('%d', tonumber(r.requested) + expiry)
      request_decide(request_keys, n, r, status_keys.E, string.format('%d', tonumber(r.decided) + keep))
      emit(events_key, window, {kind = 'LICENSE_REQUEST_EXPIRED', policy = r.policy, user = r.user, request = n})
      expired = expired + 1
    else
      redis.call('HDEL', request_keys.requests, n)
      redis.call('ZREM', request_keys.due, n)
      redis.call('ZREM', all_key, n)
      for _, key in pairs(status_keys) do
        redis.call('ZREM', key, n)
      end
      if r and bucket then
        local mine = list_decode(redis.call('HGET', bucket, r.user) or '')
        for i = #mine, 1, -1 do
          if mine[i] == n then
            table.remove(mine, i)
          end
        end
        if #mine == 0 then
          redis.call('HDEL', bucket, r.user)
        else
          redis.call('HSET', bucket, r.user, list_encode(mine))
        end
      end
      dropped = dropped + 1
    end
  end
end
local first = redis.call('ZRANGE', request_keys.due, 0, 0, 'WITHSCORES')
if first[2] then
  redis.call('ZADD', work_key, first[2], work_encode('r', '0'))
else
  redis.call('ZREM', work_key, work_encode('r', '0'))
end
return cjson.encode({expired = string.format('%d', expired), dropped = string.format('%d', dropped)})
