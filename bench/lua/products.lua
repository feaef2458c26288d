-- GET /store/products/: a signed-in customer reads the first page of the catalogue.
package.path = "bench/lua/?.lua;" .. package.path
local common = require("common")
common.authorize()
wrk.method = "GET"
wrk.path = "/store/products/"
