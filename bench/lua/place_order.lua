-- POST /store/place_order/: two random products, one of each (the same product twice is merged).
package.path = "bench/lua/?.lua;" .. package.path
local common = require("common")
common.authorize()

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

function init()
  common.seed(thread_id or 0)
end

function request()
  return wrk.format("POST", "/store/place_order/", nil, common.order_body())
end
