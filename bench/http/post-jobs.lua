-- wrk script of bench/http-bench.sh: POST /jobs, each request a new active job with a unique
-- name, and a count of the 201 answers, which the script compares with the store afterwards.
--   wrk -s post-jobs.lua -H 'Authorization: Bearer T' URL -- STACK_ID
-- Prints "created N" and "other M" (answers that were not 201) from done().

local threads = {}
local next_tid = 1

-- Runs in wrk's main Lua state, once per thread, before the thread's init().
function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

-- From here to done(): one copy per wrk thread.
created = 0
other = 0
local n = 0
local stack = 0

function init(args)
   stack = tonumber(args[1]) or error("post-jobs.lua: give the stack id after --")
   wrk.method = "POST"
   wrk.path = "/jobs"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   n = n + 1
   local body = string.format('{"stack_id":%d,"schedule_id":4,"name":"w%d-%d","enabled":true}',
                              stack, tid, n)
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   if status == 201 then
      created = created + 1
   else
      other = other + 1
   end
end

-- Back in the main state: add up the threads' counts.
function done(summary, latency, requests)
   local c, o = 0, 0
   for _, t in ipairs(threads) do
      c = c + t:get("created")
      o = o + t:get("other")
   end
   io.write(string.format("created %d\nother %d\n", c, o))
end
