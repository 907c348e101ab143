// An agent session against the real `taskman serve` in the per-request era (MCP 2026-07-28),
// driven by the official MCP TypeScript SDK 2.x client pinned to that revision, over Streamable
// HTTP and over stdio; the same client in `auto` mode negotiates it too.
//
//   TASKMAN_BIN=build/taskman node --test tests/node-modern/taskman_modern_e2e.test.mjs
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const BIN = process.env.TASKMAN_BIN;
if (!BIN) throw new Error('set TASKMAN_BIN to the built taskman binary');
const MODERN = '2026-07-28';

// Starts `taskman serve` on free ports; resolves with the MCP port from its "listening" log line.
async function startServe(dir) {
  const proc = spawn(BIN, ['serve', '--port', '0', '--api-port', '0', '--database-url', `sqlite:${dir}/t.db`],
                     { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = readline.createInterface({ input: proc.stderr });
  const port = await new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`taskman serve exited early with ${code}`)));
    lines.on('line', (line) => {
      let j;
      try { j = JSON.parse(line); } catch { return; }
      if (j.msg === 'listening' && j.service === 'taskman-mcp') resolve(j.port);
    });
  });
  lines.on('line', () => {});  // keep draining stderr
  return {
    port,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      const done = once(proc, 'exit');
      proc.kill('SIGTERM');
      const [code] = await done;
      return code;
    },
  };
}

function modernClient(mode = { pin: MODERN }) {
  return new Client({ name: 'e2e-agent-2026', version: '1.0.0' }, { versionNegotiation: { mode } });
}

// Every HTTP exchange of a transport, to show that the era needs no session.
function recordingFetch(log) {
  return async (url, init) => {
    const headers = new Headers(init?.headers);
    const res = await fetch(url, init);
    log.push({ method: headers.get('mcp-method'), sentSession: headers.get('mcp-session-id'),
               gotSession: res.headers.get('mcp-session-id'), status: res.status });
    return res;
  };
}

async function agentSession(client) {
  assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
  assert.equal(client.getServerVersion()?.name, 'taskman');
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['add_comment', 'create_project', 'create_task', 'delete_task',
    'get_task', 'list_projects', 'list_tasks', 'next_task', 'update_task']);
  for (const t of tools) assert.ok(t.outputSchema, `${t.name} has an outputSchema`);

  // The client checks structuredContent against each tool's outputSchema itself.
  const call = (name, args) => client.callTool({ name, arguments: args });
  const ok = async (name, args) => {
    const r = await call(name, args);
    assert.ok(!r.isError, `${name} failed: ${r.content?.[0]?.text}`);
    assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent,
                     `${name}: text block mirrors structuredContent`);
    return r.structuredContent;
  };

  const { project } = await ok('create_project', { name: `modern-${Date.now()}-${Math.random()}`, description: 'v2' });
  const pid = project.id;
  const a = (await ok('create_task', { title: 'Write the spec', project_id: pid, priority: 'high' })).task;
  const b = (await ok('create_task', { title: 'Build it', project_id: pid, priority: 'urgent',
                                       depends_on: [a.id] })).task;
  const c = (await ok('create_task', { title: 'Polish', project_id: pid, priority: 'low' })).task;
  assert.deepEqual(b.depends_on, [a.id]);

  // B is urgent but waits on A: A (high) comes before C (low).
  assert.equal((await ok('next_task', { project_id: pid })).task.id, a.id);
  const doneA = (await ok('update_task', { id: a.id, status: 'done', expected_version: a.version })).task;
  assert.equal(doneA.version, a.version + 1);
  assert.equal((await ok('next_task', { project_id: pid })).task.id, b.id);

  await ok('add_comment', { task_id: b.id, body: 'starting now', author: 'agent' });
  const withComments = await ok('get_task', { id: b.id, include_comments: true });
  assert.deepEqual(withComments.comments.map((x) => x.body), ['starting now']);

  const stale = await call('update_task', { id: b.id, status: 'in_progress', expected_version: b.version + 7 });
  assert.equal(stale.isError, true);
  assert.match(stale.content[0].text, /Conflict/);

  for (let i = 0; i < 7; i++) await ok('create_task', { title: `bulk ${i}`, project_id: pid, labels: ['bulk'] });
  const seen = [];
  let cursor;
  let pages = 0;
  do {
    const page = await ok('list_tasks', { project_id: pid, label: 'bulk', limit: 3, ...(cursor ? { cursor } : {}) });
    seen.push(...page.items.map((t) => t.id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(new Set(seen).size, 7);

  assert.deepEqual(await ok('delete_task', { id: c.id }), { deleted: true, id: c.id });

  const { resources } = await client.listResources();
  assert.ok(resources.length > 0, 'taskman lists resources');
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.ok(resourceTemplates.some((t) => t.uriTemplate.includes('{')), 'taskman lists resource templates');
  const res = await client.readResource({ uri: `taskman://tasks/${b.id}` });
  assert.equal(JSON.parse(res.contents[0].text).id, b.id);
  const { prompts } = await client.listPrompts();
  assert.ok(prompts.some((p) => p.name === 'standup'));
  const prompt = await client.getPrompt({ name: 'standup', arguments: { project_id: pid } });
  assert.match(prompt.messages[0].content.text, /Build it/);
  const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'standup' },
                                             argument: { name: 'project_id', value: pid.slice(0, 4) } });
  assert.ok(completion.completion.values.includes(pid));
}

describe('taskman serve over Streamable HTTP, 2026-07-28', () => {
  let dir;
  let serve;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taskman-modern-'));
    serve = await startServe(dir);
  });
  after(async () => {
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an agent session with the client pinned to 2026-07-28, with no session on the wire', async () => {
    const log = [];
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${serve.port}/mcp`),
                                                        { fetch: recordingFetch(log) });
    const client = modernClient();
    await client.connect(transport);
    await agentSession(client);
    await client.close();
    assert.ok(log.length > 20, `the session went over HTTP (${log.length} exchanges)`);
    assert.equal(log[0].method, 'server/discover');
    assert.deepEqual(log.filter((x) => x.sentSession || x.gotSession), [], 'no Mcp-Session-Id either way');
  });

  test('auto mode negotiates 2026-07-28 over HTTP', async () => {
    const client = modernClient('auto');
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${serve.port}/mcp`)));
    assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
    assert.notEqual((await client.callTool({ name: 'list_projects', arguments: {} })).isError, true);
    await client.close();
  });

  test('a 2025-era client of the 2.x SDK (legacy mode) still gets a session on the same endpoint', async () => {
    const log = [];
    const client = new Client({ name: 'e2e-legacy', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${serve.port}/mcp`),
                                                           { fetch: recordingFetch(log) }));
    assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
    assert.notEqual((await client.callTool({ name: 'list_projects', arguments: {} })).isError, true);
    assert.ok(log.some((x) => x.gotSession), 'initialize answered with an Mcp-Session-Id');
    await client.close();
  });
});

describe('taskman serve --stdio, 2026-07-28', () => {
  for (const mode of [{ pin: MODERN }, 'auto']) {
    test(`an agent session over stdin/stdout (${JSON.stringify(mode)})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'taskman-modern-'));
      try {
        const transport = new StdioClientTransport({
          command: BIN,
          args: ['serve', '--stdio', '--api-port', '0', '--database-url', `sqlite:${dir}/t.db`],
          cwd: dir,
          stderr: 'ignore',
        });
        const client = modernClient(mode);
        await client.connect(transport);
        await agentSession(client);
        await client.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
