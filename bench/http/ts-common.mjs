// The parts the TypeScript SDK benchmark servers share (bench/http/
// ts-sdk-server.mjs, bench/overload/ts-server.mjs): the SDK 1.32.2 from
// tests/interop/node_modules, JSON-RPC refusals, a bounded body reader and
// the session routing of a stateful Streamable HTTP server.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const interop = path.join(here, '..', '..', 'tests', 'interop', 'package.json');
export const require = createRequire(interop);

const { StreamableHTTPServerTransport } = require(
  '@modelcontextprotocol/sdk/server/streamableHttp.js');
const { isInitializeRequest } = require('@modelcontextprotocol/sdk/types.js');
export { StreamableHTTPServerTransport };

// Answers res with a JSON-RPC error and an HTTP status.
export function refuse(res, status, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

// Reads and parses a JSON request body (bounded to 4 MiB).
export function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 4 * 1024 * 1024) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

// A request handler for stateful sessions: routes a request to its
// session's transport, or makes a session (a new McpServer from
// makeServer()) from an initialize POST.
export function statefulHandler(makeServer) {
  const sessions = new Map();
  return async function handle(req, res) {
    const sid = req.headers['mcp-session-id'];
    if (sid !== undefined) {
      const transport = sessions.get(sid);
      if (!transport) {
        refuse(res, 404, 'Session not found');
        return;
      }
      await transport.handleRequest(req, res);
      return;
    }
    if (req.method !== 'POST') {
      refuse(res, 400, 'Bad Request: No valid session ID provided');
      return;
    }
    const body = await readJson(req);
    if (!isInitializeRequest(body)) {
      refuse(res, 400, 'Bad Request: No valid session ID provided');
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await makeServer().connect(transport);
    await transport.handleRequest(req, res, body);
  };
}
