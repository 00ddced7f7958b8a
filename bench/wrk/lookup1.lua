-- wrk script: POST /v1/lookup with one registered handle per request.
-- Environment: CDS_TOKEN (account token), CDS_HANDLES (file, one handle a
-- line, from `cdsctl synth --out`).  Requests are prebuilt (a pool of
-- POOL distinct handles) to keep the load generator's CPU cost low.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local handles = common.load_handles(100000)
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("CDS_TOKEN"),
  ["Content-Type"] = "application/json",
}
local POOL = 10000
local pool, next_req = {}, 0

for k = 1, POOL do
  pool[k] = wrk.format("POST", "/v1/lookup", headers,
    '{"handles":["' .. handles[math.random(#handles)] .. '"]}')
end

request = function()
  next_req = next_req % POOL + 1
  return pool[next_req]
end

done = common.done
