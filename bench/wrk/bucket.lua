-- wrk script: GET /v1/buckets/{random prefix}?epoch=E.
-- Environment: CDS_PREFIX_BITS, CDS_EPOCH.  Paths are prebuilt (POOL
-- random prefixes) to keep the load generator's CPU cost low.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local n = 2 ^ tonumber(os.getenv("CDS_PREFIX_BITS"))
local epoch = os.getenv("CDS_EPOCH")
local POOL = 10000
local pool, next_req = {}, 0

for k = 1, POOL do
  pool[k] = wrk.format("GET", "/v1/buckets/" .. math.random(0, n - 1) ..
    "?epoch=" .. epoch)
end

request = function()
  next_req = next_req % POOL + 1
  return pool[next_req]
end

done = common.done
