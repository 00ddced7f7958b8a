-- wrk script: GET /v1/buckets/{random prefix}?epoch=E.
-- Environment: CDS_PREFIX_BITS, CDS_EPOCH.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local n = 2 ^ tonumber(os.getenv("CDS_PREFIX_BITS"))
local epoch = os.getenv("CDS_EPOCH")

request = function()
  return wrk.format("GET", "/v1/buckets/" .. math.random(0, n - 1) ..
    "?epoch=" .. epoch)
end

done = common.done
