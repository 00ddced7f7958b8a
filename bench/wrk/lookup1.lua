-- wrk script: POST /v1/lookup with one registered handle per request.
-- Environment: CDS_TOKEN (account token), CDS_HANDLES (file, one handle a
-- line, from `cdsctl synth --out`).  Prints a "CDS ..." summary line.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local handles = common.load_handles(100000)
local headers = {
  ["Authorization"] = "Bearer " .. os.getenv("CDS_TOKEN"),
  ["Content-Type"] = "application/json",
}

request = function()
  local h = handles[math.random(#handles)]
  return wrk.format("POST", "/v1/lookup", headers,
    '{"handles":["' .. h .. '"]}')
end

done = common.done
