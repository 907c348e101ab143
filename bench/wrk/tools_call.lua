-- wrk load for MCP `tools/call` over Streamable HTTP, used by scripts/bench-ratios for every row,
-- the nginx baselines included, so that each row pays the same load-generator cost per request.
--
--   wrk -c N -t T -d S --latency -s bench/wrk/tools_call.lua URL -- SESSIONS_FILE TOOL ARGS [check]
--
-- SESSIONS_FILE  one Mcp-Session-Id per line (initialized by the driver); requests rotate over them.
--                nginx ignores the header, so the baselines get placeholder ids of the same length.
--                "-": the per-request era (MCP 2026-07-28): no session; every request carries its
--                revision and capabilities in params._meta and the Mcp-Method / Mcp-Name headers.
-- TOOL           tool name, e.g. get_task or create_task.
-- ARGS           the tool's arguments as JSON; every "@N@" becomes a number unique to the request,
--                e.g. {"title":"bench @N@"} makes each create_task request create a distinct task.
-- check          also look at every answer and count the ones that are not a tool success (non-200,
--                a JSON-RPC error, "isError":true). Costs load-generator CPU, so only smoke runs use it.
--
-- done() prints one line "WRKJSON {...}" with counts and latency percentiles (microseconds).

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  modern = args[1] == "-"
  sessions = {}
  if not modern then
    local f = assert(io.open(args[1], "r"), "cannot open sessions file " .. tostring(args[1]))
    for line in f:lines() do
      if #line > 0 then sessions[#sessions + 1] = line end
    end
    f:close()
    assert(#sessions > 0, "sessions file is empty")
  end
  local tool = assert(args[2], "missing TOOL argument")
  local meta = ""
  if modern then
    meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
           '"io.modelcontextprotocol/clientCapabilities":{}},'
  end
  local targs = assert(args[3], "missing ARGS argument")
  local a, b = targs:find("@N@", 1, true)
  -- The request id doubles as the unique number: JSON-RPC ids must be unique among a session's
  -- requests in flight, and both threads share the sessions, so each thread has its own range.
  if a then
    pre = '{"jsonrpc":"2.0","method":"tools/call","params":{' .. meta .. '"name":"' .. tool .. '","arguments":' ..
          targs:sub(1, a - 1)
    post = targs:sub(b + 1) .. '},"id":'
  else
    pre = '{"jsonrpc":"2.0","method":"tools/call","params":{' .. meta .. '"name":"' .. tool .. '","arguments":' ..
          targs .. '},"id":'
    post = nil
  end
  headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["MCP-Protocol-Version"] = "2025-11-25",
  }
  if modern then
    headers["MCP-Protocol-Version"] = "2026-07-28"
    headers["Mcp-Method"] = "tools/call"
    headers["Mcp-Name"] = tool
  end
  n = 0
  bad = 0
  base = tid * 1000000000
  if args[4] == "check" then
    response = function(status, _, body)
      if status ~= 200 or body:find('"isError":true', 1, true) or body:find('"error":{', 1, true) then
        bad = bad + 1
        if bad == 1 then first_bad = status .. " " .. body:sub(1, 300) end
      end
    end
  end
end

function request()
  n = n + 1
  local id = base + n
  if not modern then headers["Mcp-Session-Id"] = sessions[(n + tid) % #sessions + 1] end
  local body
  if post then
    body = pre .. id .. post .. id .. "}"
  else
    body = pre .. id .. "}"
  end
  return wrk.format("POST", nil, headers, body)
end

local function json_string(s)
  s = s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end)
  return '"' .. s .. '"'
end

function done(summary, latency, _)
  local bad_total, first = 0, ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + (t:get("bad") or 0)
    local fb = t:get("first_bad")
    if fb and first == "" then first = fb end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"bad_answers":%d,"p50_us":%.0f,"p90_us":%.0f,' ..
    '"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f,"first_bad":%s}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    bad_total, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, json_string(first)))
end
