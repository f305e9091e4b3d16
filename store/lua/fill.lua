-- Goes on filling waitlists where a call that made licenses available
-- stopped (a large release is worked off a batch of waiting users per
-- call), or where a worker found a fill unfinished.
-- KEYS: those the plan names (see fill_waitlists)
-- ARGV[1] the plan, JSON (store/fill.go's fillPlan)
-- Reply: a JSON object of strings: filled (licenses given), next (the
-- waitlists whose walk goes on), given (the licenses given; see
-- fill_waitlists).
--@include lib/fill.lua
local filled, next, given = fill_waitlists(cjson.decode(ARGV[1]), {})
return cjson.encode({filled = string.format('%d', filled), next = next, given = given})
