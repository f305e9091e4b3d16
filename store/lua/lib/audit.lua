-- Writing a tenant's audit log, for every script of an admin or operator
-- change: the entry goes in with the change, or neither does.
--@include lib/codec.lua
--@include lib/events.lua

-- audit_arg(json) reads the entry a script is to write, as the caller
-- passed it (store/codec_audit.go's auditArg): the action, the actor, its
-- roles, the targets and the changes the caller knows.
local function audit_arg(json)
  local a = cjson.decode(json)
  local e = {action = a.action, actor = a.actor, roles = a.roles, targets = a.targets, changes = {}}
  for i, c in ipairs(a.changes) do
    e.changes[i] = {field = c.field, before = c.before, after = c.after}
  end
  return e
end

-- audit_change(e, field, before, after) adds a change the script read itself
-- (nil: no value); a field set to the value it had changed nothing.
local function audit_change(e, field, before, after)
  if before ~= after then
    e.changes[#e.changes + 1] = {field = field, before = before, after = after}
  end
end

-- bool_text(v) writes a stored flag ('1' or '0') as a change's value.
local function bool_text(v)
  if v == '1' then
    return 'true'
  end
  return 'false'
end

-- audit(stream, retention, e) appends entry e to a tenant's audit stream,
-- dropping entries older than retention (ms); returns the entry's id.
local function audit(stream, retention, e)
  local minid = string.format('%d', now_ms() - tonumber(retention))
  return redis.call('XADD', stream, 'MINID', '=', minid, '*', unpack(audit_encode(e)))
end

-- by(event, e) gives a change event the actor of audit entry e.
local function by(event, e)
  event.actor = e.actor
  event.roles = e.roles
  return event
end
