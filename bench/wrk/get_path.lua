-- wrk script: GET $CDS_PATH, always the same (the direct twin of ohttp.lua).
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local req = wrk.format("GET", os.getenv("CDS_PATH"))

request = function()
  return req
end

done = common.done
