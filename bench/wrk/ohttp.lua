-- wrk script: POST /v1/ohttp with one fixed encapsulated request (the file
-- $CDS_OHTTP_REQ, made by `bench_ohttp --seal`).  The gateway decrypts and
-- answers each copy anew: RFC 9458 leaves replays to the inner request.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local f = assert(io.open(os.getenv("CDS_OHTTP_REQ"), "rb"))
local body = f:read("*a")
f:close()
local req = wrk.format("POST", "/v1/ohttp",
  {["Content-Type"] = "message/ohttp-req"}, body)

request = function()
  return req
end

done = common.done
