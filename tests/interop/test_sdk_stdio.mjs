// Interop: the official MCP TypeScript SDK (Client + StdioClientTransport)
// against cmcp-everything --stdio. Covers the lifecycle, every feature the
// fixture server has, server-to-client requests (sampling, elicitation),
// notifications (progress, logging, resource updates) and 200 calls in
// flight at once. Every wait is bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

import {
  SERVER, REQ, PNG, waitFor, firstText, expectMcpError, recordingClient,
  recordWire,
} from './common.mjs';

let client;
let transport;
const logs = [];
const updates = [];
const samplingRequests = [];
const elicitRequests = [];
const wire = []; // every message the transport delivered, in order

before(async () => {
  assert.ok(existsSync(SERVER), `${SERVER} not built`);
  client = recordingClient('cmcp-interop', {
    logs, updates, samplingRequests, elicitRequests,
  });
  transport = new StdioClientTransport({
    command: SERVER,
    args: ['--stdio'],
    stderr: 'inherit',
  });
  await client.connect(transport, REQ);
  recordWire(transport, wire);
});

after(async () => {
  await client?.close();
});

test('initialize negotiates a version and names the server', () => {
  const info = client.getServerVersion();
  assert.equal(info.name, 'cmcp-everything');
  const caps = client.getServerCapabilities();
  assert.ok(caps.tools, 'tools capability');
  assert.ok(caps.resources?.subscribe, 'resources.subscribe capability');
  assert.ok(caps.prompts, 'prompts capability');
  assert.ok(caps.logging, 'logging capability');
  assert.ok(caps.completions, 'completions capability');
});

test('ping', async () => {
  const r = await client.ping(REQ);
  assert.deepEqual(Object.keys(r).filter((k) => k !== '_meta'), []);
});

test('tools/list walks every page', async () => {
  const names = [];
  let cursor;
  for (let page = 0; page < 100; page++) {
    const r = await client.listTools(cursor ? { cursor } : {}, REQ);
    for (const t of r.tools) {
      assert.equal(typeof t.description, 'string', `${t.name} description`);
      assert.equal(t.inputSchema?.type, 'object', `${t.name} inputSchema`);
      names.push(t.name);
    }
    cursor = r.nextCursor;
    if (!cursor) break;
  }
  assert.equal(cursor, undefined, 'more than 100 pages');
  for (const want of [
    'test_simple_text', 'test_image_content', 'test_audio_content',
    'test_embedded_resource', 'test_multiple_content_types',
    'test_tool_with_logging', 'test_tool_with_progress',
    'test_error_handling', 'test_sampling', 'test_elicitation',
    'json_schema_2020_12_tool', 'greet',
  ]) {
    assert.ok(names.includes(want), `tools/list lacks ${want}`);
  }
  assert.equal(new Set(names).size, names.length, 'a tool is listed twice');
  const schemaTool = (await client.listTools({}, REQ)).tools.find(
    (t) => t.name === 'json_schema_2020_12_tool',
  );
  if (schemaTool) {
    assert.equal(schemaTool.inputSchema.additionalProperties, false);
    assert.ok(schemaTool.inputSchema.$defs?.address, '$defs kept');
  }
});

test('tools/call: text, image, audio, embedded resource, mixed', async () => {
  let r = await client.callTool({ name: 'test_simple_text' }, undefined, REQ);
  assert.equal(firstText(r), 'This is a simple text response for testing.');
  assert.notEqual(r.isError, true);

  r = await client.callTool({ name: 'test_image_content', arguments: {} }, undefined, REQ);
  assert.deepEqual(r.content, [{ type: 'image', data: PNG, mimeType: 'image/png' }]);

  r = await client.callTool({ name: 'test_audio_content', arguments: {} }, undefined, REQ);
  assert.equal(r.content[0].type, 'audio');
  assert.equal(r.content[0].mimeType, 'audio/wav');
  assert.ok(r.content[0].data.startsWith('UklGR'));

  r = await client.callTool({ name: 'test_embedded_resource', arguments: {} }, undefined, REQ);
  assert.deepEqual(r.content[0], {
    type: 'resource',
    resource: {
      uri: 'test://embedded-resource',
      mimeType: 'text/plain',
      text: 'This is an embedded resource content.',
    },
  });

  r = await client.callTool({ name: 'test_multiple_content_types', arguments: {} }, undefined, REQ);
  assert.deepEqual(r.content.map((c) => c.type), ['text', 'image', 'resource']);
  assert.deepEqual(JSON.parse(r.content[2].resource.text), { test: 'data', value: 123 });
});

test('tools/call: a tool error is a result with isError', async () => {
  const r = await client.callTool({ name: 'test_error_handling', arguments: {} }, undefined, REQ);
  assert.equal(r.isError, true);
  assert.equal(firstText(r), 'This tool intentionally returns an error for testing');
});

test('tools/call: an unknown tool is a -32602 protocol error', async () => {
  const err = await expectMcpError(
    () => client.callTool({ name: 'no_such_tool', arguments: {} }, undefined, REQ),
    ErrorCode.InvalidParams,
  );
  assert.match(err.message, /no_such_tool/);
});

test('progress notifications reach onprogress in order', async () => {
  const seen = [];
  const mark = wire.length;
  const r = await client.callTool(
    { name: 'test_tool_with_progress', arguments: {} },
    undefined,
    { ...REQ, onprogress: (p) => seen.push(p) },
  );
  // The result is the progressToken the SDK put in _meta: a number.
  const token = Number(firstText(r));
  assert.ok(Number.isInteger(token), `token ${firstText(r)}`);
  // On the wire: all three notifications, in order, before the response.
  const mine = wire.slice(mark).filter((m) =>
    (m.method === 'notifications/progress' && m.params.progressToken === token) ||
    (m.id === token && 'result' in m));
  assert.deepEqual(mine.map((m) => m.method ? m.params.progress : 'result'),
    [0, 50, 100, 'result']);
  assert.equal(mine[1].params.message, 'Completed step 50 of 100');
  // The SDK runs notification handlers a microtask late but settles the
  // response at once, so a last notification that arrives in the same read
  // as the response can miss onprogress: expect an in-order prefix.
  assert.ok(seen.length >= 2, `onprogress saw ${seen.length}`);
  assert.deepEqual(seen.map((p) => p.progress), [0, 50, 100].slice(0, seen.length));
  for (const p of seen) assert.equal(p.total, 100);
});

test('sampling round trip', async () => {
  const before = samplingRequests.length;
  const r = await client.callTool(
    { name: 'test_sampling', arguments: { prompt: 'What is 6 x 7?' } },
    undefined,
    REQ,
  );
  assert.equal(samplingRequests.length, before + 1, 'one sampling request');
  const p = samplingRequests[before];
  assert.equal(p.maxTokens, 100);
  assert.equal(p.messages[0].role, 'user');
  assert.equal(p.messages[0].content.text, 'What is 6 x 7?');
  assert.equal(firstText(r), 'LLM response: echo of What is 6 x 7?');
});

test('elicitation round trip', async () => {
  const before = elicitRequests.length;
  const r = await client.callTool(
    { name: 'test_elicitation', arguments: { message: 'Who are you?' } },
    undefined,
    REQ,
  );
  assert.equal(elicitRequests.length, before + 1, 'one elicitation request');
  const p = elicitRequests[before];
  assert.equal(p.message, 'Who are you?');
  assert.deepEqual(p.requestedSchema.required, ['username', 'email']);
  assert.equal(
    firstText(r),
    'User response: action=accept, content={"username":"octocat","email":"octocat@example.com"}',
  );
});

test('logging: setLevel filters the messages a tool sends', async () => {
  await client.setLoggingLevel('info', REQ);
  let start = logs.length;
  await client.callTool({ name: 'test_tool_with_logging', arguments: {} }, undefined, REQ);
  await waitFor(() => logs.length >= start + 3, 2000, 'three log messages');
  assert.deepEqual(
    logs.slice(start, start + 3).map((l) => [l.level, l.data]),
    [
      ['info', 'Tool execution started'],
      ['info', 'Tool processing data'],
      ['info', 'Tool execution completed'],
    ],
  );
  await client.setLoggingLevel('error', REQ);
  start = logs.length;
  await client.callTool({ name: 'test_tool_with_logging', arguments: {} }, undefined, REQ);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(logs.length, start, 'info messages sent at level error');
});

test('resources: list, read text and blob', async () => {
  const r = await client.listResources({}, REQ);
  const uris = r.resources.map((x) => x.uri);
  for (const u of ['test://static-text', 'test://static-binary', 'test://watched-resource']) {
    assert.ok(uris.includes(u), `resources/list lacks ${u}`);
  }
  assert.ok(!uris.some((u) => u.includes('{')), 'a template in resources/list');

  let c = await client.readResource({ uri: 'test://static-text' }, REQ);
  assert.deepEqual(c.contents, [{
    uri: 'test://static-text',
    mimeType: 'text/plain',
    text: 'This is the content of the static text resource.',
  }]);
  c = await client.readResource({ uri: 'test://static-binary' }, REQ);
  assert.equal(c.contents[0].blob, PNG);
  assert.equal(c.contents[0].mimeType, 'image/png');
});

test('resources: templates list and a read through the template', async () => {
  const t = await client.listResourceTemplates({}, REQ);
  assert.ok(
    t.resourceTemplates.some((x) => x.uriTemplate === 'test://template/{id}/data'),
    'template not listed',
  );
  const c = await client.readResource({ uri: 'test://template/4711/data' }, REQ);
  assert.equal(c.contents[0].uri, 'test://template/4711/data');
  assert.equal(c.contents[0].mimeType, 'application/json');
  assert.deepEqual(JSON.parse(c.contents[0].text), {
    id: '4711',
    templateTest: true,
    data: 'Data for ID: 4711',
  });
});

test('resources: an unknown resource is a protocol error', async () => {
  let err;
  try {
    await client.readResource({ uri: 'test://nonexistent-resource' }, REQ);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof McpError, `expected McpError, got ${err}`);
  // 2025-11-25 names -32002 (resource not found); SEP-2164 moves to -32602.
  assert.ok([-32002, -32602].includes(err.code), `code ${err.code}`);
});

test('resources: subscribe, then an update notification', async () => {
  const uri = 'test://watched-resource';
  const before = (await client.readResource({ uri }, REQ)).contents[0].text;
  await client.subscribeResource({ uri }, REQ);
  const start = updates.length;
  await client.callTool({ name: 'test_update_watched_resource', arguments: {} }, undefined, REQ);
  await waitFor(() => updates.slice(start).some((u) => u.uri === uri), 5000,
    'notifications/resources/updated');
  const afterText = (await client.readResource({ uri }, REQ)).contents[0].text;
  assert.notEqual(afterText, before, 'content did not change');
  await client.unsubscribeResource({ uri }, REQ);
  const mark = updates.length;
  await client.callTool({ name: 'test_update_watched_resource', arguments: {} }, undefined, REQ);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(updates.length, mark, 'update sent after unsubscribe');
});

test('prompts: list and get with arguments', async () => {
  const l = await client.listPrompts({}, REQ);
  const names = l.prompts.map((p) => p.name);
  for (const want of ['test_simple_prompt', 'test_prompt_with_arguments',
    'test_prompt_with_embedded_resource', 'test_prompt_with_image']) {
    assert.ok(names.includes(want), `prompts/list lacks ${want}`);
  }
  const withArgs = l.prompts.find((p) => p.name === 'test_prompt_with_arguments');
  assert.deepEqual(withArgs.arguments.map((a) => [a.name, a.required]),
    [['arg1', true], ['arg2', true]]);

  let g = await client.getPrompt(
    { name: 'test_prompt_with_arguments', arguments: { arg1: 'hello', arg2: 'world' } },
    REQ,
  );
  assert.deepEqual(g.messages, [{
    role: 'user',
    content: { type: 'text', text: "Prompt with arguments: arg1='hello', arg2='world'" },
  }]);
  g = await client.getPrompt(
    { name: 'test_prompt_with_embedded_resource', arguments: { resourceUri: 'test://x' } },
    REQ,
  );
  assert.equal(g.messages[0].content.type, 'resource');
  assert.equal(g.messages[0].content.resource.uri, 'test://x');
  g = await client.getPrompt({ name: 'test_prompt_with_image' }, REQ);
  assert.equal(g.messages[0].content.data, PNG);
});

test('prompts: a missing required argument is -32602', async () => {
  const err = await expectMcpError(
    () => client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'x' } }, REQ),
    ErrorCode.InvalidParams,
  );
  assert.match(err.message, /arg2/);
});

test('completion of a prompt argument and a template variable', async () => {
  let r = await client.complete({
    ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
    argument: { name: 'arg1', value: 'pa' },
  }, REQ);
  assert.deepEqual(r.completion.values, ['paris', 'park', 'party']);
  assert.equal(r.completion.total, 3);
  r = await client.complete({
    ref: { type: 'ref/resource', uri: 'test://template/{id}/data' },
    argument: { name: 'id', value: '12' },
  }, REQ);
  assert.deepEqual(r.completion.values, ['123']);
});

test('200 concurrent tool calls are all answered correctly', async () => {
  const calls = [];
  for (let i = 0; i < 200; i++) {
    calls.push(client.callTool(
      { name: 'greet', arguments: { name: `caller-${i}` } },
      undefined,
      { timeout: 30000 },
    ));
  }
  const results = await Promise.all(calls);
  results.forEach((r, i) => {
    assert.notEqual(r.isError, true, `call ${i}: ${JSON.stringify(r)}`);
    assert.equal(firstText(r), `Hello, caller-${i}!`);
  });
});
