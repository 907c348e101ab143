// Inbound TLS serves an official MCP SDK client session: `taskman serve` with TLS on both listeners
// (the MCP server reaches its own API over https, verified against BACKEND_CA_FILE), the client
// trusting the test CA through NODE_EXTRA_CA_CERTS. Without the CA the client refuses the server.
//   TASKMAN_BIN=build/taskman TASKMAN_TLS_CERT_SCRIPT=tests/tls/make_test_certs.sh node --test tests/node/taskman_tls.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';

const BIN = process.env.TASKMAN_BIN;
const CERTS = process.env.TASKMAN_TLS_CERT_SCRIPT;
if (!BIN || !CERTS) throw new Error('set TASKMAN_BIN and TASKMAN_TLS_CERT_SCRIPT');
const CHILD = new URL('./tls_sdk_client.mjs', import.meta.url).pathname;

let dir;
let serve;
let mcpPort;
const log = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'taskman-tls-'));
  execFileSync('sh', [CERTS, dir]);
  const env = {
    PATH: process.env.PATH,
    TLS_CERT_FILE: join(dir, 'server.pem'), TLS_KEY_FILE: join(dir, 'server.key'),
    API_TLS_CERT_FILE: join(dir, 'server.pem'), API_TLS_KEY_FILE: join(dir, 'server.key'),
    BACKEND_CA_FILE: join(dir, 'ca.pem'),
  };
  serve = spawn(BIN, ['serve', '--port', '0', '--api-port', '0', '--database-url', `sqlite:${dir}/t.db`],
                { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = readline.createInterface({ input: serve.stderr });
  lines.on('line', (line) => log.push(line));
  mcpPort = await new Promise((resolve, reject) => {
    serve.once('exit', (code) => reject(new Error(`taskman serve exited early with ${code}:\n${log.join('\n')}`)));
    lines.on('line', (line) => {
      let j;
      try { j = JSON.parse(line); } catch { return; }
      if (j.msg === 'listening' && j.service === 'taskman-mcp') {
        assert.equal(j.tls, true, line);
        resolve(j.port);
      }
    });
  });
});

after(async () => {
  if (serve && serve.exitCode === null) {
    const done = once(serve, 'exit');
    serve.kill('SIGTERM');
    await done;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runClient(extraEnv, name) {
  const child = spawn(process.execPath, [CHILD, `https://127.0.0.1:${mcpPort}/mcp`, name],
                      { env: { PATH: process.env.PATH, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return once(child, 'exit').then(([code]) => ({ code, out, err }));
}

test('an SDK client session over https with the test CA', async () => {
  const name = `tls-${Date.now()}`;
  const r = await runClient({ NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') }, name);
  assert.equal(r.code, 0, `client failed: ${r.err}\n${log.join('\n')}`);
  const listed = JSON.parse(r.out);
  assert.ok(listed.items.some((p) => p.name === name), r.out);
});

test('without the CA the client refuses the server, and taskman logs the failed handshake', async () => {
  const before = log.length;
  const r = await runClient({}, 'never-created');
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.err, /certificate|SELF_SIGNED|UNABLE_TO_GET_ISSUER/i, r.err);
  const deadline = Date.now() + 10000;
  const handshakeLogged = () => log.slice(before).some((l) => /TLS handshake with 127\.0\.0\.1:\d+ failed: /.test(l));
  while (!handshakeLogged() && Date.now() < deadline) await new Promise((res) => setImmediate(res));
  assert.ok(handshakeLogged(), log.slice(before).join('\n'));
});
