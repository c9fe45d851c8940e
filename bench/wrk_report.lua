-- The wrk script of bench/auth.sh and bench/cluster.sh: one request shape from the
-- environment, and one RESULT line with the rate, p50/p99 (ms), requests, answers whose
-- status was not BENCH_EXPECT, and socket errors.
--   BENCH_METHOD  GET (default) or POST;  BENCH_BODY  a JSON body (none by default)
--   BENCH_AUTH    one header line, "Authorization: Bearer …" or "Cookie: …" (kept out of
--                 wrk's command line so credentials do not show in ps)
--   BENCH_EXPECT  the one status every answer must have (200 by default)
--   BENCH_MS_DIGITS  decimals of p50/p99 in ms (2 by default; 3 for c=1 rows in µs)
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local auth = os.getenv("BENCH_AUTH") or ""
local name, value = auth:match("^([^:]+):%s*(.*)$")
if name then wrk.headers[name] = value end
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
local digits = tonumber(os.getenv("BENCH_MS_DIGITS") or "2")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() unexpected = 0 end
function response(status) if status ~= expect then unexpected = unexpected + 1 end end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("unexpected") end
  local e = summary.errors
  local ms = "%." .. digits .. "f"
  io.write(string.format("RESULT %.0f " .. ms .. " " .. ms .. " %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, bad, e.connect + e.read + e.write + e.timeout))
end
