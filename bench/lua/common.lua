-- Shared by the scenarios: the bearer token and a two-item order body over the loaded products.
local M = {}

M.token = os.getenv("BENCH_TOKEN") or ""
M.first_product = tonumber(os.getenv("BENCH_FIRST_PRODUCT") or "1")
M.products = tonumber(os.getenv("BENCH_PRODUCTS") or "100")

function M.authorize()
  wrk.headers["Authorization"] = "Bearer " .. M.token
  wrk.headers["Content-Type"] = "application/json"
end

function M.order_body()
  local a = M.first_product + math.random(0, M.products - 1)
  local b = M.first_product + math.random(0, M.products - 1)
  return string.format('{"items":[{"product_id":%d,"quantity":1},{"product_id":%d,"quantity":1}]}', a, b)
end

-- Installs wrk's setup() and init() hooks so that each wrk thread is numbered and seeds its own
-- random products (threads do not order the same products in lockstep); then runs `after_seed`, if
-- given, in the thread.
function M.seed_each_thread(after_seed)
  local thread_count = 0
  setup = function(thread)
    thread_count = thread_count + 1
    thread:set("thread_id", thread_count)
  end
  init = function()
    math.randomseed(os.time() + (thread_id or 0) * 7919)
    if after_seed then after_seed() end
  end
end

return M
