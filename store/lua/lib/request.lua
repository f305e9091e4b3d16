-- License requests, for the scripts that make them (claim.lua), decide
-- them (approve_request.lua, deny_request.lua) and expire and drop them
-- (sweep_requests.lua). A tenant's requests are a hash of records by
-- number (see request_encode), indexed by zsets of numbers: all of them,
-- those of each status, and when each is next due for the sweep (a
-- pending one at its expiry, a decided one when it is to be dropped); each
-- user's are listed in a bucket hash. The tenant's work has the sweep
-- ('r:0') due when the first of them is.
--@include lib/codec.lua

-- request_pending(requests_key, mine_key, user, policy, expired) returns
-- the number and the record of the user's request pending under the policy
-- (by number) and made after expired (ms: one made then expires now), or
-- nil.
local function request_pending(requests_key, mine_key, user, policy, expired)
  local numbers = list_decode(redis.call('HGET', mine_key, user) or '')
  if #numbers == 0 then
    return nil
  end
  local records = redis.call('HMGET', requests_key, unpack(numbers))
  for i, rec in ipairs(records) do
    local r = rec and request_decode(rec)
    if r and r.status == 'P' and r.policy == policy and tonumber(r.requested) > expired then
      return numbers[i], rec
    end
  end
  return nil
end

-- request_open(requests_key, n, now, expiry) returns the decoded record of
-- request n when it is pending and not expired at now (ms, the store's
-- clock; a request expires expiry ms after it was made); else nil and the
-- error reply: "AC:NO_REQUEST", "AC:BAD_RECORD:request", or
-- "AC:NOT_PENDING:<status>" (E for one past its expiry not yet swept).
local function request_open(requests_key, n, now, expiry)
  local rec = redis.call('HGET', requests_key, n)
  if not rec then
    return nil, redis.error_reply('AC:NO_REQUEST')
  end
  local r = request_decode(rec)
  if not r then
    return nil, redis.error_reply('AC:BAD_RECORD:request')
  end
  if r.status ~= 'P' then
    return nil, redis.error_reply('AC:NOT_PENDING:' .. r.status)
  end
  if tonumber(r.requested) + expiry <= now then
    return nil, redis.error_reply('AC:NOT_PENDING:E')
  end
  return r
end

-- request_schedule(work_key, due) has the tenant's request sweep due at due
-- (ms) at the latest.
local function request_schedule(work_key, due)
  local member = work_encode('r', '0')
  local at = redis.call('ZSCORE', work_key, member)
  if not at or tonumber(at) > tonumber(due) then
    redis.call('ZADD', work_key, due, member)
  end
end

-- request_make(k, r, due) records a new pending request r (see
-- request_encode) under the tenant's next number, indexed, listed among
-- the user's, due for the sweep at due (ms, its expiry). k = {tenant,
-- requests, all, pending, due, mine, work}: the keys. Returns its number
-- and its record.
local function request_make(k, r, due)
  local n = string.format('%d', redis.call('HINCRBY', k.tenant, 'seq_request', 1))
  local rec = request_encode(r)
  redis.call('HSET', k.requests, n, rec)
  redis.call('ZADD', k.all, n, n)
  redis.call('ZADD', k.pending, n, n)
  redis.call('ZADD', k.due, due, n)
  local mine = list_decode(redis.call('HGET', k.mine, r.user) or '')
  mine[#mine + 1] = n
  redis.call('HSET', k.mine, r.user, list_encode(mine))
  request_schedule(k.work, due)
  return n, rec
end

-- request_decide(k, n, r, status_key, due) writes the record r of request
-- n, decided (or expired) now, and moves it from the pending requests to
-- those of its status (status_key), due to be dropped at due (ms). k =
-- {requests, pending, due}: the keys.
local function request_decide(k, n, r, status_key, due)
  redis.call('HSET', k.requests, n, request_encode(r))
  redis.call('ZREM', k.pending, n)
  redis.call('ZADD', status_key, n, n)
  redis.call('ZADD', k.due, due, n)
end
