-- POST /admin/orders/{id}/refunds/ (staff, mock gateway, no latency): refunds of 0.01 spread over the
-- orders run.py paid for this scenario (BENCH_REFUND_ORDERS), each under its own Idempotency-Key, so
-- every request claims, sends and settles one refund.
package.path = "bench/lua/?.lua;" .. package.path
local common = require("common")
common.authorize()

local orders = {}
for id in string.gmatch(os.getenv("BENCH_REFUND_ORDERS") or "", "%d+") do table.insert(orders, id) end
local sent = 0
local started = os.time()
common.seed_each_thread()

function request()
  sent = sent + 1
  local id = orders[math.random(1, #orders)]
  local key = string.format("bench-%d-%d-%d-%d", started, thread_id or 0, sent, math.random(1, 1000000000))
  -- wrk.format uses the headers it is given instead of wrk.headers, not beside them.
  local headers = {["Idempotency-Key"] = key}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", "/admin/orders/" .. id .. "/refunds/", headers, '{"amount":"0.01","reason":"bench"}')
end
