-- GET /store/orders/: a customer with 50 orders reads the newest page.
package.path = "bench/lua/?.lua;" .. package.path
local common = require("common")
common.authorize()
wrk.method = "GET"
wrk.path = "/store/orders/"
