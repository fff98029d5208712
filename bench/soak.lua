-- wrk script for the reload soak: cycles through hosts that are filed in
-- every snapshot and checks each response:
--   status 200, body "filed|HOST|DOMAIN|ICP\n" with DOMAIN and ICP as
--   expected for HOST (the config returns
--   "$beian_status|$host|$beian_domain|$beian_icp\n").
--   wrk ... -s bench/soak.lua URL -- EXPECT_TSV [close|keepalive]
-- EXPECT_TSV: lines "host<TAB>domain<TAB>icp".

local reqs, expect = {}, {}
local n, i = 0, 0
local threads = {}

ok, bad_status, bad_body, first_bad = 0, 0, 0, ""

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    local mode = args[2] or "close"
    for line in io.lines(args[1]) do
        local h, d, icp = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
        if h then
            n = n + 1
            local hdr = { Host = h }
            if mode == "close" then hdr["Connection"] = "close" end
            reqs[n] = wrk.format("GET", "/", hdr)
            expect[h] = { d, icp }
        end
    end
    if n == 0 then error("no hosts in " .. tostring(args[1])) end
    i = math.random(0, n - 1)
end

function request()
    i = i + 1
    if i > n then i = 1 end
    return reqs[i]
end

local function note(s)
    if #first_bad < 600 then first_bad = first_bad .. s .. " ; " end
end

function response(status, headers, body)
    if status ~= 200 then
        bad_status = bad_status + 1
        note("status " .. status .. " " .. tostring(body):sub(1, 80))
        return
    end
    local st, h, d, icp = body:match("^(%w+)|([^|]*)|([^|]*)|([^\n]*)\n$")
    local e = h and expect[h]
    if st ~= "filed" or e == nil or e[1] ~= d or e[2] ~= icp then
        bad_body = bad_body + 1
        note("body " .. tostring(body):sub(1, 120))
        return
    end
    ok = ok + 1
end

function done(summary, latency, requests)
    local o, bs, bb, fb = 0, 0, 0, ""
    for _, t in ipairs(threads) do
        o = o + t:get("ok")
        bs = bs + t:get("bad_status")
        bb = bb + t:get("bad_body")
        fb = fb .. t:get("first_bad")
    end
    local e = summary.errors
    io.write(string.format(
        "SOAK requests=%d ok=%d bad_status=%d bad_body=%d connect=%d " ..
        "read=%d write=%d timeout=%d status=%d\n", summary.requests, o, bs,
        bb, e.connect, e.read, e.write, e.timeout, e.status))
    io.write("SOAK first_bad=" .. fb .. "\n")
end
