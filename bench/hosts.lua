-- wrk script: a different Host per request, cycling through a host list.
--   wrk ... -s bench/hosts.lua URL -- HOSTFILE [MAX]
-- Requests are formatted once in init(), so the per-request cost in wrk is
-- a table lookup (wrk is still the bottleneck with a script on 2 cores).

local reqs = {}
local n = 0
local i = 0

function init(args)
    local path = args[1]
    local max = tonumber(args[2] or "100000")
    for line in io.lines(path) do
        if #line > 0 then
            n = n + 1
            reqs[n] = wrk.format("GET", "/", { Host = line })
            if n >= max then break end
        end
    end
    if n == 0 then
        error("no hosts in " .. tostring(path))
    end
    -- start threads at different places in the list
    i = math.random(0, n - 1)
end

function request()
    i = i + 1
    if i > n then i = 1 end
    return reqs[i]
end
