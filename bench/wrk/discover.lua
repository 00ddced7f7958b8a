-- wrk script: POST /v1/discover with one fixed batch of blinded elements
-- (the JSON body in the file $CDS_DISCOVER_BODY, made by
-- bench/bench_replicas.py), as the account $CDS_TOKEN.  The server
-- evaluates every copy anew (OPRF BlindEvaluate and a DLEQ proof), so the
-- throughput is the OPRF's over HTTP; elements per request = the batch.
local common = dofile(os.getenv("CDS_WRK_DIR") .. "/common.lua")
local f = assert(io.open(os.getenv("CDS_DISCOVER_BODY"), "rb"))
local body = f:read("*a")
f:close()
-- A headers table of our own replaces wrk's defaults: Host is one of
-- them, and nginx refuses HTTP/1.1 without it.
local req = wrk.format("POST", "/v1/discover", {
  ["Host"] = "localhost",
  ["Authorization"] = "Bearer " .. os.getenv("CDS_TOKEN"),
  ["Content-Type"] = "application/json",
}, body)

request = function()
  return req
end

done = common.done
