-- Shared by the scripts that write a policy's products. Prepended to them.
-- check_products(encoded, first_key) checks the encoded product list
-- "<n>=<plan>,<plan>;<n>=;..." against the product hashes KEYS[first_key..]:
-- 1 to 5 products, none twice, each one existing. Returns nil or an error reply.
local function check_products(encoded, first_key)
  local seen, count = {}, 0
  for entry in string.gmatch(encoded, '[^;]+') do
    local n = string.match(entry, '^(%d+)=')
    if not n or seen[n] then
      return redis.error_reply('AC:BAD_PRODUCTS')
    end
    seen[n] = true
    count = count + 1
  end
  if count < 1 or count > 5 or count ~= #KEYS - first_key + 1 then
    return redis.error_reply('AC:BAD_PRODUCTS')
  end
  for i = first_key, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 0 then
      return redis.error_reply('AC:NO_PRODUCT')
    end
  end
  return nil
end
