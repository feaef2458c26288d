-- POST /store/place_order/: two random products, one of each (the same product twice is merged).
package.path = "bench/lua/?.lua;" .. package.path
local common = require("common")
common.authorize()
common.seed_each_thread()

function request()
  return wrk.format("POST", "/store/place_order/", nil, common.order_body())
end
