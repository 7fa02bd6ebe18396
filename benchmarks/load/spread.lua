-- For run.sh with SPREAD=1: each request goes to the next environment, p0000 to p<ENVIRONMENTS - 1>, in turn.
local count = tonumber(os.getenv("ENVIRONMENTS") or "1000")
local next = 0

request = function()
  next = (next + 1) % count
  return wrk.format("GET", string.format("/p%04d/wiki/WikiStart", next))
end
