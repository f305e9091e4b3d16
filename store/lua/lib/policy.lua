-- Checking a policy's products, for the scripts that write them.
--@include lib/codec.lua

-- check_products(encoded, product_keys) checks an encoded product list (see
-- products_encode) against the hashes of its products, in order: 1 to 5
-- products, none twice, each one existing. Returns the decoded list, or nil
-- and an error reply.
local function check_products(encoded, product_keys)
  local products = products_decode(encoded)
  if not products or #products < 1 or #products > 5 or #products ~= #product_keys then
    return nil, redis.error_reply('AC:BAD_PRODUCTS')
  end
  local seen = {}
  for _, p in ipairs(products) do
    if seen[p.product] then
      return nil, redis.error_reply('AC:BAD_PRODUCTS')
    end
    seen[p.product] = true
  end
  for _, key in ipairs(product_keys) do
    if redis.call('EXISTS', key) == 0 then
      return nil, redis.error_reply('AC:NO_PRODUCT')
    end
  end
  return products
end

-- product_numbers(products) lists the numbers of decoded products, in order.
local function product_numbers(products)
  local numbers = {}
  for i, p in ipairs(products) do
    numbers[i] = p.product
  end
  return numbers
end
