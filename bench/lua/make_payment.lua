-- POST /store/make_payment/ (mock gateway, no latency). Every payment needs an unpaid order, so
-- each connection alternates: place an order, then pay it. Half the requests are payments.
package.path = "bench/lua/?.lua;" .. package.path
local common = require("common")
common.authorize()
common.seed_each_thread()

local unpaid = {}

function request()
  local order = table.remove(unpaid)
  if order then
    local body = string.format(
      '{"order_id":%s,"amount":"%s","card_number":"4242424242424242","expiry_date":"12/34","cvv":"123"}',
      order.id, order.total)
    return wrk.format("POST", "/store/make_payment/", nil, body)
  end
  return wrk.format("POST", "/store/place_order/", nil, common.order_body())
end

function response(status, headers, body)
  if status == 201 then
    local id = body:match('"id":(%d+)')
    local total = body:match('"total_amount":"([%d.]+)"')
    if id and total then table.insert(unpaid, {id = id, total = total}) end
  end
end
