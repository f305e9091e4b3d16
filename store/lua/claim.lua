-- Decides one claim, all or nothing: the org setting, the app's policy and its
-- status, the user's licenses, then the policy's products in order. Records
-- the license, bumps the report counters and the claimed-users index, and
-- appends the decision to the tenant's event stream. Remembers the answer
-- under the idempotency key.
-- KEYS[1] tenant hash   KEYS[2] app -> policy hash   KEYS[3] policy hash (any key when none)
-- KEYS[4] the user's profile bucket hash   KEYS[5] upn index hash
-- KEYS[6] the user's license bucket hash
-- KEYS[7] today's idempotency bucket hash   KEYS[8] yesterday's (both any key when no key)
-- KEYS[9] event stream  KEYS[10] policy report hash  KEYS[11] policy claimed-users zset
-- KEYS[12..] product hashes, in the policy's order as the caller read it
-- ARGV[1] user id  ARGV[2] app id  ARGV[3] trigger  ARGV[4] policy number the caller read (0 = none)
-- ARGV[5] policy version the caller read  ARGV[6] idempotency key ('' = none)
-- ARGV[7] request fingerprint  ARGV[8] upn  ARGV[9] upn, lower case  ARGV[10] display name
-- ARGV[11] SKUs covering the app and trigger with the plan the app needs, as ",SKU:plan,SKU:plan,"
-- ARGV[12] idempotency bucket TTL (ms)  ARGV[13] report window (ms)
-- ARGV[14..] product numbers matching KEYS[12..]
-- Reply: {'STALE'} when the policy changed since the caller read it; else
-- {kind ('OK' or 'REPLAY'), outcome, reason, policy number, product number,
--  product total, product assigned, available after, event id, time (ms), license record}
-- (a replay leaves product total and assigned empty); or an error
-- "AC:NO_TENANT" or "AC:IDEM_MISMATCH".
local user, app, trigger, pn = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local covering, window = ARGV[11], tonumber(ARGV[13])

-- held(entries, n) returns the record of product n among a user's licenses "n=rec;n=rec".
local function held(entries, n)
  if not entries then
    return nil
  end
  return string.match(';' .. entries .. ';', ';' .. n .. '=([^;]*);')
end

if ARGV[6] ~= '' then
  local saved = redis.call('HGET', KEYS[7], ARGV[6]) or redis.call('HGET', KEYS[8], ARGV[6])
  if saved then
    local fp, outcome, reason, spn, product, available, event, at = string.match(saved,
      '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
    if fp ~= ARGV[7] then
      return redis.error_reply('AC:IDEM_MISMATCH')
    end
    local record = ''
    if product ~= '0' then
      record = held(redis.call('HGET', KEYS[6], user), product) or ''
    end
    return {'REPLAY', outcome, reason, spn, product, '', '', available, event, at, record}
  end
end

if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('AC:NO_TENANT')
end
local current = redis.call('HGET', KEYS[2], app)
if pn == '0' then
  if current then
    return {'STALE'}
  end
elseif current ~= pn or redis.call('HGET', KEYS[3], 'version') ~= ARGV[5] then
  return {'STALE'}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowstr = string.format('%d', now)

if redis.call('HEXISTS', KEYS[4], user) == 0 then
  local upn = ARGV[8]
  if upn ~= '' and redis.call('HSETNX', KEYS[5], ARGV[9], user) == 0 then
    upn = '' -- another user has it; the directory keeps the first
  end
  redis.call('HSET', KEYS[4], user, upn .. '\31' .. ARGV[10] .. '\31' .. nowstr)
  redis.call('HINCRBY', KEYS[1], 'users', 1)
end

-- covers(sku) says whether a product of that SKU covers the app and trigger.
local function covers(sku)
  return sku ~= nil and string.find(covering, ',' .. sku .. ':', 1, true) ~= nil
end

-- licensed(record) says whether a held license covers them: its SKU does and
-- the plan the app needs is not among the plans the license leaves off.
local function licensed(record)
  local plans, sku = string.match(record, '^[^|]*|[^|]*|[^|]*|([^|]*)|([^|]*)$')
  if not covers(sku) then
    return false
  end
  local needed = string.match(covering, ',' .. sku .. ':([^,]*),')
  return string.find(',' .. plans .. ',', ',' .. needed .. ',', 1, true) == nil
end

local licenses = redis.call('HGET', KEYS[6], user)
local outcome, reason, product, total, assigned, record = '', '', '0', '', '', ''
if redis.call('HGET', KEYS[1], 'enabled') ~= '1' then
  outcome, reason = 'DENIED', 'AUTO_CLAIM_DISABLED'
elseif pn == '0' then
  outcome, reason = 'DENIED', 'NO_POLICY'
elseif redis.call('HGET', KEYS[3], 'enabled') ~= '1' then
  outcome, reason = 'DENIED', 'POLICY_DISABLED'
else
  if licenses then
    for entry in string.gmatch(licenses, '[^;]+') do
      local n, rec = string.match(entry, '^(%d+)=(.*)$')
      if licensed(rec) then
        outcome, product, record = 'ALREADY_LICENSED', n, rec
        break
      end
    end
  end
  if outcome == '' then
    local eligible = false
    for i = 12, #KEYS do
      local p = redis.call('HMGET', KEYS[i], 'sku', 'total', 'assigned')
      -- A product the user holds already (without the app's plan) can't be claimed twice.
      if covers(p[1]) and not held(licenses, ARGV[i + 2]) then
        eligible = true
        if tonumber(p[3]) < tonumber(p[2]) then
          product, total = ARGV[i + 2], p[2]
          assigned = tostring(redis.call('HINCRBY', KEYS[i], 'assigned', 1))
          local products = ';' .. redis.call('HGET', KEYS[3], 'products') .. ';'
          local plans = string.match(products, ';' .. product .. '=([^;]*);') or ''
          record = 'A|' .. pn .. '|' .. nowstr .. '|' .. plans .. '|' .. p[1]
          local entry = product .. '=' .. record
          redis.call('HSET', KEYS[6], user, licenses and (licenses .. ';' .. entry) or entry)
          redis.call('HINCRBY', KEYS[3], 'claimed', 1)

          local today = math.floor(now / 86400000)
          local trimmed = tonumber(redis.call('HGET', KEYS[10], 'trimmed') or '0')
          if trimmed < today then
            for _, f in ipairs(redis.call('HKEYS', KEYS[10])) do
              local day = string.match(f, '^(%d+)') -- nil for 'trimmed'
              if day and tonumber(day) <= today - window / 86400000 then
                redis.call('HDEL', KEYS[10], f)
              end
            end
            redis.call('HSET', KEYS[10], 'trimmed', string.format('%d', today))
          end
          redis.call('HINCRBY', KEYS[10], string.format('%d', today), 1)
          redis.call('HINCRBY', KEYS[10], string.format('%d', today) .. ':' .. product, 1)
          redis.call('PEXPIRE', KEYS[10], window + 86400000)
          redis.call('ZADD', KEYS[11], now, user)
          redis.call('ZREMRANGEBYSCORE', KEYS[11], '-inf', '(' .. string.format('%d', now - window))
          redis.call('PEXPIRE', KEYS[11], window + 86400000)
          outcome = 'CLAIMED'
          break
        end
      end
    end
    if outcome == '' then
      outcome = 'DENIED'
      reason = eligible and 'NO_LICENSES_AVAILABLE' or 'TRIGGER_NOT_ELIGIBLE'
    end
  end
end

local available = 0
for i = 12, #KEYS do
  local p = redis.call('HMGET', KEYS[i], 'total', 'assigned')
  if p[1] then
    available = available + math.max(0, tonumber(p[1]) - tonumber(p[2]))
  end
end

local event = redis.call('XADD', KEYS[9], 'MINID', '~', string.format('%d', now - window), '*',
  'kind', 'claim', 'policy', pn, 'user', user, 'app', app, 'product', product, 'trigger', trigger,
  'outcome', outcome, 'reason', reason, 'available', available)

if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[7], ARGV[6], table.concat({ARGV[7], outcome, reason, pn, product, available, event, nowstr}, '|'))
  redis.call('PEXPIRE', KEYS[7], tonumber(ARGV[12]))
end
return {'OK', outcome, reason, pn, product, total, assigned, tostring(available), event, nowstr, record}
