// bench/http/ts-sdk-server.mjs: the official TypeScript SDK 1.x
// (@modelcontextprotocol/sdk, as installed for the interop tests) serving the
// same `echo` tool as cmcpd over Streamable HTTP at /mcp, the baseline of
// scripts/bench-http.sh.
//
//   node bench/http/ts-sdk-server.mjs PORT             stateless (default)
//   node bench/http/ts-sdk-server.mjs PORT --stateful  sessions + GET streams
//
// Stateless is the SDK's documented idiom: a fresh McpServer and
// StreamableHTTPServerTransport per request, sessionIdGenerator undefined,
// enableJsonResponse true. Such a transport accepts a tools/call without an
// initialize first (it checks no session), so a client sends just the call.
// Stateful keeps one transport per session (randomUUID ids), created by an
// initialize POST; later POSTs, the GET stream and DELETE find it by the
// Mcp-Session-Id header. Listens on 127.0.0.1 only.
import { createServer } from 'node:http';
import {
  StreamableHTTPServerTransport, refuse, require, statefulHandler,
} from './ts-common.mjs';

const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { z } = require('zod');

const port = Number(process.argv[2] || 18082);
const stateful = process.argv.includes('--stateful');

// One McpServer with the echo tool: {"text": ...} comes back as one text
// content block, as cmcpd's echo does.
function makeServer() {
  const server = new McpServer({ name: 'ts-echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns the given text unchanged, as one text content block.',
      inputSchema: { text: z.string().describe('The text to send back') },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
}

async function handleStateless(req, res) {
  if (req.method !== 'POST') {
    refuse(res, 405, 'Method not allowed.');
    return;
  }
  const server = makeServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
}

const handleStateful = statefulHandler(makeServer);

const http = createServer((req, res) => {
  const url = req.url || '';
  if (url !== '/mcp' && !url.startsWith('/mcp?')) {
    refuse(res, 404, 'Not found');
    return;
  }
  const handle = stateful ? handleStateful : handleStateless;
  handle(req, res).catch((e) => {
    if (!res.headersSent) refuse(res, 500, String(e && e.message));
  });
});
http.keepAliveTimeout = 60000;
http.headersTimeout = 65000;
http.requestTimeout = 0;
http.listen(port, '127.0.0.1', () => {
  process.stderr.write(`ts-sdk-server: ${stateful ? 'stateful' : 'stateless'} on ` +
    `http://127.0.0.1:${port}/mcp\n`);
});
