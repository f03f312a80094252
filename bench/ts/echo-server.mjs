// bench/ts/echo-server.mjs: the baseline for bench_stdio. A minimal stdio
// MCP server written with the official TypeScript SDK (McpServer, zod input
// schema), serving the same `echo` tool as cmcpd: {"text": ...} comes back
// as one text content block.
//
//   node bench/ts/echo-server.mjs
//
// The SDK is the one the interop tests install (tests/interop/node_modules,
// see scripts/install-deps.sh); SDK and zod are loaded through one require
// so that they share a zod instance.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const interop = path.join(here, '..', '..', 'tests', 'interop', 'package.json');
const require = createRequire(interop);

const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StdioServerTransport } = require('@modelcontextprotocol/sdk/server/stdio.js');
const { z } = require('zod');

const server = new McpServer({ name: 'ts-echo', version: '1.0.0' });

server.registerTool(
  'echo',
  {
    title: 'Echo',
    description: 'Returns the given text unchanged, as one text content block.',
    inputSchema: { text: z.string().describe('The text to send back') },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  },
  async ({ text }) => ({ content: [{ type: 'text', text }] }),
);

await server.connect(new StdioServerTransport());
