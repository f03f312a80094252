// bench/http/ts2-server.mjs: the official TypeScript SDK 2.x
// (@modelcontextprotocol/server + @modelcontextprotocol/node, pinned in
// bench/http/package.json) serving the same `echo` tool as cmcpd over
// Streamable HTTP at /mcp, for scripts/bench-http.sh.
//
//   node bench/http/ts2-server.mjs PORT
//
// The SDK's serving entry createMcpHandler: a fresh McpServer per request
// from the factory below, 2026-07-28 stateless requests on the modern leg
// (responseMode 'json': one JSON body, as cmcpd answers), 2025-era requests
// on its stateless legacy leg. Wrapped for node:http with toNodeHandler and
// the loopback Host/Origin guards the SDK's documentation puts in front.
// Listens on 127.0.0.1 only.
import { createServer } from 'node:http';
import {
  localhostHostValidation,
  localhostOriginValidation,
  toNodeHandler,
} from '@modelcontextprotocol/node';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import * as z from 'zod/v4';

const port = Number(process.argv[2] || 18083);

// One McpServer with the echo tool: {"text": ...} comes back as one text
// content block, as cmcpd's echo does.
function makeServer() {
  const server = new McpServer({ name: 'ts2-echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns the given text unchanged, as one text content block.',
      inputSchema: z.object({ text: z.string().describe('The text to send back') }),
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

const handler = createMcpHandler(makeServer, {
  responseMode: 'json',
  onerror: (e) => process.stderr.write(`ts2-server: ${e && e.message}\n`),
});
const serve = toNodeHandler(handler);
const validateHost = localhostHostValidation();
const validateOrigin = localhostOriginValidation();

const http = createServer((req, res) => {
  if (!validateHost(req, res) || !validateOrigin(req, res)) return;
  const url = req.url || '';
  if (url !== '/mcp' && !url.startsWith('/mcp?')) {
    res.writeHead(404).end();
    return;
  }
  Promise.resolve(serve(req, res)).catch((e) => {
    if (!res.headersSent) res.writeHead(500).end(String(e && e.message));
  });
});
http.keepAliveTimeout = 60000;
http.headersTimeout = 65000;
http.requestTimeout = 0;
http.listen(port, '127.0.0.1', () => {
  process.stderr.write(`ts2-server: http://127.0.0.1:${port}/mcp\n`);
});
