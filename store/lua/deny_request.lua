-- Denies a pending license request: it records DENIED, the message, when
-- (the store's clock) and by whom (the audit entry's actor); a
-- LICENSE_REQUEST_DENIED event and the audit entry go with it.
-- KEYS[1] license requests hash   KEYS[2] pending requests index   KEYS[3] denied requests index
-- KEYS[4] requests due zset   KEYS[5] event stream   KEYS[6] audit stream
-- ARGV[1] request number   ARGV[2] the store's clock (ms)   ARGV[3] how long a request waits for a decision (ms)
-- ARGV[4] the message ('' none)   ARGV[5] event window (ms)   ARGV[6] audit entry (see audit_arg)
-- ARGV[7] audit retention (ms)   ARGV[8] how long a decided request is kept (ms)
-- Reply: 'OK', or an error "AC:NO_REQUEST", "AC:NOT_PENDING:<P|A|D|E>" or
-- "AC:BAD_RECORD:request".
--@include lib/audit.lua
--@include lib/request.lua
local request_keys = {requests = KEYS[1], pending = KEYS[2], due = KEYS[4]}
local denied_key, events_key, audit_key = KEYS[3], KEYS[5], KEYS[6]
local n, clock, expiry, message = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local window, entry, retention, keep = ARGV[5], audit_arg(ARGV[6]), ARGV[7], tonumber(ARGV[8])

local r, refused = request_open(request_keys.requests, n, clock, expiry)
if refused then
  return refused
end
r.status, r.decided, r.message, r.actor, r.roles = 'D', string.format('%d', clock), message, entry.actor, entry.roles
request_decide(request_keys, n, r, denied_key, string.format('%d', clock + keep))
audit(audit_key, retention, entry)
emit(events_key, window, by({kind = 'LICENSE_REQUEST_DENIED', policy = r.policy, user = r.user, request = n}, entry))
return 'OK'
