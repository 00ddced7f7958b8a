-- wrk script: POST /v1/lookup with batches of 100 registered handles.
-- Environment as lookup1.lua.  Each request counts 100 handles.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local handles = common.load_handles(100000)
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("CDS_TOKEN"),
  ["Content-Type"] = "application/json",
}
local BATCH = 100

request = function()
  local parts = {}
  for i = 1, BATCH do
    parts[i] = '"' .. handles[math.random(#handles)] .. '"'
  end
  return wrk.format("POST", "/v1/lookup", headers,
    '{"handles":[' .. table.concat(parts, ",") .. ']}')
end

done = common.done
