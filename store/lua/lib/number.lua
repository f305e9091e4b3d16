-- Numbering a tenant's objects (policies, products) without gaps: a number
-- is taken only by the script that creates its object, after every check,
-- so a refused creation takes none.

-- take_number(tenant_key, field, n) takes number n of the kind of object
-- the tenant's counter field counts ('seq_policy', 'seq_product'): the one
-- after the last taken. Returns an error reply "AC:STALE" when another call
-- took it first (the caller reads the counter again), else nil.
local function take_number(tenant_key, field, n)
  if tonumber(redis.call('HGET', tenant_key, field) or '0') + 1 ~= tonumber(n) then
    return redis.error_reply('AC:STALE')
  end
  redis.call('HSET', tenant_key, field, n)
end
