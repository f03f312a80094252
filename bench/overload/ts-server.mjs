// bench/overload/ts-server.mjs: the official TypeScript SDK 1.x
// (@modelcontextprotocol/sdk, as installed for the interop tests) serving
// what cmcpd serves to cmcp-bench's profiles, over Streamable HTTP at /mcp
// with stateful sessions (the SDK 1.x speaks up to 2025-11-25):
//
//   tools/call     echo {"text"}: the text back as one text content block
//   resources/list bench://128, bench://512, bench://1024, bench://2048,
//                  bench://4096 (text/plain of exactly that many bytes)
//   resources/read those, and the template bench://blob/{bytes} (0..65536)
//   prompts/get    echo {"text"}: one user message holding the text
//
//   node bench/overload/ts-server.mjs PORT
//
// One McpServer and StreamableHTTPServerTransport per session (the SDK's
// documented stateful idiom, randomUUID session ids), made by an initialize
// POST; later POSTs, the GET stream and DELETE find it by Mcp-Session-Id.
// Answers are JSON (enableJsonResponse), as cmcpd answers a plain request.
// The texts are cut from one made at start-up, as in cmcpd. Listens on
// 127.0.0.1 only.
import { createServer } from 'node:http';
import { refuse, require, statefulHandler } from '../http/ts-common.mjs';

const { McpServer, ResourceTemplate } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { z } = require('zod');

const port = Number(process.argv[2] || 18083);
const BLOB_MAX = 65536;
const SIZES = [128, 512, 1024, 2048, 4096];

// Letters and digits, a newline every 64 bytes: the text of cmcpd's blob.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const BLOB = Array.from({ length: BLOB_MAX },
  (_, i) => (i % 64 === 63 ? '\n' : ALPHABET[i % ALPHABET.length])).join('');
const SIZED = new Map(SIZES.map((n) => [n, BLOB.slice(0, n)]));

// Registers the echo tool, the resources, the template and the prompt.
function makeServer() {
  const server = new McpServer({ name: 'ts-bench', version: '1.0.0' });
  server.registerTool(
    'echo',
    {
      title: 'Echo',
      description: 'Returns the given text unchanged, as one text content block.',
      inputSchema: { text: z.string().describe('The text to send back') },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  for (const n of SIZES) {
    const uri = `bench://${n}`;
    server.registerResource(
      `bench-${n}`, uri,
      { title: `${n} bytes`, description: `${n} bytes of text, for load tests`,
        mimeType: 'text/plain', size: n },
      async () => ({ contents: [{ uri, mimeType: 'text/plain', text: SIZED.get(n) }] }),
    );
  }
  server.registerResource(
    'bench-blob', new ResourceTemplate('bench://blob/{bytes}', { list: undefined }),
    { title: 'Text of any size', description: '{bytes} bytes of text (0 to 65536), for load tests',
      mimeType: 'text/plain' },
    async (uri, { bytes }) => {
      const n = /^[0-9]{1,9}$/.test(bytes) ? Number(bytes) : -1;
      if (n < 0 || n > BLOB_MAX) throw new Error(`Resource not found: ${uri.href}`);
      return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: BLOB.slice(0, n) }] };
    },
  );
  server.registerPrompt(
    'echo',
    { title: 'Echo', description: 'One user message holding the given text.',
      argsSchema: { text: z.string().describe('The text of the message') } },
    ({ text }) => ({ description: 'The given text, echoed',
      messages: [{ role: 'user', content: { type: 'text', text } }] }),
  );
  return server;
}

const handle = statefulHandler(makeServer);

const http = createServer((req, res) => {
  const url = req.url || '';
  if (url === '/health') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  if (url !== '/mcp' && !url.startsWith('/mcp?')) {
    refuse(res, 404, 'Not found');
    return;
  }
  handle(req, res).catch((e) => {
    if (!res.headersSent) refuse(res, 500, String(e && e.message));
  });
});
http.keepAliveTimeout = 60000;
http.headersTimeout = 65000;
http.requestTimeout = 0;
http.listen(port, '127.0.0.1', () => {
  process.stderr.write(`ts-server: stateful on http://127.0.0.1:${port}/mcp\n`);
});
