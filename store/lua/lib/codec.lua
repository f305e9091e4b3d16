-- The records autoclaim keeps in Redis as delimited strings, each with its
-- encoder and decoder: the one place scripts read and write them. Their Go
-- twins are store/codec_*.go, and the round-trip tests hold both sides to one
-- format on miniredis and on Redis. Every record has both functions here,
-- whether a script uses one or both. Numbers are kept as decimal strings
-- (Lua's tostring would round 64-bit values); decoders return nil for a
-- malformed record.

-- split(s, sep) returns the parts of s between the separator sep (one
-- character), empty ones included; none for ''.
local function split(s, sep)
  local parts = {}
  if s == '' then
    return parts
  end
  local from = 1
  while true do
    local i = string.find(s, sep, from, true)
    if not i then
      parts[#parts + 1] = string.sub(s, from)
      return parts
    end
    parts[#parts + 1] = string.sub(s, from, i - 1)
    from = i + 1
  end
end

-- decimal(s) says whether s is a number as the records keep them: digits,
-- without a sign or leading zeros.
local function decimal(s)
  return s == '0' or string.find(s, '^[1-9]%d*$') ~= nil
end

-- list_encode(items) joins strings with commas; list_decode splits them ('' is none).
local function list_encode(items)
  return table.concat(items, ',')
end

local function list_decode(s)
  return split(s, ',')
end

-- list_has(s, item) says whether a comma-separated list holds item.
local function list_has(s, item)
  return string.find(',' .. s .. ',', ',' .. item .. ',', 1, true) ~= nil
end

-- License record, one license of one user:
-- source ('A' claimed, 'D' assigned directly) | policy number ('0' when direct)
-- | assigned at (ms) | the service plans it leaves off, "id,id" | skuPartNumber
-- [| last used at (ms): the first claim of the last UTC day that found it
-- covering; absent until one did].
local function license_encode(l)
  local rec = l.source .. '|' .. l.policy .. '|' .. l.assigned .. '|' .. l.plans .. '|' .. l.sku
  if l.used then
    rec = rec .. '|' .. l.used
  end
  return rec
end

local function license_decode(rec)
  local source, policy, assigned, plans, sku, used = string.match(rec, '^([AD])|(%d+)|(%d+)|([^|]*)|([^|]+)|(%d+)$')
  if not source then
    source, policy, assigned, plans, sku = string.match(rec, '^([AD])|(%d+)|(%d+)|([^|]*)|([^|]+)$')
  end
  if not source or (source == 'A') ~= (policy ~= '0') or not decimal(policy) or not decimal(assigned)
    or (used and not decimal(used)) then
    return nil
  end
  return {source = source, policy = policy, assigned = assigned, plans = plans, sku = sku, used = used}
end

-- license_last_used(l) is when a decoded license was last found covering
-- (ms): its assignment until a claim did.
local function license_last_used(l)
  return l.used or l.assigned
end

-- A user's licenses, a field of a license bucket hash:
-- "<product number>=<license record>;<product number>=<license record>", in
-- the order they were assigned ('' or none: no licenses). Decoded: a list of
-- {product, record}.
local function licenses_encode(held)
  local entries = {}
  for i, h in ipairs(held) do
    entries[i] = h.product .. '=' .. h.record
  end
  return table.concat(entries, ';')
end

local function licenses_decode(s)
  local held = {}
  for _, entry in ipairs(split(s or '', ';')) do
    local product, record = string.match(entry, '^([1-9]%d*)=(.+)$')
    if not product then
      return nil
    end
    held[#held + 1] = {product = product, record = record}
  end
  return held
end


-- find_product(list, product) returns the index and the entry of a product
-- (by number) in a decoded list of licenses or of a policy's products, or nil.
local function find_product(list, product)
  for i, entry in ipairs(list) do
    if entry.product == product then
      return i, entry
    end
  end
  return nil
end

-- Directory entry of a user, a field of a profile bucket hash:
-- upn \31 display name \31 created (ms). The API refuses control characters
-- in names, so \31 never occurs in them.
local function profile_encode(p)
  return p.upn .. '\31' .. p.name .. '\31' .. p.created
end

local function profile_decode(rec)
  local upn, name, created = string.match(rec, '^([^\31]*)\31([^\31]*)\31(%d+)$')
  if not upn then
    return nil
  end
  return {upn = upn, name = name, created = created}
end

-- A policy's products in claim order, the 'products' field of a policy hash:
-- "<product number>=<plan id>,<plan id>;<product number>=;..." with the
-- service plans a license claimed from each leaves off. Decoded: a list of
-- {product, plans}.
local function products_encode(products)
  local entries = {}
  for i, p in ipairs(products) do
    entries[i] = p.product .. '=' .. p.plans
  end
  return table.concat(entries, ';')
end

local function products_decode(s)
  local products = {}
  for _, entry in ipairs(split(s, ';')) do
    local product, plans = string.match(entry, '^([1-9]%d*)=(.*)$')
    if not product then
      return nil
    end
    products[#products + 1] = {product = product, plans = plans}
  end
  return products
end

-- The SKUs that cover an app's trigger, each with the service plan the app
-- needs (an argument of the claim script, built from the catalog):
-- ",SKU:plan,SKU:plan,". Decoded: a list of {sku, plan}.
local function covering_encode(covering)
  local s = ','
  for _, c in ipairs(covering) do
    s = s .. c.sku .. ':' .. c.plan .. ','
  end
  return s
end

local function covering_decode(s)
  local covering = {}
  for sku, plan in string.gmatch(s, '([^,:]+):([^,:]+)') do
    covering[#covering + 1] = {sku = sku, plan = plan}
  end
  return covering
end

-- The products that serve an app, each with a product it supersedes (an
-- argument of the claim script and the fills, built from the catalog):
-- ",SKU>LESSER,SKU>LESSER,". Decoded: a list of {sku, lesser}.
local function supersedes_encode(list)
  local s = ','
  for _, p in ipairs(list) do
    s = s .. p.sku .. '>' .. p.lesser .. ','
  end
  return s
end

local function supersedes_decode(s)
  local list = {}
  for sku, lesser in string.gmatch(s, '([^,>]+)>([^,>]+)') do
    list[#list + 1] = {sku = sku, lesser = lesser}
  end
  return list
end

-- Idempotency entry, the first answer to a claim under a caller's key, a
-- field of an idempotency bucket hash (the field: a digest of the caller and
-- the key): request digest|outcome|reason|policy number|product number|
-- available after|event id|time (ms)|the product's total|its assigned|when
-- it was added (ms)|license record[;released]. The product's three are ''
-- unless a license was claimed; the license record, last, is '' when none;
-- released, the licenses the claim gave back (see licenses_encode, whose
-- records hold no ;), follows it after a ; when there are any.
local function idem_encode(e)
  local license = e.license or ''
  if e.released then
    license = license .. ';' .. e.released
  end
  return table.concat({e.request, e.outcome, e.reason, e.policy, e.product, e.available, e.event, e.at,
    e.total or '', e.assigned or '', e.created or '', license}, '|')
end

local function idem_decode(s)
  local request, outcome, reason, policy, product, available, event, at, total, assigned, created, license =
    string.match(s, '^([^|]*)|([^|]*)|([^|]*)|(%d+)|(%d+)|(%d+)|([^|]*)|(%d+)|(%d*)|(%d*)|(%d*)|(.*)$')
  if not request or ((total == '') ~= (assigned == '')) or ((total == '') ~= (created == '')) then
    return nil
  end
  local e = {request = request, outcome = outcome, reason = reason, policy = policy, product = product,
    available = available, event = event, at = at}
  if total ~= '' then
    e.total, e.assigned, e.created = total, assigned, created
  end
  local released
  license, released = string.match(license, '^([^;]*);?(.*)$')
  if license ~= '' then
    e.license = license
  end
  if released ~= '' then
    e.released = released
  end
  return e
end

-- Denial log entry, a field of a tenant's denial log of one UTC day (a hash
-- whose values are '1'): reason|policy number, or app id when the app had no
-- policy|user id. A denial whose entry exists already that day adds no event.
local function denial_encode(d)
  return d.reason .. '|' .. d.scope .. '|' .. d.user
end

local function denial_decode(s)
  local reason, scope, user = string.match(s, '^([A-Z_]+)|([^|]+)|([^|]+)$')
  if not reason then
    return nil
  end
  return {reason = reason, scope = scope, user = user}
end

-- Report counters, the fields of a policy's report hash (policy 0's counts
-- the denials of apps that have no policy): "<day>" counts the claims of a
-- UTC day (days since the epoch), "<day>:<product number>" those from one
-- product, "<day>:<REASON>" the claims denied for a reason, "<day>:fills"
-- the claims that gave a waiting user a license (counted in "<day>" too)
-- and "<day>:reclaims" the licenses reclaimed; 'trimmed' is the last day
-- old counters were dropped.
local function report_field_encode(day, product)
  if product then
    return day .. ':' .. product
  end
  return day
end

local function denial_count_field_encode(day, reason)
  return day .. ':' .. reason
end

-- flow_count_field_encode(day, what) names a day's count of waitlist fills
-- (what 'fills') or of licenses reclaimed ('reclaims').
local function flow_count_field_encode(day, what)
  return day .. ':' .. what
end

-- report_field_decode returns the day, the product (nil for a day's total,
-- a denial count or a flow count), the denial reason (nil but for a denial
-- count) and what a flow count counts (nil but for one) of a counter
-- field, or nil for any other field.
local function report_field_decode(field)
  local day, rest = string.match(field, '^(%d+):(.+)$')
  if not day then
    day = string.match(field, '^(%d+)$')
  end
  if not day or not decimal(day) then
    return nil
  end
  if not rest then
    return day
  end
  if string.find(rest, '^[1-9]%d*$') then
    return day, rest
  end
  if string.find(rest, '^[A-Z][A-Z_]*$') then
    return day, nil, rest
  end
  if rest == 'fills' or rest == 'reclaims' then
    return day, nil, nil, rest
  end
  return nil
end

-- A user's place on a policy's waitlist: the score of the user's id in the
-- waitlist's sorted set, seq * 16 + trigger, where seq is the time the user
-- was queued (ms, the store's clock) * 64 plus its order among those queued
-- in the same millisecond (a queue's seq only grows: one queued after a
-- later clock reading, another instance's, takes the seq after it), and
-- trigger the index of the claim's
-- trigger in license.AllTriggers (0 first). Scores stay below 2^53, exact
-- in a double, until the year 2248. Decoded: {seq, trigger, queued (ms)}.
local function waiter_score_encode(w)
  return string.format('%d', w.seq * 16 + w.trigger)
end

local function waiter_score_decode(score)
  local n = tonumber(score)
  if not n or n < 0 or n ~= math.floor(n) then
    return nil
  end
  local trigger = n % 16
  local seq = (n - trigger) / 16
  return {seq = seq, trigger = trigger, queued = math.floor(seq / 64)}
end

-- waiter_seq(ms) is the first seq of a millisecond.
local function waiter_seq(ms)
  return ms * 64
end

-- A license claimed under a policy, a member of the policy's index of the
-- licenses claimed under it (scored by their last use, ms):
-- "<product number>:<user id>". Decoded: product, user (nil when malformed).
local function held_encode(product, user)
  return product .. ':' .. user
end

local function held_decode(m)
  return string.match(m, '^([1-9]%d*):(.+)$')
end

-- A tenant's background work, a member of its work sorted set (scored by
-- when it is due, ms): "f:<policy number>" a waitlist fill that a call
-- left unfinished, "s:<policy number>" the policy's next reclaim sweep,
-- "w:<policy number>" (never due) a waitlist that is on, "a:<policy
-- number>" (never due) a policy that requires approval, "r:0" the sweep
-- of the tenant's license requests (of no one policy), and "p:<product
-- number>" licenses of the product a claim or a fill gave back (superseded),
-- for the waitlists they feed. Decoded: kind, number (nil when malformed).
local function work_encode(kind, policy)
  return kind .. ':' .. policy
end

local function work_decode(m)
  local kind, policy = string.match(m, '^([fswap]):([1-9]%d*)$')
  if kind then
    return kind, policy
  end
  if m == 'r:0' then
    return 'r', '0'
  end
  return nil
end

-- Event stream entry. A claim decision has every field of CLAIM_EVENT_FIELDS
-- ('policy' and 'product' '0' when none, 'reason' '' unless denied) but
-- 'request', the number of the license request it is about, which only such
-- a decision has; an admin change has 'kind' and those of
-- CHANGE_EVENT_FIELDS it sets, 'order' being the policy's product numbers,
-- "n,n", 'threshold' a product's low-license threshold and 'request' a
-- license request's number. Fields keep this order: Redis stores the names
-- of a stream's entries once while they repeat.
local CLAIM_EVENT_FIELDS = {'kind', 'policy', 'user', 'app', 'product', 'trigger', 'outcome', 'reason', 'available', 'request'}
local CHANGE_EVENT_FIELDS = {'kind', 'policy', 'product', 'user', 'enabled', 'order', 'version', 'total', 'assigned', 'actor', 'roles',
  'threshold', 'request'}

-- event_encode(e) returns an event's fields and values, for XADD.
local function event_encode(e)
  local names = CHANGE_EVENT_FIELDS
  if e.kind == 'claim' then
    names = CLAIM_EVENT_FIELDS
  end
  local fields = {}
  for _, name in ipairs(names) do
    local v = e[name]
    if name == 'order' and v then
      v = list_encode(v)
    end
    if v ~= nil then
      fields[#fields + 1] = name
      fields[#fields + 1] = v
    end
  end
  return fields
end

-- event_decode(fields) reads the fields and values of a stream entry.
local function event_decode(fields)
  local e = {}
  for i = 1, #fields, 2 do
    e[fields[i]] = fields[i + 1]
  end
  if e.order then
    e.order = list_decode(e.order)
  end
  return e
end

-- Audit entry, an entry of a tenant's audit stream: 'action', 'actor',
-- 'roles' ("R,R"), 'targets' ("id,id"), then for the i-th change fi, bi
-- (before; absent when none) and ai (after; absent when none). Decoded:
-- {action, actor, roles, targets, changes = {{field, before, after}, ...}}.
local function audit_encode(e)
  local fields = {'action', e.action, 'actor', e.actor, 'roles', e.roles, 'targets', e.targets}
  for i, c in ipairs(e.changes) do
    local n = tostring(i)
    fields[#fields + 1] = 'f' .. n
    fields[#fields + 1] = c.field
    if c.before ~= nil then
      fields[#fields + 1] = 'b' .. n
      fields[#fields + 1] = c.before
    end
    if c.after ~= nil then
      fields[#fields + 1] = 'a' .. n
      fields[#fields + 1] = c.after
    end
  end
  return fields
end

local function audit_decode(fields)
  local values = {}
  for i = 1, #fields, 2 do
    values[fields[i]] = fields[i + 1]
  end
  local e = {action = values.action, actor = values.actor, roles = values.roles, targets = values.targets, changes = {}}
  if not e.action or not e.actor or not e.roles or not e.targets then
    return nil
  end
  local i = 1
  while values['f' .. i] do
    e.changes[i] = {field = values['f' .. i], before = values['b' .. i], after = values['a' .. i]}
    i = i + 1
  end
  return e
end

-- Claim row, an entry of a policy's claims stream: 'user', 'product' (its
-- number), 'trigger', in that order.
local function claim_row_encode(c)
  return {'user', c.user, 'product', c.product, 'trigger', c.trigger}
end

local function claim_row_decode(fields)
  if #fields ~= 6 or fields[1] ~= 'user' or fields[3] ~= 'product' or fields[5] ~= 'trigger' then
    return nil
  end
  return {user = fields[2], product = fields[4], trigger = fields[6]}
end

-- License request, a field of a tenant's requests hash (its number -> the
-- record): status ('P' pending, 'A' approved, 'D' denied, 'E' expired) |
-- policy number | user id | app id | trigger | requested (ms) | decided (ms;
-- '' while pending) | outcome | reason | product number ('0' when none) |
-- the decider's roles "R,R" | l | a | then, with nothing between, the license
-- record an approval gave or found (l bytes), the decider's subject (a
-- bytes) and the denial's message (the rest). Decoded: {status, policy,
-- user, app, trigger, requested, decided, outcome, reason, product, roles,
-- license, actor, message}, each a string.
local function request_encode(r)
  return table.concat({r.status, r.policy, r.user, r.app, r.trigger, r.requested, r.decided, r.outcome, r.reason,
    r.product, r.roles, string.format('%d', #r.license), string.format('%d', #r.actor),
    r.license .. r.actor .. r.message}, '|')
end

local function request_decode(rec)
  local status, policy, user, app, trigger, requested, decided, outcome, reason, product, roles, l, a, rest =
    string.match(rec or '', '^([PADE])|([1-9]%d*)|([^|]+)|([^|]+)|([^|]+)|(%d+)|(%d*)|([^|]*)|([^|]*)|(%d+)|([^|]*)|(%d+)|(%d+)|(.*)$')
  if not status or not decimal(requested) or (decided ~= '' and not decimal(decided)) or (status == 'P') ~= (decided == '')
    or not decimal(product) or not decimal(l) or not decimal(a) or tonumber(l) + tonumber(a) > #rest then
    return nil
  end
  l, a = tonumber(l), tonumber(a)
  return {status = status, policy = policy, user = user, app = app, trigger = trigger, requested = requested,
    decided = decided, outcome = outcome, reason = reason, product = product, roles = roles,
    license = string.sub(rest, 1, l), actor = string.sub(rest, l + 1, l + a), message = string.sub(rest, l + a + 1)}
end
