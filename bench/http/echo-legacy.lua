-- bench/http/echo-legacy.lua: wrk script POSTing a 2025-11-25 tools/call echo
-- with no session, the request a stateless server of the TypeScript SDK 1.x
-- (sessionIdGenerator undefined, enableJsonResponse true) answers: its
-- stateless transport checks no session and needs no initialize first.
--
--   wrk -t2 -c64 -d10s --latency -s bench/http/echo-legacy.lua http://127.0.0.1:PORT/mcp
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",'
  .. '"arguments":{"text":"hello"}}}'
