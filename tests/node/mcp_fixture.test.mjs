// End-to-end tests of the taskman MCP library through its conformance fixture server, with the
// official TypeScript SDK client over stdio and Streamable HTTP, plus the HTTP error paths the
// Streamable HTTP transport must answer with specific status codes.
//
//   MCP_FIXTURE_BIN=build/tests/conformance/mcp_conformance_fixture node --test tests/node/
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import readline from 'node:readline';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LoggingMessageNotificationSchema,
  CreateMessageRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const FIXTURE = process.env.MCP_FIXTURE_BIN;
if (!FIXTURE) throw new Error('set MCP_FIXTURE_BIN to the built mcp_conformance_fixture');

// Starts the fixture in HTTP mode; resolves once it prints its port (no polling, no sleeps).
async function startHttpFixture(args = []) {
  const proc = spawn(FIXTURE, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: proc.stdout });
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`fixture exited early with ${code}`);
  });
  const port = await Promise.race([
    (async () => {
      for await (const line of lines) {
        const m = /^LISTENING port=(\d+)$/.exec(line);
        if (m) return Number(m[1]);
      }
      throw new Error('fixture closed stdout before listening');
    })(),
    exited,
  ]);
  exited.catch(() => {});
  return {
    port,
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    async stop() {
      if (proc.exitCode !== null) return;
      const done = once(proc, 'exit');
      proc.kill('SIGTERM');
      const [code, signal] = await done;
      assert.equal(code, 0, `fixture exit code (signal ${signal})`);
    },
  };
}

// A raw HTTP request (node:http lets us set Host, which fetch forbids).
function rawRequest(port, { method = 'POST', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}


// Opens a streamed request and yields SSE events ({id, data, retry}) as they arrive.
function openSse(port, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method, headers }, (res) => {
      res.setEncoding('utf8');
      let buffer = '';
      const queue = [];
      let wake = null;
      let ended = false;
      res.on('data', (c) => {
        buffer += c;
        let i;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const raw = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const ev = {};
          for (const line of raw.split('\n')) {
            const k = line.slice(0, line.indexOf(':'));
            const v = line.slice(line.indexOf(':') + 1).replace(/^ /, '');
            ev[k] = v;
          }
          queue.push(ev);
        }
        wake?.();
      });
      res.on('end', () => {
        ended = true;
        wake?.();
      });
      async function next() {
        while (queue.length === 0 && !ended) await new Promise((r) => (wake = r));
        return queue.shift(); // undefined once the stream ended
      }
      resolve({ status: res.statusCode, headers: res.headers, next, close: () => req.destroy() });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const JSON_HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
};
const initBody = (id = 1) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });

async function rawSession(port) {
  const r = await rawRequest(port, { headers: JSON_HEADERS, body: initBody() });
  assert.equal(r.status, 200, r.body);
  const sid = r.headers['mcp-session-id'];
  assert.match(sid, /^[0-9a-f]{32}$/);
  return sid;
}

// Exercises one connected SDK client: tools, a tool call, logging and progress notifications,
// and a server->client request (sampling).
async function exerciseClient(client, { lastProgressMayBeLost = false } = {}) {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ['test_simple_text', 'test_tool_with_logging', 'test_tool_with_progress', 'test_sampling']) {
    assert.ok(names.includes(n), `tools/list has ${n}`);
  }
  for (const t of tools) {
    assert.ok(t.description && t.description.length > 0, `${t.name} has a description`);
    assert.equal(typeof t.inputSchema, 'object');
  }

  const simple = await client.callTool({ name: 'test_simple_text', arguments: {} });
  assert.deepEqual(simple.content, [{ type: 'text', text: 'This is a simple text response for testing.' }]);
  assert.notEqual(simple.isError, true);

  const failed = await client.callTool({ name: 'test_error_handling', arguments: {} });
  assert.equal(failed.isError, true);

  // Unknown tool: a JSON-RPC error (-32602), not an isError result.
  await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => e.code === -32602);

  const logs = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
  await client.setLoggingLevel('debug');
  const logged = await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
  assert.notEqual(logged.isError, true);
  // Notifications travel before the response on the same stream, so they are all here now.
  assert.deepEqual(
    logs.map((l) => l.data),
    ['Tool execution started', 'Tool processing data', 'Tool execution completed'],
  );

  // The threshold is respected: at "error", the info-level lines are not sent.
  await client.setLoggingLevel('error');
  logs.length = 0;
  await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
  assert.deepEqual(logs, []);

  const progress = [];
  await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
    onprogress: (p) => progress.push([p.progress, p.total]),
  });
  if (lastProgressMayBeLost) {
    // The SDK runs notification handlers in a microtask but drops a call's progress handler as
    // soon as its response is parsed; when the last notification and the response arrive in one
    // stdio read, the SDK loses that notification. The wire order is checked by the raw stdio test.
    assert.deepEqual(progress.slice(0, 2), [
      [0, 100],
      [50, 100],
    ]);
  } else {
    assert.deepEqual(progress, [
      [0, 100],
      [50, 100],
      [100, 100],
    ]);
  }

  const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hello?' } });
  assert.deepEqual(sampled.content, [{ type: 'text', text: 'LLM response: sampled: hello?' }]);
}

function newClient() {
  const client = new Client({ name: 'taskman-e2e', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    role: 'assistant',
    content: { type: 'text', text: `sampled: ${req.params.messages[0].content.text}` },
    model: 'test-model',
    stopReason: 'endTurn',
  }));
  return client;
}

describe('SDK client over stdio', () => {
  test('initialize, list and call tools, notifications, sampling', async () => {
    const client = newClient();
    const transport = new StdioClientTransport({ command: FIXTURE, args: ['--stdio'], stderr: 'inherit' });
    await client.connect(transport);
    assert.equal(client.getServerVersion().name, 'taskman-conformance-fixture');
    await exerciseClient(client, { lastProgressMayBeLost: true });
    await client.close();
  });

  test('stdout carries only MCP messages and EOF on stdin exits cleanly', async () => {
    const proc = spawn(FIXTURE, ['--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    proc.stdin.write(
      [
        initBody(1),
        JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
        JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'test_simple_text' } }),
        JSON.stringify({
          jsonrpc: '2.0',
          id: 3,
          method: 'tools/call',
          params: { name: 'test_tool_with_progress', _meta: { progressToken: 'p1' } },
        }),
        '',
      ].join('\n'),
    );
    proc.stdin.end();
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0);
    const messages = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      messages.map((m) => m.id ?? m.method),
      [1, 2, 'notifications/progress', 'notifications/progress', 'notifications/progress', 3],
    );
    assert.equal(messages[1].result.content[0].text, 'This is a simple text response for testing.');
    assert.deepEqual(
      messages.slice(2, 5).map((m) => [m.params.progressToken, m.params.progress, m.params.total]),
      [
        ['p1', 0, 100],
        ['p1', 50, 100],
        ['p1', 100, 100],
      ],
    );
  });

  test('malformed input is answered with a parse error and the session goes on', async () => {
    const proc = spawn(FIXTURE, ['--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    proc.stdin.end(['not json', initBody(7), ''].join('\n'));
    const [code] = await once(proc, 'exit');
    assert.equal(code, 0);
    const messages = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(messages[0].error.code, -32700);
    assert.equal(messages[0].id, null);
    assert.equal(messages[1].id, 7);
  });
});

describe('SDK client over Streamable HTTP', () => {
  let fixture;
  before(async () => (fixture = await startHttpFixture()));
  after(async () => fixture.stop());

  test('initialize, list and call tools, notifications, sampling, end the session', async () => {
    const client = newClient();
    const transport = new StreamableHTTPClientTransport(fixture.url);
    await client.connect(transport);
    assert.equal(transport.protocolVersion, '2025-11-25');
    const sid = transport.sessionId;
    assert.match(sid, /^[0-9a-f]{32}$/);
    await exerciseClient(client);

    await transport.terminateSession(); // DELETE
    const after = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }),
    });
    assert.equal(after.status, 404);
    await client.close();
  });
});

describe('Streamable HTTP error paths', () => {
  let fixture;
  before(async () => (fixture = await startHttpFixture(['--max-body', '4096'])));
  after(async () => fixture.stop());

  const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });

  test('a request without Mcp-Session-Id is 400', async () => {
    const r = await rawRequest(fixture.port, { headers: JSON_HEADERS, body: ping });
    assert.equal(r.status, 400);
  });

  test('an unknown session is 404', async () => {
    const r = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, 'Mcp-Session-Id': '0123456789abcdef0123456789abcdef' },
      body: ping,
    });
    assert.equal(r.status, 404);
  });

  test('a deleted session is 404, and DELETE of it again too', async () => {
    const sid = await rawSession(fixture.port);
    const del = await rawRequest(fixture.port, { method: 'DELETE', headers: { 'Mcp-Session-Id': sid } });
    assert.equal(del.status, 200);
    const r = await rawRequest(fixture.port, { headers: { ...JSON_HEADERS, 'Mcp-Session-Id': sid }, body: ping });
    assert.equal(r.status, 404);
    const again = await rawRequest(fixture.port, { method: 'DELETE', headers: { 'Mcp-Session-Id': sid } });
    assert.equal(again.status, 404);
  });

  test('a valid session answers ping; every supported protocol version is accepted', async () => {
    const sid = await rawSession(fixture.port);
    for (const v of ['2025-11-25', '2025-06-18', '2025-03-26', undefined]) {
      const headers = { ...JSON_HEADERS, 'Mcp-Session-Id': sid };
      if (v) headers['MCP-Protocol-Version'] = v;
      const r = await rawRequest(fixture.port, { headers, body: ping });
      assert.equal(r.status, 200, `version ${v}`);
      assert.deepEqual(JSON.parse(r.body), { jsonrpc: '2.0', id: 2, result: {} });
    }
  });

  test('an unsupported MCP-Protocol-Version is 400', async () => {
    const sid = await rawSession(fixture.port);
    const r = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '1999-01-01' },
      body: ping,
    });
    assert.equal(r.status, 400);
  });

  test('a notification is accepted with 202 and no body', async () => {
    const sid = await rawSession(fixture.port);
    const r = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, 'Mcp-Session-Id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    assert.equal(r.status, 202);
    assert.equal(r.body, '');
  });

  test('POST must accept both application/json and text/event-stream (406)', async () => {
    for (const accept of ['application/json', 'text/event-stream', 'text/html']) {
      const r = await rawRequest(fixture.port, {
        headers: { 'Content-Type': 'application/json', Accept: accept },
        body: initBody(),
      });
      assert.equal(r.status, 406, accept);
    }
  });

  test('GET must accept text/event-stream (406)', async () => {
    const sid = await rawSession(fixture.port);
    const r = await rawRequest(fixture.port, {
      method: 'GET',
      headers: { Accept: 'application/json', 'Mcp-Session-Id': sid },
    });
    assert.equal(r.status, 406);
  });

  test('a body that is not application/json is 415', async () => {
    const r = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, 'Content-Type': 'text/plain' },
      body: initBody(),
    });
    assert.equal(r.status, 415);
  });

  test('malformed JSON is 400 with a JSON-RPC parse error', async () => {
    const r = await rawRequest(fixture.port, { headers: JSON_HEADERS, body: '{"jsonrpc": "2.0", ' });
    assert.equal(r.status, 400);
    const body = JSON.parse(r.body);
    assert.equal(body.error.code, -32700);
    assert.equal(body.id, null);
  });

  test('a batch is rejected with 400 and -32600', async () => {
    const r = await rawRequest(fixture.port, { headers: JSON_HEADERS, body: `[${initBody()}]` });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).error.code, -32600);
  });

  test('a body over the limit is 413', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(8192) } });
    const r = await rawRequest(fixture.port, { headers: JSON_HEADERS, body: big });
    assert.equal(r.status, 413);
  });

  test('DNS rebinding: a foreign Host or Origin is 403, loopback ones are allowed', async () => {
    const foreignHost = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, Host: 'evil.example.com' },
      body: initBody(),
    });
    assert.equal(foreignHost.status, 403);
    const foreignOrigin = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, Origin: 'http://evil.example.com' },
      body: initBody(),
    });
    assert.equal(foreignOrigin.status, 403);
    const local = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, Host: `localhost:${fixture.port}`, Origin: `http://localhost:${fixture.port}` },
      body: initBody(),
    });
    assert.equal(local.status, 200);
  });

  test('initialize with an unsupported version is answered with the latest', async () => {
    const r = await rawRequest(fixture.port, {
      headers: JSON_HEADERS,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2099-01-01', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).result.protocolVersion, '2025-11-25');
  });
});

describe('Streamable HTTP server-to-client streams', () => {
  let fixture;
  before(async () => (fixture = await startHttpFixture()));
  after(async () => fixture.stop());

  const post = (sid, body) =>
    rawRequest(fixture.port, { headers: { ...JSON_HEADERS, 'Mcp-Session-Id': sid }, body: JSON.stringify(body) });

  // Streams that fail to end would hang the run: fail instead.
  test('the GET stream carries resource updates; a new GET replaces it; DELETE ends it', { timeout: 10000 }, async () => {
    const sid = await rawSession(fixture.port);
    const first = await openSse(fixture.port, { headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': sid } });
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'text/event-stream');
    const priming = await first.next(); // the stream is open once this arrives
    assert.ok(priming.id);
    assert.equal(priming.data, '');

    // A reconnecting client replaces its stream: the old one ends, messages go to the new one only.
    const get = await openSse(fixture.port, { headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': sid } });
    assert.equal(get.status, 200);
    assert.equal(await first.next(), undefined);
    assert.equal((await get.next()).data, '');

    const sub = await post(sid, { jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'test://watched-resource' } });
    assert.deepEqual(JSON.parse(sub.body).result, {});
    await post(sid, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'test_touch_resource', arguments: { uri: 'test://other' } } });
    await post(sid, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'test_touch_resource', arguments: { uri: 'test://watched-resource' } } });
    const update = await get.next();
    assert.deepEqual(JSON.parse(update.data), {
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: 'test://watched-resource' },
    });

    const del = await rawRequest(fixture.port, { method: 'DELETE', headers: { 'Mcp-Session-Id': sid } });
    assert.equal(del.status, 200);
    assert.equal(await get.next(), undefined); // the stream ended with the session
  });

  test('a POST stream closed mid-call is resumed with Last-Event-ID', { timeout: 10000 }, async () => {
    const sid = await rawSession(fixture.port);
    const call = await openSse(fixture.port, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'Mcp-Session-Id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'test_reconnection' } }),
    });
    assert.equal(call.status, 200);
    const priming = await call.next();
    assert.equal(priming.data, '');
    assert.equal(priming.retry, '500');
    assert.equal(await call.next(), undefined); // closed by the server before the answer

    const resumed = await openSse(fixture.port, {
      headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': sid, 'Last-Event-ID': priming.id },
    });
    assert.equal(resumed.status, 200);
    let answer;
    for (let ev = await resumed.next(); ev; ev = await resumed.next()) {
      if (ev.data) answer = JSON.parse(ev.data);
    }
    assert.equal(answer.id, 5);
    assert.equal(answer.result.content[0].text, 'Reconnection test completed');
  });
});

describe('Streamable HTTP stateless mode', () => {
  let fixture;
  before(async () => (fixture = await startHttpFixture(['--stateless'])));
  after(async () => fixture.stop());

  test('no session id; requests stand alone; GET and DELETE are 405', async () => {
    const init = await rawRequest(fixture.port, { headers: JSON_HEADERS, body: initBody() });
    assert.equal(init.status, 200);
    assert.equal(init.headers['mcp-session-id'], undefined);
    const call = await rawRequest(fixture.port, {
      headers: { ...JSON_HEADERS, 'MCP-Protocol-Version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'test_simple_text' } }),
    });
    assert.equal(call.status, 200);
    assert.equal(JSON.parse(call.body).result.content[0].text, 'This is a simple text response for testing.');
    const get = await rawRequest(fixture.port, { method: 'GET', headers: { Accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    const del = await rawRequest(fixture.port, { method: 'DELETE' });
    assert.equal(del.status, 405);
  });

  test('the SDK client works against a stateless server', async () => {
    const client = new Client({ name: 'taskman-e2e', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(fixture.url);
    await client.connect(transport);
    assert.equal(transport.sessionId, undefined);
    const r = await client.callTool({ name: 'test_simple_text', arguments: {} });
    assert.equal(r.content[0].text, 'This is a simple text response for testing.');
    await client.close();
  });
});
