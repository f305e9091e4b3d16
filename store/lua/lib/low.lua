-- Low-license alerts, for every script that takes licenses from a pool: a
-- product whose available count goes from above its threshold to at or
-- below it gets one LOW_LICENSES event. No state is kept: a script knows
-- the count before and after its change, so each crossing is seen once,
-- by the script that makes it, and the next needs the count above again.
--@include lib/events.lua

-- low_alert(events_key, window, p) emits LOW_LICENSES for a product p =
-- {product (number), total, assigned (after the change), low (its
-- threshold, 0 off), before (its available count before the change)} when
-- the change crossed its threshold.
local function low_alert(events_key, window, p)
  local low = tonumber(p.low) or 0
  local after = p.total - p.assigned
  if low > 0 and p.before > low and after <= low then
    emit(events_key, window, {kind = 'LOW_LICENSES', product = p.product, total = string.format('%d', p.total),
      assigned = string.format('%d', p.assigned), threshold = string.format('%d', low)})
  end
end
