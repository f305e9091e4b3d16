-- Filling policies' waitlists with the licenses available to them, for every
-- script that makes licenses available (and fill.lua, which goes on where
-- one stopped): waiting users get licenses in queue order, each from the
-- first of the policy's products, in order, that covers the trigger it was
-- queued with and has one.
--@include lib/codec.lua
--@include lib/events.lua
--@include lib/report.lua
--@include lib/low.lua
--@include lib/supersede.lua

-- fill_waitlists(plan, changed) fills the waitlists plan names (a table
-- decoded from the caller's JSON, see store/fill.go's fillPlan: which of
-- KEYS are whose by index, the users whose license buckets the caller
-- passed, where each waitlist's walk starts). A walk takes waiting users
-- in order and stops at the first the caller did not pass: it skips those
-- whose trigger no product with a license covers (they keep their place),
-- drops those who waited longer than the waitlist keeps them and those
-- who hold a covering license by now, and gives the rest a license each
-- while any is left. A waitlist whose walk is over (no license left, the
-- queue's end, the policy, its waitlist or the org setting off) loses its
-- unfinished-fill mark on the tenant's work; one that goes on keeps it,
-- due after plan.grace, for a worker to finish if the caller does not.
-- changed lists the products the calling script changed, each {product
-- (number), key, before (its available count before the change)}: the
-- low-license alerts of every product whose count the script changed, its
-- own and those fills took from, are given at the end, each against its
-- count before the script (see lib/low.lua). Returns how many licenses it
-- gave; the waitlists whose walk goes on, "<policy number>=<the score it
-- goes on after>,…" ('' when all are over; a score 0 starts again at the
-- head, after the policy's products changed); and the licenses it gave,
-- as members of their policies' indexes of claimed licenses, "<product
-- number>:<user id>,…".
local function fill_waitlists(plan, changed)
  local setting = redis.call('HGET', KEYS[plan.tenant], 'enabled')
  local events_key, work_key = KEYS[plan.events], KEYS[plan.work]
  local window = tonumber(plan.window)
  local cutoff = waiter_seq(tonumber(plan.expired))
  local mark_due = string.format('%d', tonumber(plan.now) + tonumber(plan.grace))
  local now = now_ms()
  local nowstr = string.format('%d', now)
  local day = string.format('%d', math.floor(now / DAY_MS))
  local filled, unfinished, given = 0, {}, {}
  -- pools[number] is a product's counts, read once; touched lists them in
  -- the order they were read.
  local pools, touched = {}, {}
  local function pool(product, key)
    if not pools[product] then
      local v = redis.call('HMGET', key, 'sku', 'total', 'assigned', 'low')
      local p = {product = product, key = key, sku = v[1], total = tonumber(v[2]) or 0, assigned = tonumber(v[3]) or 0, low = v[4]}
      p.before = p.total - p.assigned
      pools[product] = p
      touched[#touched + 1] = p
    end
    return pools[product]
  end
  for _, c in ipairs(changed) do
    pool(c.product, c.key).before = c.before
  end

  for _, pl in ipairs(plan.policies or {}) do
    local mark = work_encode('f', pl.n)
    local policy_key, queue = KEYS[pl.policy], KEYS[pl.waitlist]
    local state = redis.call('HMGET', policy_key, 'enabled', 'products', 'waitlist', 'supersede')
    local products = products_decode(state[2] or '') or {}
    local over, after = true, pl.after
    local free = 0
    if setting == '1' and state[1] == '1' and state[3] == '1' then
      for _, p in ipairs(products) do
        local index = pl.products[p.product]
        if not index then
          free, over, after = 0, false, '0' -- a product the caller did not read: read the policy again
          break
        end
        p.pool = pool(p.product, KEYS[index])
        if p.pool.sku then
          free = free + math.max(0, p.pool.total - p.pool.assigned)
        end
      end
    end
    if free > 0 then
      local entries = redis.call('ZRANGEBYSCORE', queue, '(' .. after, '+inf', 'WITHSCORES', 'LIMIT', 0, plan.scan)
      over = #entries < 2 * plan.scan -- the queue ends within what was read
      for i = 1, #entries, 2 do
        local user, score = entries[i], entries[i + 1]
        local bucket = plan.users[user]
        if not bucket then
          over = false
          break
        end
        after = score
        local w = waiter_score_decode(score)
        local held = licenses_decode(redis.call('HGET', KEYS[bucket], user))
        local needs = {}
        for _, c in ipairs(covering_decode((w and pl.covering[w.trigger + 1]) or '')) do
          needs[c.sku] = c.plan
        end
        local covered = false
        for _, h in ipairs(held or {}) do
          local l = license_decode(h.record)
          if l and needs[l.sku] and not list_has(l.plans, needs[l.sku]) then
            covered = true
          end
        end
        if not w or w.seq < cutoff or covered then
          redis.call('ZREM', queue, user) -- waited too long, or holds a covering license by now
        elseif held then
          for _, p in ipairs(products) do
            local c = p.pool
            if c.sku and needs[c.sku] and c.assigned < c.total and not find_product(held, p.product) then
              c.assigned = redis.call('HINCRBY', c.key, 'assigned', 1)
              local record = license_encode({source = 'A', policy = pl.n, assigned = nowstr, plans = p.plans, sku = c.sku})
              held[#held + 1] = {product = p.product, record = record}
              -- A license it supersedes goes back, to the users after this one.
              -- (and to the other waitlists it feeds, by a mark in the work).
              local sup = {on = state[4], list = pl.supersedes or '', sku = c.sku, held = held, policy = pl.n, user = user,
                key = function(n)
                  local i = pl.products[n] or (pl.lesser or {})[n]
                  return i and KEYS[i]
                end,
                policy_key = policy_key, held_key = KEYS[pl.held], events = events_key, window = window, now = now}
              local released = release_superseded(sup)
              for _, r in ipairs(released) do
                pool(r.product, r.key).assigned = r.assigned
                if pl.products[r.product] then
                  free = free + 1
                end
                redis.call('ZADD', work_key, mark_due, work_encode('p', r.product))
              end
              redis.call('HSET', KEYS[bucket], user, licenses_encode(held))
              redis.call('HINCRBY', policy_key, 'claimed', 1)
              report_claim(KEYS[pl.report], KEYS[pl.claims], now, window, p.product, user, 'WAITLIST')
              report_count(KEYS[pl.report], KEYS[pl.claims], now, window, flow_count_field_encode(day, 'fills'))
              given[#given + 1] = held_encode(p.product, user)
              redis.call('ZADD', KEYS[pl.held], now, given[#given])
              redis.call('ZREM', queue, user)
              free, filled = free - 1, filled + 1
              emit(events_key, window, {kind = 'claim', policy = pl.n, user = user, app = pl.app, product = p.product,
                trigger = 'WAITLIST', outcome = 'CLAIMED', reason = '', available = string.format('%d', free)}, now)
              emit_released(sup, released)
              break
            end
          end
        end
        if free == 0 then
          over = true
          break
        end
      end
    end
    if over then
      redis.call('ZREM', work_key, mark)
    else
      redis.call('ZADD', work_key, mark_due, mark)
      unfinished[#unfinished + 1] = pl.n .. '=' .. after
    end
  end
  for _, p in ipairs(touched) do
    low_alert(events_key, window, p)
  end
  return filled, table.concat(unfinished, ','), table.concat(given, ',')
end
