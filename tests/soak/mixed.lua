-- tests/soak/mixed.lua: the request mix of the soak test (tests/soak/soak.sh), for wrk.
--
-- Every wrk thread has exactly one connection (soak.sh runs wrk with -c equal to -t), so in a
-- thread request() and response() alternate strictly and the thread always knows which request
-- an answer belongs to. Each thread works on jobs it created itself, so the status each request
-- must get is known exactly; any other status, or a body without the expected text, counts as
-- unexpected. The cycle, repeated until wrk stops:
--
--   POST   /jobs                {"stack_id":S,"schedule_id":4}   201  {"id":N}
--   GET    /jobs/byid/N                                          200  its own id
--   PUT    /jobs/N              {"name":"w<thread>-<cycle>"}     200  the new name
--   GET    /jobs?page=P         (P = 1..4 in turn)               200  a page
--   GET    /jobs/byid/<seed>    (a seeded job, never changed)    200  the seed's name
--   DELETE /jobs/N                                               200  {"deleted":N}
--   DELETE /jobs/N              (again: gone)                    404  fault 6
--
-- So the store holds the seeds plus at most one job per thread at any time (no growth), and the
-- jobs are never enabled (nothing is queued for the scheduler).
--
-- Environment: SOAK_TOKEN (bearer token), SOAK_STACK (stack id), SOAK_SEED_FIRST and
-- SOAK_SEED_COUNT (the seeded job ids). done() prints lines starting with "SOAK " that soak.sh
-- parses: requests, socket errors, counts per method and status, unexpected answers.

local token = os.getenv("SOAK_TOKEN")
local stack = os.getenv("SOAK_STACK")
local seed_first = tonumber(os.getenv("SOAK_SEED_FIRST"))
local seed_count = tonumber(os.getenv("SOAK_SEED_COUNT"))

-- setup/done environment -------------------------------------------------------------------

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

-- thread environment -----------------------------------------------------------------------

counts = {}        -- "METHOD STATUS" -> count (read by done())
unexpected = 0     -- answers with a status or body other than the step's
samples = {}       -- the first few unexpected answers, for the report

local headers
local step, sent = 1, 1
local job, cycle = nil, 0

local function seed() return seed_first + (cycle * 7 + tid) % seed_count end

-- method, path, body, expected status, text the body must contain
local steps = {
   {"POST", function() return "/jobs" end,
    function() return '{"stack_id":' .. stack .. ',"schedule_id":4}' end, 201,
    function() return '{"id":' end},
   {"GET", function() return "/jobs/byid/" .. job end, nil, 200,
    function() return '{"id":' .. job .. ',' end},
   {"PUT", function() return "/jobs/" .. job end,
    function() return '{"name":"w' .. tid .. '-' .. cycle .. '"}' end, 200,
    function() return '"name":"w' .. tid .. '-' .. cycle .. '"' end},
   {"GET", function() return "/jobs?page=" .. (cycle % 4 + 1) end, nil, 200,
    function() return '"jobs":[' end},
   {"GET", function() return "/jobs/byid/" .. seed() end, nil, 200,
    function() return '"name":"seed-' end},
   {"DELETE", function() return "/jobs/" .. job end, nil, 200,
    function() return '{"deleted":' .. job .. '}' end},
   {"DELETE", function() return "/jobs/" .. job end, nil, 404,
    function() return '{"code":6,' end},
}

function init(args)
   headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
end

function request()
   local s = steps[step]
   local body = s[3] and s[3]() or nil
   sent = step
   return wrk.format(s[1], s[2](), headers, body)
end

function response(status, hdrs, body)
   local s = steps[sent]
   local key = s[1] .. " " .. status
   local want = s[5]()

   counts[key] = (counts[key] or 0) + 1
   if status ~= s[4] or not string.find(body or "", want, 1, true) then
      unexpected = unexpected + 1
      if #samples < 5 then
         table.insert(samples, string.format("%s %s: expected %d with %s, got %d %s",
                                             s[1], s[2](), s[4], want, status,
                                             string.sub(body or "", 1, 200)))
      end
   end
   if sent == 1 then
      job = status == 201 and tonumber(string.match(body or "", '"id":(%d+)')) or nil
      step = job and 2 or 1 -- without a job of its own the thread creates again
   else
      step = sent % #steps + 1
      if step == 1 then cycle = cycle + 1 end
   end
end

-- done -------------------------------------------------------------------------------------

function done(summary, latency, requests)
   local e = summary.errors
   local total, all = 0, {}

   io.write(string.format("SOAK requests %d\n", summary.requests))
   io.write(string.format("SOAK seconds %.1f\n", summary.duration / 1e6))
   io.write(string.format("SOAK errors connect=%d read=%d write=%d timeout=%d\n",
                          e.connect, e.read, e.write, e.timeout))
   io.write(string.format("SOAK latency_ms mean=%.2f p99=%.2f max=%.2f\n", latency.mean / 1000,
                          latency:percentile(99.0) / 1000, latency.max / 1000))
   for _, t in ipairs(threads) do
      for k, v in pairs(t:get("counts")) do all[k] = (all[k] or 0) + v end
      total = total + t:get("unexpected")
      for _, line in ipairs(t:get("samples")) do
         io.write("SOAK sample " .. line .. "\n")
      end
   end
   local keys = {}
   for k in pairs(all) do table.insert(keys, k) end
   table.sort(keys)
   for _, k in ipairs(keys) do io.write(string.format("SOAK status %s %d\n", k, all[k])) end
   io.write(string.format("SOAK unexpected %d\n", total))
end
