-- Shared by the cds wrk scripts: loading handles and the summary line that
-- bench/bench_http.sh parses.
local M = {}

function M.load_handles(max)
  local t = {}
  for line in io.lines(os.getenv("CDS_HANDLES")) do
    t[#t + 1] = line
    if #t >= max then break end
  end
  if #t == 0 then error("no handles in " .. os.getenv("CDS_HANDLES")) end
  return t
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "CDS rps=%.0f requests=%d p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6), summary.requests,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end

return M
