// The fleet: two `taskman api` and two stateless `taskman mcp` instances behind nginx
// (deploy/fleet/nginx.conf, round-robin, no affinity) on one PostgreSQL database (a throwaway
// cluster from tests/fleet/fleet_pg_cluster). 16 agents with the official MCP SDK client create,
// update (with expected_version) and comment while one API and one MCP instance are killed with
// SIGKILL and restarted. Afterwards every write an agent saw succeed is stored exactly once, no
// create is duplicated, and calls fail only around the kill. Then two agents on different MCP
// instances update one task with the same expected_version: exactly one wins.
//
//   TASKMAN_BIN=build/taskman FLEET_PG_CLUSTER_BIN=build/tests/fleet/fleet_pg_cluster \
//   FLEET_NGINX_CONF=deploy/fleet/nginx.conf node --test tests/node/taskman_fleet.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const BIN = process.env.TASKMAN_BIN;
const CLUSTER_BIN = process.env.FLEET_PG_CLUSTER_BIN;
const CONF = process.env.FLEET_NGINX_CONF;
const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
if (!BIN || !CLUSTER_BIN || !CONF) throw new Error('set TASKMAN_BIN, FLEET_PG_CLUSTER_BIN and FLEET_NGINX_CONF');

const AGENTS = 16;
const ROUNDS = 14;              // create + update + comment per round and agent
const MAX_FAILED_DURING_KILL = 48;

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

// A child process with its stderr lines kept (for the "listening" line and for failure messages).
function start(bin, args, env = {}) {
  const proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: proc.stderr }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) if (w.pred(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
  });
  const exited = once(proc, 'exit');
  return {
    proc,
    lines,
    waitLine(pred, ms = 30000) {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such line within ${ms} ms:\n${lines.join('\n')}`)), ms);
        waiters.push({ pred, resolve: (l) => { clearTimeout(timer); resolve(l); } });
        exited.then(([code]) => reject(new Error(`${bin} exited with ${code}:\n${lines.join('\n')}`)));
      });
    },
    async kill(signal) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
}

const listening = (service) => (line) => {
  try { const j = JSON.parse(line); return j.msg === 'listening' && j.service === service; } catch { return false; }
};

let dir, cluster, clusterOut, dbUrl, nginx, nginxPort;
const apis = [], mcps = [], apiPorts = [], mcpPorts = [];

async function startApi(i) {
  apis[i] = start(BIN, ['api', '--api-port', String(apiPorts[i]), '--database-url', dbUrl]);
  await apis[i].waitLine(listening('taskman-api'));
}

async function startMcp(i) {
  mcps[i] = start(BIN, ['mcp', '--port', String(mcpPorts[i]),
    '--task-manager-api-endpoint', `http://127.0.0.1:${nginxPort}/api/v1`],
  // The breaker would judge the whole fleet behind nginx by one instance's restart.
  { MCP_STATELESS: 'true', CIRCUIT_BREAKER_ENABLED: 'false' });
  await mcps[i].waitLine(listening('taskman-mcp'));
}

async function http(method, path, body) {
  const r = await fetch(`http://127.0.0.1:${nginxPort}${path}`, {
    method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function eventually(probe, ms = 20000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try { if (await probe()) return true; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function connect(port) {
  const client = new Client({ name: 'fleet-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  return client;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'taskman-fleet-'));
  cluster = spawn(CLUSTER_BIN, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  clusterOut = readline.createInterface({ input: cluster.stdout })[Symbol.asyncIterator]();
  const first = await clusterOut.next();
  assert.ok(!first.done, 'the PostgreSQL test cluster did not start (see its stderr above)');
  dbUrl = JSON.parse(first.value).url;

  for (let i = 0; i < 2; ++i) { apiPorts.push(await freePort()); mcpPorts.push(await freePort()); }
  nginxPort = await freePort();
  const conf = readFileSync(CONF, 'utf8')
    .replace('127.0.0.1:3101', `127.0.0.1:${apiPorts[0]}`).replace('127.0.0.1:3102', `127.0.0.1:${apiPorts[1]}`)
    .replace('127.0.0.1:3201', `127.0.0.1:${mcpPorts[0]}`).replace('127.0.0.1:3202', `127.0.0.1:${mcpPorts[1]}`)
    .replace('listen 127.0.0.1:8080', `listen 127.0.0.1:${nginxPort}`);
  assert.ok(!conf.includes(':3101') && !conf.includes(':8080'), 'the shipped config has the documented ports');
  mkdirSync(join(dir, 'nginx'));
  writeFileSync(join(dir, 'nginx.conf'), conf);
  nginx = start(NGINX, ['-p', join(dir, 'nginx'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);

  // Both API instances at once: one migrates, the other waits for it.
  await Promise.all([startApi(0), startApi(1)]);
  await Promise.all([startMcp(0), startMcp(1)]);
  assert.ok(await eventually(async () => (await http('GET', '/health/ready')).status === 200), 'fleet ready');
});

after(async () => {
  for (const p of [...apis, ...mcps, nginx]) await p?.kill('SIGTERM');
  if (cluster) { cluster.stdin.end(); await once(cluster, 'exit'); }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('16 agents through nginx survive SIGKILL of one API and one MCP instance', async (t) => {
  const created = new Map();   // title -> { id, version } as the agent last saw it succeed
  const comments = new Map();  // body -> { task, id }
  const failures = [];         // { started, what }
  let recoveredAt = Infinity;
  let done = 0;
  let killDone;
  const killWhen = Math.floor((AGENTS * ROUNDS * 3) / 3);

  const call = async (client, name, args) => {
    const started = Date.now();
    try {
      const r = await client.callTool({ name, arguments: args });
      if (r.isError) { failures.push({ started, what: `${name}: ${r.content?.[0]?.text}` }); return null; }
      return r.structuredContent;
    } catch (e) {
      failures.push({ started, what: `${name}: ${e.message}` });
      return null;
    } finally {
      if (++done === killWhen) killDone = killAndRestart();
    }
  };

  async function killAndRestart() {
    await Promise.all([apis[0].kill('SIGKILL'), mcps[0].kill('SIGKILL')]);
    await Promise.all([startApi(0), startMcp(0)]);
    recoveredAt = Date.now();
  }

  async function agent(i) {
    let client = await connect(nginxPort);
    for (let n = 0; n < ROUNDS; ++n) {
      const title = `fleet ${i}-${n}`;
      const c = await call(client, 'create_task', { title });
      if (!c) continue;
      const task = { id: c.task.id, version: c.task.version };
      created.set(title, task);
      let u = await call(client, 'update_task', { id: task.id, status: 'in_progress', expected_version: task.version });
      if (u) task.version = u.task.version;
      else {
        // The outcome is unknown (it may have committed): learn the version, as an agent would.
        const g = await call(client, 'get_task', { id: task.id });
        if (g) task.version = g.task.version;
      }
      const body = `comment ${i}-${n}`;
      const m = await call(client, 'add_comment', { task_id: task.id, body });
      if (m) comments.set(body, { task: task.id, id: m.comment.id });
    }
    await client.close();
  }

  await Promise.all(Array.from({ length: AGENTS }, (_, i) => agent(i)));
  await killDone;
  assert.ok(Number.isFinite(recoveredAt), 'the kill happened mid-run');

  const during = failures.filter((f) => f.started < recoveredAt);
  const afterwards = failures.filter((f) => f.started >= recoveredAt);
  t.diagnostic(`${created.size} creates and ${comments.size} comments acknowledged; ${during.length} calls failed ` +
               `around the kill: ${[...new Set(during.map((f) => f.what.slice(0, 80)))].slice(0, 4).join(' | ')}`);
  assert.ok(during.length <= MAX_FAILED_DURING_KILL, `too many failed calls around the kill: ${during.length}`);
  assert.deepEqual(afterwards, [], 'no call fails once the instances are back');
  assert.ok(created.size >= AGENTS * ROUNDS - MAX_FAILED_DURING_KILL);

  // What the database holds, through the fleet.
  const tasks = [];
  for (let cursor = null, page = 0; page < 1000; ++page) {
    const r = await http('GET', `/api/v1/tasks?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    tasks.push(...r.json.items);
    cursor = r.json.next_cursor;
    if (!cursor) break;
  }
  const byTitle = new Map();
  for (const t of tasks) byTitle.set(t.title, [...(byTitle.get(t.title) ?? []), t]);
  for (const [title, list] of byTitle) assert.equal(list.length, 1, `create duplicated: ${title}`);
  for (const [title, seen] of created) {
    const stored = byTitle.get(title)?.[0];
    assert.ok(stored, `acknowledged create lost: ${title}`);
    assert.equal(stored.id, seen.id);
    assert.ok(stored.version >= seen.version, `acknowledged update lost on ${title}`);
  }
  const perTask = new Map();
  for (const { task } of comments.values()) perTask.set(task, true);
  const storedBodies = new Map();
  for (const id of perTask.keys()) {
    const r = await http('GET', `/api/v1/tasks/${id}/comments?limit=100`);
    assert.equal(r.status, 200);
    for (const c of r.json.items) storedBodies.set(c.body, (storedBodies.get(c.body) ?? 0) + 1);
  }
  for (const [body] of comments) assert.equal(storedBodies.get(body), 1, `comment stored ${storedBodies.get(body)} times: ${body}`);
});

test('two agents on different MCP instances, one expected_version: exactly one wins', async () => {
  const [a, b] = [await connect(mcpPorts[0]), await connect(mcpPorts[1])];
  for (let round = 0; round < 5; ++round) {
    const t = (await a.callTool({ name: 'create_task', arguments: { title: `contended ${round}` } })).structuredContent.task;
    const [ra, rb] = await Promise.all([
      a.callTool({ name: 'update_task', arguments: { id: t.id, title: 'by a', expected_version: t.version } }),
      b.callTool({ name: 'update_task', arguments: { id: t.id, title: 'by b', expected_version: t.version } }),
    ]);
    assert.equal([ra, rb].filter((r) => !r.isError).length, 1, `round ${round}: exactly one update wins`);
    const loser = ra.isError ? ra : rb;
    assert.match(loser.content[0].text, /version/i);
    const stored = await http('GET', `/api/v1/tasks/${t.id}`);
    assert.equal(stored.json.version, t.version + 1);
  }
  await a.close();
  await b.close();
});
