// A realistic agent session against the real `taskman serve` (API + MCP + SQLite), driven by the
// official MCP TypeScript SDK client over stdio and over Streamable HTTP. Every structuredContent
// is validated against its tool's outputSchema with Ajv (the SDK validates too).
//
//   TASKMAN_BIN=build/taskman node --test tests/node/taskman_e2e.test.mjs
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';

import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const BIN = process.env.TASKMAN_BIN;
if (!BIN) throw new Error('set TASKMAN_BIN to the built taskman binary');

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

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

async function agentSession(client) {
  const { tools } = await client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  assert.deepEqual(Object.keys(byName).sort(), ['add_comment', 'create_project', 'create_task', 'delete_task',
    'get_task', 'list_projects', 'list_tasks', 'next_task', 'update_task']);
  const validators = Object.fromEntries(tools.map((t) => [t.name, ajv.compile(t.outputSchema)]));

  const call = async (name, args) => {
    const r = await client.callTool({ name, arguments: args });
    if (!r.isError) {
      const ok = validators[name](r.structuredContent);
      assert.ok(ok, `${name} structuredContent fails its outputSchema: ${JSON.stringify(validators[name].errors)}`);
      assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent, `${name}: text block mirrors structuredContent`);
    }
    return r;
  };
  const ok = async (name, args) => {
    const r = await call(name, args);
    assert.ok(!r.isError, `${name} failed: ${r.content?.[0]?.text}`);
    return r.structuredContent;
  };

  const { project } = await ok('create_project', { name: `launch-${Date.now()}-${Math.random()}`, description: 'v1' });
  const pid = project.id;
  const a = (await ok('create_task', { title: 'Write the spec', project_id: pid, priority: 'high' })).task;
  const b = (await ok('create_task', { title: 'Build it', project_id: pid, priority: 'urgent', depends_on: [a.id] })).task;
  const c = (await ok('create_task', { title: 'Polish', project_id: pid, priority: 'low' })).task;
  assert.equal(a.status, 'todo');
  assert.deepEqual(b.depends_on, [a.id]);

  // B is urgent but waits on A: A (high) comes before C (low).
  assert.equal((await ok('next_task', { project_id: pid })).task.id, a.id);
  const doneA = (await ok('update_task', { id: a.id, status: 'done', expected_version: a.version })).task;
  assert.equal(doneA.version, a.version + 1);
  assert.ok(doneA.completed_at, 'completed_at is set when a task becomes done');
  assert.equal((await ok('next_task', { project_id: pid })).task.id, b.id);

  const { comment } = await ok('add_comment', { task_id: b.id, body: 'starting now', author: 'agent' });
  assert.equal(comment.task_id, b.id);
  const withComments = await ok('get_task', { id: b.id, include_comments: true });
  assert.deepEqual(withComments.comments.map((x) => x.body), ['starting now']);

  const stale = await call('update_task', { id: b.id, status: 'in_progress', expected_version: b.version + 7 });
  assert.equal(stale.isError, true);
  assert.match(stale.content[0].text, /Conflict/);
  assert.match(stale.content[0].text, /request_id/);

  const bad = await call('create_task', { title: '', priority: 'soon' });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /priority/);

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

  const trimmed = await ok('list_tasks', { project_id: pid, status: ['done'], fields: ['title'] });
  assert.deepEqual(trimmed.items, [{ id: a.id, title: 'Write the spec' }]);

  assert.deepEqual(await ok('delete_task', { id: c.id }), { deleted: true, id: c.id });
  const gone = await call('get_task', { id: c.id });
  assert.equal(gone.isError, true);
  assert.match(gone.content[0].text, /Not found/);

  const res = await client.readResource({ uri: `taskman://tasks/${b.id}` });
  assert.equal(JSON.parse(res.contents[0].text).id, b.id);
  const prompt = await client.getPrompt({ name: 'standup', arguments: { project_id: pid } });
  assert.match(prompt.messages[0].content.text, /Build it/);
  const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'standup' },
                                             argument: { name: 'project_id', value: pid.slice(0, 4) } });
  assert.ok(completion.completion.values.includes(pid));
}

describe('taskman serve over Streamable HTTP', () => {
  let dir;
  let serve;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taskman-e2e-'));
    serve = await startServe(dir);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('an agent session, then the session ends and the server shuts down cleanly', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${serve.port}/mcp`));
    const client = new Client({ name: 'e2e-agent', version: '1.0.0' });
    await client.connect(transport);
    assert.equal(client.getServerVersion().name, 'taskman');
    await agentSession(client);
    await transport.terminateSession();
    await client.close();
    assert.equal(await serve.stop(), 0);
  });
});

describe('taskman serve --stdio', () => {
  test('an agent session over stdin/stdout; EOF ends the process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskman-e2e-'));
    try {
      const transport = new StdioClientTransport({
        command: BIN,
        args: ['serve', '--stdio', '--api-port', '0', '--database-url', `sqlite:${dir}/t.db`],
        cwd: dir,
        stderr: 'ignore',
      });
      const client = new Client({ name: 'e2e-desktop', version: '1.0.0' });
      await client.connect(transport);
      await agentSession(client);
      await client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
