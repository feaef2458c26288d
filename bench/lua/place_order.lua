-- POST /store/place_order/: two random products, one of each (the same product twice is merged).
-- The requests are formatted once per wrk thread, in init(): formatting one in Lua for every request
-- costs wrk CPU on the same two cores, which would be charged to the server.
package.path = "bench/lua/?.lua;" .. package.path
local common = require("common")
common.authorize()
common.seed_each_thread(function()
  requests = {}
  for i = 1, 4096 do
    requests[i] = wrk.format("POST", "/store/place_order/", nil, common.order_body())
  end
  next_request = 0
end)

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
