-- wrk script: every request goes to the next project's wiki front page (/p1 .. /p4, rotating per thread), and
-- every answer outside 2xx is counted; done() prints the count, by status code, summed over the threads.
--   wrk -t2 -c16 -d60s --latency -s projects.lua http://127.0.0.1:PORT
-- WRK_PROJECTS (environment variable, comma-separated) overrides the project names.

local names = {}
for name in string.gmatch(os.getenv("WRK_PROJECTS") or "p1,p2,p3,p4", "[^,]+") do
  names[#names + 1] = name
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  paths = {}
  for i, name in ipairs(names) do
    paths[i] = "/" .. name .. "/wiki/WikiStart"
  end
  -- start the threads on different projects
  counter = id or 0
  non2xx = 0
  statuses = ""
  seen = {}
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    seen[status] = (seen[status] or 0) + 1
    local parts = {}
    for code, count in pairs(seen) do
      parts[#parts + 1] = code .. "=" .. count
    end
    statuses = table.concat(parts, ",")
  end
end

function done(summary, latency, requests)
  local total = 0
  local byStatus = {}
  for _, thread in ipairs(threads) do
    total = total + (thread:get("non2xx") or 0)
    local list = thread:get("statuses") or ""
    for code, count in string.gmatch(list, "(%d+)=(%d+)") do
      byStatus[code] = (byStatus[code] or 0) + tonumber(count)
    end
  end
  local parts = {}
  for code, count in pairs(byStatus) do
    parts[#parts + 1] = code .. ": " .. count
  end
  table.sort(parts)
  io.write(string.format("Non-2xx responses: %d%s\n", total,
    #parts > 0 and (" (" .. table.concat(parts, ", ") .. ")") or ""))
end
