#!/usr/bin/env bash
# Starts cmcpd on HOST:PORT (default 127.0.0.1:8080) with its built-in tools
# (echo, add, sleep, fail; bench:// resources; an echo prompt) and says how to talk to it. Ctrl-C stops it.
set -euo pipefail
build=${1:-build}
listen=${2:-127.0.0.1:8080}
bin="$build/bin/cmcpd"
[ -x "$bin" ] || { echo "run: $bin is missing; run 'make build' first" >&2; exit 1; }
url="http://$listen/mcp"
cat <<MSG
cmcpd: serving MCP (2026-07-28 and 2025-11-25 and older) at $url
Try, from another terminal:

  # with the cmcp command-line client
  $build/bin/cmcp --url $url tools list
  $build/bin/cmcp --url $url tools call add a=2 b=3
  $build/bin/cmcp --url $url resources read bench://128

  # stateless 2026-07-28 call
  curl -s $url -H 'Content-Type: application/json' \\
    -H 'Accept: application/json, text/event-stream' \\
    -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'

  # health and Prometheus metrics
  curl -s http://$listen/health
  curl -s http://$listen/metrics

  # load: the baseline profile for 10 seconds
  $build/bin/cmcp-bench --url $url --profile baseline --duration 10

  # the same tools over stdio
  $bin --stdio

Ctrl-C stops the server.
MSG
exec "$bin" --listen "$listen"
