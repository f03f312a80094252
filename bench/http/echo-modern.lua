-- bench/http/echo-modern.lua: wrk script POSTing the stateless 2026-07-28
-- tools/call echo, headers and _meta as the modern era requires them. The
-- same request serves cmcpd, nginx (which ignores it) and the TypeScript SDK
-- 2.x (createMcpHandler).
--
--   wrk -t2 -c64 -d10s --latency -s bench/http/echo-modern.lua http://127.0.0.1:PORT/mcp
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "echo"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",'
  .. '"arguments":{"text":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":'
  .. '"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
