-- wrk script: POST the same `echo` tools/call as a MCP 2026-07-28 ("modern") request on
-- every request: no session, the SEP-2243 standard headers (`Mcp-Method`, `Mcp-Name`) and
-- the per-request `_meta` (protocol version, client capabilities). Checks every response.
-- A response counts as a mismatch unless it is 200, its body contains the echoed text and
-- `"resultType":"complete"` (which a 2026-07-28 result must carry), and it holds neither a
-- JSON-RPC error nor `"isError":true`.
-- At the end, one machine-readable line: RESULT key=value ... (the same keys as echo.lua)

local text = os.getenv("ECHO_TEXT") or "hello rampart bench"

wrk.method = "POST"
wrk.path = "/mcp"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "echo"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"'
    .. text .. '"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    .. '"io.modelcontextprotocol/clientCapabilities":{}}}}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  checked = 0
  mismatches = 0
  first_bad = nil
end

local function good(status, body)
  return status == 200 and body ~= nil
    and string.find(body, text, 1, true) ~= nil
    and string.find(body, '"resultType":"complete"', 1, true) ~= nil
    and string.find(body, '"error":', 1, true) == nil
    and string.find(body, '"isError":true', 1, true) == nil
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
