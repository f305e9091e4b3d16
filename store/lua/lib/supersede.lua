-- Releasing superseded licenses, for the scripts that assign a license
-- under a policy (claim.lua, and the fills of lib/fill.lua): with the
-- policy's setting on, the licenses the user holds through the policy of
-- products the one assigned supersedes go back to their pools.
--@include lib/codec.lua
--@include lib/events.lua

-- release_superseded(s) releases, from s.held (the user's licenses as
-- decoded, the one just assigned among them), the AUTO_CLAIM licenses
-- claimed under the policy s.policy whose SKU s.sku supersedes (s.list, a
-- supersedes list, see supersedes_encode), when s.on ('1': the policy's setting). Each
-- goes back to its product (s.key(product number) returns the product's
-- key, or nil when the caller has none: that license stays), leaves the
-- policy's count (s.policy_key) and index (s.held_key) of claimed licenses.
-- The caller writes s.held back, and emits the events with
-- emit_released once it has emitted the claim's. Returns the licenses
-- released, {product, record, key, total, assigned} each, assigned the
-- product's count after.
local function release_superseded(s)
  local released = {}
  if s.on ~= '1' then
    return released
  end
  local lesser = {}
  for _, p in ipairs(supersedes_decode(s.list)) do
    if p.sku == s.sku then
      lesser[p.lesser] = true
    end
  end
  if next(lesser) == nil then
    return released
  end
  for i = #s.held, 1, -1 do
    local h = s.held[i]
    local l = license_decode(h.record)
    local key = l and l.source == 'A' and l.policy == s.policy and lesser[l.sku] and s.key(h.product)
    if key then
      table.remove(s.held, i)
      local assigned = redis.call('HINCRBY', key, 'assigned', -1)
      local total = redis.call('HGET', key, 'total')
      redis.call('HINCRBY', s.policy_key, 'claimed', -1)
      redis.call('ZREM', s.held_key, held_encode(h.product, s.user))
      released[#released + 1] = {product = h.product, record = h.record, key = key, total = tonumber(total), assigned = assigned}
    end
  end
  return released
end

-- mark_released(m, released) marks in the tenant's work (m.work_key) the
-- products of the licenses released, due at m.due (ms, a string): the
-- caller feeds the waitlists they feed, or a worker does then; and, for a
-- product of the policy m.policy (its products m.products) whose waitlist is
-- on (m.waitlist_on) and not empty (m.waitlist_key), the policy's fill, so
-- that claims meanwhile wait their turn.
local function mark_released(m, released)
  for _, r in ipairs(released) do
    redis.call('ZADD', m.work_key, m.due, work_encode('p', r.product))
    local own = false
    for _, q in ipairs(m.products) do
      own = own or q.product == r.product
    end
    if own and m.waitlist_on and redis.call('EXISTS', m.waitlist_key) == 1 then
      redis.call('ZADD', m.work_key, m.due, work_encode('f', m.policy))
    end
  end
end

-- emit_released(s, released) emits a LICENSE_SUPERSEDED policy event for
-- each license release_superseded(s) released, to s.events (kept s.window
-- ms) at s.now: after the claim event of the license that superseded them.
local function emit_released(s, released)
  for _, r in ipairs(released) do
    emit(s.events, s.window, {kind = 'LICENSE_SUPERSEDED', policy = s.policy, product = r.product, user = s.user,
      total = string.format('%d', r.total), assigned = string.format('%d', r.assigned)}, s.now)
  end
end
