-- wrk script of bench/http-bench.sh --memory: GET /jobs/byid/<random id> and
-- GET /jobs?page=<random page>, half and half; each wrk thread stops after QUOTA answers
-- (QUOTA = total / threads, rounded up) and then creates the file MARK<thread number>.
--   wrk -s mixed-reads.lua -H 'Authorization: Bearer T' URL -- FIRST_ID LAST_ID PAGES QUOTA MARK
-- wrk itself still waits out its -d (it only sleeps, then joins its threads), so the caller
-- sends it SIGINT once every thread has left its mark; wrk then reports as usual.
-- Prints "answers N" and "non2xx M" from done().

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

answers = 0
non2xx = 0
local first, last, pages, quota, mark = 0, 0, 0, 0, nil

function init(args)
   first = tonumber(args[1])
   last = tonumber(args[2])
   pages = tonumber(args[3])
   quota = tonumber(args[4])
   mark = args[5]
   if not (first and last and pages and quota and mark) then
      error("mixed-reads.lua: give FIRST_ID LAST_ID PAGES QUOTA MARK after --")
   end
   math.randomseed(tid * 7919 + os.time())
end

function request()
   local path
   if math.random() < 0.5 then
      path = "/jobs/byid/" .. math.random(first, last)
   else
      path = "/jobs?page=" .. math.random(1, pages)
   end
   return wrk.format("GET", path)
end

function response(status, headers, body)
   answers = answers + 1
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   end
   if answers == quota then
      local f = assert(io.open(mark .. tid, "w"))
      f:close()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local a, e = 0, 0
   for _, t in ipairs(threads) do
      a = a + t:get("answers")
      e = e + t:get("non2xx")
   end
   io.write(string.format("answers %d\nnon2xx %d\n", a, e))
end
