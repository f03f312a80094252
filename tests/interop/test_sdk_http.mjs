// Interop: the official MCP TypeScript SDK (Client +
// StreamableHTTPClientTransport) against cmcp-everything --listen, run twice:
// the server answering legacy POSTs as SSE streams (its default) and as JSON
// (--json-response). Covers the lifecycle, every fixture feature, the
// server-to-client requests and notifications (on POST streams, or on the GET
// stream the SDK opens), 200 calls in flight, session termination, a GET
// stream resumed with Last-Event-ID (raw fetch), and one stateless call of
// the modern era (2026-07-28, raw fetch). Every wait is bounded.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

import {
  SERVER, REQ, PNG, sleep, waitFor, firstText, expectMcpError,
  recordingClient, recordWire,
} from './common.mjs';

const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';

// Rejects with what after ms unless promise settles first.
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Starts cmcp-everything --listen on a free loopback port (port 0: the
// server picks one and prints it); resolves to { proc, url, origin }.
function startServer(extra) {
  return new Promise((resolve, reject) => {
    const proc = spawn(SERVER, ['--listen', '127.0.0.1:0', ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not say where it listens: ${err}`));
    }, 10000);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      err += chunk;
      const m = /listening on (http:\/\/[^\s]+\/mcp)/.exec(err);
      if (m && timer) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], origin: new URL(m[1]).origin });
      }
      if (err.length > 65536) err = err.slice(-4096); // bounded
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening: ${err}`));
    });
  });
}

// Sends SIGTERM and waits (bounded) for the exit; SIGKILL after 10 s.
async function stopServer(srv) {
  if (!srv || srv.proc.exitCode !== null) return srv?.proc.exitCode;
  const done = new Promise((r) => srv.proc.once('exit', (code) => r(code)));
  srv.proc.kill('SIGTERM');
  try {
    return await within(done, 10000, 'server exit after SIGTERM');
  } catch (e) {
    srv.proc.kill('SIGKILL');
    throw e;
  }
}

// ---- a raw SSE reader over fetch ------------------------------------------

// Reads SSE events from a fetch response body as they arrive. next(ms)
// resolves to the next event { id, event, data } or null at the end of the
// stream; it rejects when ms pass first.
class SseReader {
  constructor(response) {
    this.reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    this.buf = '';
    this.events = [];
    this.done = false;
  }

  // Moves every complete event of buf into events.
  parse() {
    for (;;) {
      const m = /\r\n\r\n|\n\n|\r\r/.exec(this.buf);
      if (!m) return;
      const block = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const ev = { id: undefined, event: undefined, data: undefined };
      for (const line of block.split(/\r\n|\n|\r/)) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') ev.data = ev.data === undefined ? value : `${ev.data}\n${value}`;
        else if (field === 'id') ev.id = value;
        else if (field === 'event') ev.event = value;
      }
      if (ev.id !== undefined || ev.data !== undefined || ev.event !== undefined) {
        this.events.push(ev);
      }
    }
  }

  async next(ms) {
    const deadline = Date.now() + ms;
    while (this.events.length === 0) {
      if (this.done) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for an SSE event');
      if (!this.pending) this.pending = this.reader.read();
      const r = await within(this.pending, left, 'an SSE event');
      this.pending = undefined;
      if (r.done) this.done = true;
      else {
        this.buf += r.value;
        this.parse();
      }
    }
    return this.events.shift();
  }

  // The next event that carries a JSON-RPC message, parsed, with its id.
  async nextMessage(ms) {
    for (;;) {
      const ev = await this.next(ms);
      if (ev === null) return null;
      if (ev.data) return { id: ev.id, msg: JSON.parse(ev.data) };
    }
  }
}

// ---- raw legacy requests -----------------------------------------------------

// POSTs msg on session sid (or none) and returns { status, headers, messages }
// where messages are the JSON-RPC messages of the answer (JSON or SSE).
async function rawPost(url, sid, msg, extraHeaders = {}) {
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    ...extraHeaders,
  };
  if (sid) {
    headers['Mcp-Session-Id'] = sid;
    headers['MCP-Protocol-Version'] = LEGACY;
  }
  const res = await within(fetch(url, { method: 'POST', headers, body: JSON.stringify(msg) }),
    10000, `POST ${msg.method}`);
  const type = res.headers.get('content-type') ?? '';
  const messages = [];
  if (type.startsWith('text/event-stream')) {
    const sse = new SseReader(res);
    for (let i = 0; i < 1000; i++) {
      const m = await sse.nextMessage(10000);
      if (m === null) break;
      messages.push(m.msg);
    }
  } else {
    const text = await within(res.text(), 10000, 'POST body');
    if (text.length > 0) messages.push(JSON.parse(text));
  }
  return { status: res.status, headers: res.headers, messages };
}

// A raw legacy session: initialize + notifications/initialized. Returns sid.
async function rawSession(url) {
  const init = await rawPost(url, null, {
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: {
      protocolVersion: LEGACY, capabilities: {},
      clientInfo: { name: 'cmcp-raw', version: '1.0.0' },
    },
  });
  assert.equal(init.status, 200);
  const sid = init.headers.get('mcp-session-id');
  assert.ok(sid, 'initialize answered without Mcp-Session-Id');
  assert.equal(init.messages.at(-1).result.protocolVersion, LEGACY);
  const ack = await rawPost(url, sid, { jsonrpc: '2.0', method: 'notifications/initialized' });
  assert.equal(ack.status, 202);
  return sid;
}

// Opens the GET stream of session sid, optionally resuming after lastId.
async function rawGet(url, sid, lastId) {
  const ctl = new AbortController();
  const headers = {
    Accept: 'text/event-stream',
    'Mcp-Session-Id': sid,
    'MCP-Protocol-Version': LEGACY,
  };
  if (lastId) headers['Last-Event-ID'] = lastId;
  const res = await within(fetch(url, { headers, signal: ctl.signal }), 10000, 'GET stream');
  assert.equal(res.status, 200, `GET stream: ${res.status}`);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  return { res, ctl, sse: new SseReader(res) };
}

// Splits an SSE event id "STREAM-SEQ" (cmcp's layout) into numbers.
function eventSeq(id) {
  const m = /^(\d+)-(\d+)$/.exec(id ?? '');
  assert.ok(m, `event id ${id} is not STREAM-SEQ`);
  return { stream: Number(m[1]), seq: Number(m[2]) };
}

// ---- the suite, once per server mode ----------------------------------------

for (const mode of ['sse', 'json']) {
  describe(`SDK over Streamable HTTP, server in ${mode} mode`, () => {
    let srv;
    let client;
    let transport;
    let getStreams = 0; // GET streams the SDK opened that got a 200
    const logs = [];
    const updates = [];
    const samplingRequests = [];
    const elicitRequests = [];
    const wire = []; // every message the transport delivered, in order

    before(async () => {
      assert.ok(existsSync(SERVER), `${SERVER} not built`);
      srv = await startServer(mode === 'json' ? ['--json-response'] : []);
      client = recordingClient('cmcp-interop-http', {
        logs, updates, samplingRequests, elicitRequests,
      });
      // Counts the GET streams the SDK opens (after notifications/initialized),
      // so that no test starts before the session's stream is attached.
      const countingFetch = async (url, init) => {
        const res = await fetch(url, init);
        if ((init?.method ?? 'GET') === 'GET' && res.ok) getStreams++;
        return res;
      };
      transport = new StreamableHTTPClientTransport(new URL(srv.url), {
        fetch: countingFetch,
        reconnectionOptions: {
          initialReconnectionDelay: 100, maxReconnectionDelay: 1000,
          reconnectionDelayGrowFactor: 1.5, maxRetries: 3,
        },
      });
      await client.connect(transport, REQ);
      recordWire(transport, wire);
      await waitFor(() => getStreams >= 1, 5000, 'the SDK GET stream');
    });

    after(async () => {
      try {
        await client?.close();
      } finally {
        const code = await stopServer(srv);
        assert.equal(code, 0, 'server exit status after SIGTERM');
      }
    });

    test('initialize: 2025-11-25, a session id, the server and its capabilities', () => {
      // SDK 1.32 speaks up to 2025-11-25: the server takes the legacy era.
      assert.equal(transport.protocolVersion, LEGACY);
      assert.match(transport.sessionId ?? '', /^[\x21-\x7e]+$/, 'Mcp-Session-Id visible ASCII');
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
        'test_update_watched_resource', 'json_schema_2020_12_tool', 'greet',
      ]) {
        assert.ok(names.includes(want), `tools/list lacks ${want}`);
      }
      assert.equal(new Set(names).size, names.length, 'a tool is listed twice');
    });

    test('tools/call: text, image, embedded resource, mixed', async () => {
      let r = await client.callTool({ name: 'test_simple_text' }, undefined, REQ);
      assert.equal(firstText(r), 'This is a simple text response for testing.');
      assert.notEqual(r.isError, true);
      r = await client.callTool({ name: 'test_image_content', arguments: {} }, undefined, REQ);
      assert.deepEqual(r.content, [{ type: 'image', data: PNG, mimeType: 'image/png' }]);
      r = await client.callTool({ name: 'test_embedded_resource', arguments: {} }, undefined, REQ);
      assert.equal(r.content[0].resource.uri, 'test://embedded-resource');
      r = await client.callTool({ name: 'test_multiple_content_types', arguments: {} }, undefined, REQ);
      assert.deepEqual(r.content.map((c) => c.type), ['text', 'image', 'resource']);
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

    test('progress notifications arrive, in order', async () => {
      const seen = [];
      const mark = wire.length;
      const r = await client.callTool(
        { name: 'test_tool_with_progress', arguments: {} },
        undefined,
        { ...REQ, onprogress: (p) => seen.push(p) },
      );
      const token = Number(firstText(r));
      assert.ok(Number.isInteger(token), `token ${firstText(r)}`);
      const progressOf = () => wire.slice(mark).filter((m) =>
        m.method === 'notifications/progress' && m.params.progressToken === token);
      if (mode === 'sse') {
        // One POST stream carries the notifications, then the response.
        const mine = wire.slice(mark).filter((m) =>
          (m.method === 'notifications/progress' && m.params.progressToken === token) ||
          (m.id === token && 'result' in m));
        assert.deepEqual(mine.map((m) => (m.method ? m.params.progress : 'result')),
          [0, 50, 100, 'result']);
      } else {
        // JSON answers: the notifications come on the GET stream, whose
        // order against the POST's answer no protocol rule fixes.
        await waitFor(() => progressOf().length >= 3, 3000, 'three progress notifications');
      }
      const prog = progressOf();
      assert.deepEqual(prog.map((m) => m.params.progress), [0, 50, 100]);
      assert.equal(prog[1].params.message, 'Completed step 50 of 100');
      for (const m of prog) assert.equal(m.params.total, 100);
      // onprogress sees an in-order prefix (the SDK drops a notification
      // that comes after the response settled).
      assert.deepEqual(seen.map((p) => p.progress), [0, 50, 100].slice(0, seen.length));
      if (mode === 'sse') assert.ok(seen.length >= 2, `onprogress saw ${seen.length}`);
    });

    test('sampling round trip (server-to-client request over SSE)', async () => {
      const n = samplingRequests.length;
      const r = await client.callTool(
        { name: 'test_sampling', arguments: { prompt: 'What is 6 x 7?' } },
        undefined,
        REQ,
      );
      assert.equal(samplingRequests.length, n + 1, 'one sampling request');
      const p = samplingRequests[n];
      assert.equal(p.maxTokens, 100);
      assert.equal(p.messages[0].content.text, 'What is 6 x 7?');
      assert.equal(firstText(r), 'LLM response: echo of What is 6 x 7?');
    });

    test('elicitation round trip (server-to-client request over SSE)', async () => {
      const n = elicitRequests.length;
      const r = await client.callTool(
        { name: 'test_elicitation', arguments: { message: 'Who are you?' } },
        undefined,
        REQ,
      );
      assert.equal(elicitRequests.length, n + 1, 'one elicitation request');
      assert.equal(elicitRequests[n].message, 'Who are you?');
      assert.deepEqual(elicitRequests[n].requestedSchema.required, ['username', 'email']);
      assert.equal(
        firstText(r),
        'User response: action=accept, content={"username":"octocat","email":"octocat@example.com"}',
      );
    });

    test('logging: setLevel filters the messages a tool sends', async () => {
      await client.setLoggingLevel('info', REQ);
      let start = logs.length;
      await client.callTool({ name: 'test_tool_with_logging', arguments: {} }, undefined, REQ);
      await waitFor(() => logs.length >= start + 3, 3000, 'three log messages');
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
      await sleep(200);
      assert.equal(logs.length, start, 'info messages sent at level error');
    });

    test('resources: list, read, templates, unknown resource', async () => {
      const r = await client.listResources({}, REQ);
      const uris = r.resources.map((x) => x.uri);
      for (const u of ['test://static-text', 'test://static-binary', 'test://watched-resource']) {
        assert.ok(uris.includes(u), `resources/list lacks ${u}`);
      }
      let c = await client.readResource({ uri: 'test://static-text' }, REQ);
      assert.equal(c.contents[0].text, 'This is the content of the static text resource.');
      c = await client.readResource({ uri: 'test://static-binary' }, REQ);
      assert.equal(c.contents[0].blob, PNG);
      const t = await client.listResourceTemplates({}, REQ);
      assert.ok(t.resourceTemplates.some((x) => x.uriTemplate === 'test://template/{id}/data'));
      c = await client.readResource({ uri: 'test://template/4711/data' }, REQ);
      assert.deepEqual(JSON.parse(c.contents[0].text),
        { id: '4711', templateTest: true, data: 'Data for ID: 4711' });
      let err;
      try {
        await client.readResource({ uri: 'test://nonexistent-resource' }, REQ);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof McpError, `expected McpError, got ${err}`);
      assert.ok([-32002, -32602].includes(err.code), `code ${err.code}`);
    });

    test('resources: subscribe, an update on the GET stream, unsubscribe', async () => {
      const uri = 'test://watched-resource';
      const old = (await client.readResource({ uri }, REQ)).contents[0].text;
      await client.subscribeResource({ uri }, REQ);
      const start = updates.length;
      const mark = wire.length;
      await client.callTool({ name: 'test_update_watched_resource', arguments: {} }, undefined, REQ);
      await waitFor(() => updates.slice(start).some((u) => u.uri === uri), 5000,
        'notifications/resources/updated');
      assert.equal(wire.slice(mark).filter((m) =>
        m.method === 'notifications/resources/updated').length, 1, 'one update per change');
      const now = (await client.readResource({ uri }, REQ)).contents[0].text;
      assert.notEqual(now, old, 'content did not change');
      await client.unsubscribeResource({ uri }, REQ);
      const n = updates.length;
      await client.callTool({ name: 'test_update_watched_resource', arguments: {} }, undefined, REQ);
      await sleep(200);
      assert.equal(updates.length, n, 'update sent after unsubscribe');
    });

    test('prompts: list and get', async () => {
      const l = await client.listPrompts({}, REQ);
      const names = l.prompts.map((p) => p.name);
      for (const want of ['test_simple_prompt', 'test_prompt_with_arguments']) {
        assert.ok(names.includes(want), `prompts/list lacks ${want}`);
      }
      const g = await client.getPrompt(
        { name: 'test_prompt_with_arguments', arguments: { arg1: 'hello', arg2: 'world' } },
        REQ,
      );
      assert.deepEqual(g.messages, [{
        role: 'user',
        content: { type: 'text', text: "Prompt with arguments: arg1='hello', arg2='world'" },
      }]);
      await expectMcpError(
        () => client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'x' } }, REQ),
        ErrorCode.InvalidParams,
      );
    });

    test('completion of a prompt argument', async () => {
      const r = await client.complete({
        ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
        argument: { name: 'arg1', value: 'pa' },
      }, REQ);
      assert.deepEqual(r.completion.values, ['paris', 'park', 'party']);
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
      const results = await within(Promise.all(calls), 60000, '200 calls');
      results.forEach((r, i) => {
        assert.notEqual(r.isError, true, `call ${i}: ${JSON.stringify(r)}`);
        assert.equal(firstText(r), `Hello, caller-${i}!`);
      });
    });

    test('a GET stream dropped and resumed with Last-Event-ID loses and repeats nothing', async () => {
      const url = srv.url;
      const sid = await rawSession(url);
      const call = async (id, name) => {
        const r = await rawPost(url, sid, {
          jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} },
        });
        assert.equal(r.status, 200);
        assert.ok(r.messages.some((m) => m.id === id && 'result' in m), `${name}: ${JSON.stringify(r.messages)}`);
      };
      const sub = await rawPost(url, sid, {
        jsonrpc: '2.0', id: 2, method: 'resources/subscribe',
        params: { uri: 'test://watched-resource' },
      });
      assert.ok(sub.messages.some((m) => m.id === 2 && 'result' in m), JSON.stringify(sub.messages));

      // Connected: two updates arrive live; remember the last id.
      let get = await rawGet(url, sid);
      await call(3, 'test_update_watched_resource');
      await call(4, 'test_update_watched_resource');
      const live = [];
      let lastId;
      for (let i = 0; i < 50 && live.length < 2; i++) {
        const ev = await get.sse.next(5000);
        assert.notEqual(ev, null, 'GET stream ended');
        if (ev.id) lastId = ev.id;
        if (ev.data) live.push({ id: ev.id, msg: JSON.parse(ev.data) });
      }
      assert.deepEqual(live.map((e) => e.msg.method),
        ['notifications/resources/updated', 'notifications/resources/updated']);
      const lastSeen = eventSeq(lastId);

      // Disconnected: three events the client misses, of two kinds.
      get.ctl.abort();
      await sleep(100);
      await call(5, 'test_update_watched_resource');
      await call(6, 'test_trigger_tool_change');
      await call(7, 'test_update_watched_resource');

      // Resumed: exactly the three, in order, on the same stream, then live.
      get = await rawGet(url, sid, lastId);
      const missed = [];
      for (let i = 0; i < 50 && missed.length < 3; i++) {
        const m = await get.sse.nextMessage(5000);
        assert.notEqual(m, null, 'resumed stream ended');
        missed.push(m);
      }
      assert.deepEqual(missed.map((e) => e.msg.method), [
        'notifications/resources/updated',
        'notifications/tools/list_changed',
        'notifications/resources/updated',
      ]);
      let prev = lastSeen.seq;
      for (const e of missed) {
        const { stream, seq } = eventSeq(e.id);
        assert.equal(stream, lastSeen.stream, `event ${e.id} from another stream`);
        assert.ok(seq > prev, `event ${e.id} out of order or repeated`);
        prev = seq;
      }
      let extra;
      try {
        extra = await get.sse.nextMessage(300);
      } catch {
        extra = undefined; // nothing more: the expected outcome
      }
      assert.equal(extra, undefined, `an extra event: ${JSON.stringify(extra)}`);
      await call(8, 'test_trigger_tool_change'); // restores the tool list
      const after8 = await get.sse.nextMessage(5000);
      assert.equal(after8.msg.method, 'notifications/tools/list_changed');
      assert.ok(eventSeq(after8.id).seq > prev, 'live event after the replay');
      get.ctl.abort();
      const del = await fetch(url, {
        method: 'DELETE', headers: { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': LEGACY },
      });
      assert.equal(del.status, 200);
    });

    test('modern era: a stateless tools/call gets resultType "complete"', async () => {
      const meta = {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientInfo': { name: 'cmcp-raw', version: '1.0.0' },
        'io.modelcontextprotocol/clientCapabilities': {},
      };
      const r = await rawPost(srv.url, null, {
        jsonrpc: '2.0', id: 'modern-1', method: 'tools/call',
        params: { _meta: meta, name: 'test_simple_text', arguments: {} },
      }, {
        'MCP-Protocol-Version': MODERN,
        'Mcp-Method': 'tools/call',
        'Mcp-Name': 'test_simple_text',
      });
      assert.equal(r.status, 200, JSON.stringify(r.messages));
      assert.equal(r.headers.get('mcp-session-id'), null, 'a session on a stateless request');
      const res = r.messages.find((m) => m.id === 'modern-1');
      assert.ok(res?.result, JSON.stringify(r.messages));
      assert.equal(res.result.resultType, 'complete');
      assert.equal(firstText(res.result), 'This is a simple text response for testing.');
      // The same call without its Mcp-Name header is refused (400).
      const bad = await rawPost(srv.url, null, {
        jsonrpc: '2.0', id: 'modern-2', method: 'tools/call',
        params: { _meta: meta, name: 'test_simple_text', arguments: {} },
      }, { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call' });
      assert.equal(bad.status, 400);
    });

    test('terminateSession (DELETE), then the old session id is 404', async () => {
      const sid = transport.sessionId;
      assert.ok(sid);
      await transport.terminateSession();
      assert.equal(transport.sessionId, undefined);
      const r = await within(fetch(srv.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json, text/event-stream',
          'Mcp-Session-Id': sid,
          'MCP-Protocol-Version': LEGACY,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'ping' }),
      }), 10000, 'POST on the ended session');
      assert.equal(r.status, 404);
      await r.body?.cancel();
    });
  });
}
