// Shared by the interop tests: where the binaries are, bounded waits, and an
// SDK Client that answers sampling and elicitation and records what the
// server sends it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN =
  process.env.CMCP_BIN ?? path.join(here, '..', '..', 'build', 'bin');
export const SERVER = path.join(BIN, 'cmcp-everything');
export const REQ = { timeout: 10000 }; // per-request bound
export const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves once pred() holds, polling every 10 ms; rejects after ms.
export async function waitFor(pred, ms, what) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// The text of the first text block of a tool result.
export function firstText(result) {
  const block = (result.content ?? []).find((c) => c.type === 'text');
  assert.ok(block, `no text content in ${JSON.stringify(result)}`);
  return block.text;
}

// Runs fn, which must fail with an McpError of the given code; returns it.
export async function expectMcpError(fn, code) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof McpError, `expected McpError, got ${err}`);
  assert.equal(err.code, code, `error: ${err.message}`);
  return err;
}

// A Client declaring sampling and form elicitation, answering both, and
// recording into rec (arrays logs, updates, samplingRequests,
// elicitRequests) what the server sends.
export function recordingClient(name, rec) {
  const client = new Client(
    { name, version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} } } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    rec.samplingRequests.push(req.params);
    const prompt = req.params.messages[0]?.content?.text ?? '';
    return {
      role: 'assistant',
      content: { type: 'text', text: `echo of ${prompt}` },
      model: 'interop-model',
      stopReason: 'endTurn',
    };
  });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    rec.elicitRequests.push(req.params);
    return {
      action: 'accept',
      content: { username: 'octocat', email: 'octocat@example.com' },
    };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    rec.logs.push(n.params);
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    rec.updates.push(n.params);
  });
  return client;
}

// Appends every message the connected transport delivers to wire, in order.
export function recordWire(transport, wire) {
  const deliver = transport.onmessage;
  transport.onmessage = (msg, extra) => {
    wire.push(msg);
    deliver?.(msg, extra);
  };
}
