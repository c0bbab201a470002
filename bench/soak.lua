-- wrk script for bench/soak: cycles through the request mix that bench/soak
-- wrote, counts what it sent and what came back by kind and status, and
-- stops sending at a deadline so that nothing is in flight when wrk ends.
--
--   wrk ... -s bench/soak.lua URL -- MANIFEST DEADLINE_EPOCH
--
-- MANIFEST: one request a line, tab-separated:
--   kind  weight  method  path  content-encoding|-  host  body-file
-- The upstream echoes X-Soak-Kind, so each response names its kind.

local manifest, deadline
local requests = {}        -- the weighted cycle of formatted requests
local kinds_of = {}        -- the kind of each entry of the cycle
local pos = 1
local threads = {}
local running = false      -- wrk calls request() once to check it: not sent

-- read by done() through thread:get
sent = {}                  -- kind -> requests written
recv = {}                  -- "kind status" -> responses
late = 0                   -- requests refused because the deadline passed

function setup(thread)
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

local function slurp(path)
   local f = assert(io.open(path, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

function init(args)
   -- wrk passes the arguments after the URL; a leading "--" is skipped
   local a = {}
   for i = 1, #args do
      if not (i == 1 and args[i] == "--") then table.insert(a, args[i]) end
   end
   manifest, deadline = a[1], tonumber(a[2])
   assert(manifest and deadline, "usage: -- MANIFEST DEADLINE_EPOCH")
   for line in io.lines(manifest) do
      local kind, weight, method, path, coding, host, file =
         line:match("^(%S+)\t(%d+)\t(%S+)\t(%S+)\t(%S+)\t(%S+)\t(%S+)$")
      if kind then
         local headers = {
            ["Host"] = host,
            ["Content-Type"] = "application/json",
            ["X-Soak-Kind"] = kind,
         }
         if coding ~= "-" then headers["Content-Encoding"] = coding end
         local req = wrk.format(method, path, headers, slurp(file))
         sent[kind] = 0
         for _ = 1, tonumber(weight) do
            table.insert(requests, req)
            table.insert(kinds_of, kind)
         end
      end
   end
   assert(#requests > 0, "empty manifest " .. manifest)
   -- the threads start at different places in the cycle
   pos = ((id or 1) - 1) * 7 % #requests + 1
end

-- Before each request: none after the deadline (wrk runs a few seconds
-- longer, so that the last ones complete rather than being cut off).
function delay()
   running = true
   if os.time() >= deadline then
      late = late + 1
      return 3600 * 1000
   end
   return 0
end

function request()
   local i = pos
   pos = pos % #requests + 1
   local kind = kinds_of[i]
   if running then sent[kind] = sent[kind] + 1 end
   return requests[i]
end

function response(status, headers, body)
   local kind = headers["X-Soak-Kind"] or "(none)"
   local key = kind .. " " .. status
   recv[key] = (recv[key] or 0) + 1
end

function done(summary, latency, req)
   local total_sent, total_recv = {}, {}
   for _, t in ipairs(threads) do
      for k, v in pairs(t:get("sent")) do total_sent[k] = (total_sent[k] or 0) + v end
      for k, v in pairs(t:get("recv")) do total_recv[k] = (total_recv[k] or 0) + v end
   end
   local e = summary.errors
   local lines = {
      string.format("duration_us %d", summary.duration),
      string.format("requests %d", summary.requests),
      string.format("bytes %d", summary.bytes),
      string.format("errors connect=%d read=%d write=%d status=%d timeout=%d",
                    e.connect, e.read, e.write, e.status, e.timeout),
      string.format("latency_us mean=%.0f p50=%d p90=%d p99=%d max=%d",
                    latency.mean, latency:percentile(50), latency:percentile(90),
                    latency:percentile(99), latency.max),
   }
   for k, v in pairs(total_sent) do table.insert(lines, string.format("sent %s %d", k, v)) end
   for k, v in pairs(total_recv) do table.insert(lines, string.format("recv %s %d", k, v)) end
   io.write(table.concat(lines, "\n") .. "\n")
end
