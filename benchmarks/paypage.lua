-- wrk script of benchmarks/paypage.py: GET a random line of $PAYPAGE_PATHS (one path a line) per request,
-- wait $PAYPAGE_DELAY_MS between a connection's requests (0: none), print the figures as one RESULT line.
local paths = {}
for line in io.lines(os.getenv("PAYPAGE_PATHS")) do
  paths[#paths + 1] = line
end
local pause = tonumber(os.getenv("PAYPAGE_DELAY_MS") or "0")
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(os.time() * 100 + (seed or 0))
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end

if pause > 0 then
  delay = function()
    return pause
  end
end

done = function(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.timeout + errors.status
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %.3f %.3f\n", summary.requests, failed,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.mean / 1e3))
end
