-- wrk script: POST /v1/lookup with batches of 100 registered handles.
-- Environment as lookup1.lua.  Each request counts 100 handles.  Requests
-- are built once at start (a pool of POOL distinct batches) so that the
-- load generator, which shares the machine, spends its CPU on sending.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local handles = common.load_handles(100000)
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("CDS_TOKEN"),
  ["Content-Type"] = "application/json",
}
local BATCH, POOL = 100, 1000
local pool, next_req = {}, 0

for k = 1, POOL do
  local parts = {}
  for i = 1, BATCH do
    parts[i] = '"' .. handles[math.random(#handles)] .. '"'
  end
  pool[k] = wrk.format("POST", "/v1/lookup", headers,
    '{"handles":[' .. table.concat(parts, ",") .. ']}')
end

request = function()
  next_req = next_req % POOL + 1
  return pool[next_req]
end

done = common.done
