-- wrk script for the soak: a mix of what an MCP server sees, in a fixed rotation of 20
-- requests: 12 legacy `echo` calls (plain JSON-RPC, no session, as a script sends them), 4 stateless 2026-07-28 `echo` calls, 2
-- `tools/list`, 1 call of a tool that does not exist (an error by design), 1 `GET /health`.
-- wrk does not say which connection an answer came on, so an answer counts as good when it
-- is 200 and one of the answers the rotation asks for: the echoed text, a tool list, the
-- -32001 of the missing tool, or the liveness body. Anything else is a mismatch.
-- At the end, one machine-readable line: RESULT key=value ...

local text = "soak"
local legacy = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"'
    .. text .. '"}}}'
local modern = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"'
    .. text .. '"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    .. '"io.modelcontextprotocol/clientCapabilities":{}}}}'
local list = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
local missing = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"no.such@v1","arguments":{}}}'

-- wrk.format adds no Host of its own when given headers.
local base = {
  ["Host"] = "localhost",
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json, text/event-stream",
}

local function headers(extra)
  local h = {}
  for k, v in pairs(base) do h[k] = v end
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local requests = {}
local function add(n, request)
  for _ = 1, n do
    table.insert(requests, request)
  end
end

add(12, wrk.format("POST", "/mcp", headers(), legacy))
add(4, wrk.format("POST", "/mcp", headers({["MCP-Protocol-Version"] = "2026-07-28",
  ["Mcp-Method"] = "tools/call", ["Mcp-Name"] = "echo"}), modern))
add(2, wrk.format("POST", "/mcp", headers(), list))
add(1, wrk.format("POST", "/mcp", headers(), missing))
add(1, wrk.format("GET", "/health", {["Host"] = "localhost"}))

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  index = 0
  checked = 0
  mismatches = 0
  first_bad = nil
end

function request()
  index = index % #requests + 1
  return requests[index]
end

local function good(status, body)
  if status ~= 200 or body == nil then return false end
  for _, sign in ipairs({text, '"tools":', '"code":-32001', '"alive"'}) do
    if string.find(body, sign, 1, true) ~= nil then return true end
  end
  return false
end

function response(status, headers, body)
  checked = checked + 1
  if not good(status, body) then
    mismatches = mismatches + 1
    if first_bad == nil then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local total_checked, total_bad, bad = 0, 0, nil
  for _, t in ipairs(threads) do
    total_checked = total_checked + t:get("checked")
    total_bad = total_bad + t:get("mismatches")
    bad = bad or t:get("first_bad")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d checked=%d mismatches=%d"
      .. " connect_errors=%d read_errors=%d write_errors=%d timeouts=%d status_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, total_checked, total_bad, e.connect, e.read, e.write, e.timeout, e.status))
  if bad then
    io.write("FIRST_MISMATCH " .. string.gsub(bad, "\n", " ") .. "\n")
  end
end
