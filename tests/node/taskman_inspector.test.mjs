// A new user's first check: the MCP Inspector CLI lists and calls taskman's tools over Streamable
// HTTP, against the real `taskman serve`. The Inspector needs Node >= 22.19, so it runs on the
// node@22 binary from this folder's node_modules.
//
//   TASKMAN_BIN=build/taskman node --test tests/node/taskman_inspector.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { promisify } from 'node:util';

const BIN = process.env.TASKMAN_BIN;
if (!BIN) throw new Error('set TASKMAN_BIN to the built taskman binary');
const here = dirname(fileURLToPath(import.meta.url));
const NODE22 = join(here, 'node_modules/node/bin/node');
const inspectorCli = join(here, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');

async function inspector(...args) {
  const { stdout } = await promisify(execFile)(NODE22, [inspectorCli, '--cli', ...args], { timeout: 60_000 });
  return JSON.parse(stdout);
}

test('the MCP Inspector CLI lists and calls the tools of taskman serve', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'taskman-inspector-'));
  const proc = spawn(BIN, ['serve', '--port', '0', '--api-port', '0', '--database-url', `sqlite:${dir}/t.db`],
                     { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const lines = readline.createInterface({ input: proc.stderr });
    const port = await new Promise((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`taskman serve exited early with ${code}`)));
      lines.on('line', (line) => {
        try {
          const j = JSON.parse(line);
          if (j.msg === 'listening' && j.service === 'taskman-mcp') resolve(j.port);
        } catch { /* not a log line */ }
      });
    });
    const url = `http://127.0.0.1:${port}/mcp`;

    const listed = await inspector(url, '--method', 'tools/list');
    const names = listed.tools.map((t) => t.name);
    assert.ok(names.includes('create_task') && names.includes('next_task'), names.join(','));

    const created = await inspector(url, '--method', 'tools/call', '--tool-name', 'create_task',
                                    '--tool-arg', 'title=from the inspector', 'priority=high');
    assert.equal(created.isError ?? false, false, JSON.stringify(created));
    assert.equal(created.structuredContent.task.title, 'from the inspector');

    const next = await inspector(url, '--method', 'tools/call', '--tool-name', 'next_task');
    assert.equal(next.structuredContent.task.id, created.structuredContent.task.id);
  } finally {
    const done = once(proc, 'exit');
    proc.kill('SIGTERM');
    const [code] = await done;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0);
  }
});
