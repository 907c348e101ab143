// Shared pieces of the MCP App tests: the npm packages (installed once, in tests/node), a real
// `taskman serve` on free loopback ports, its REST API, and MCP clients that do or do not announce
// the MCP Apps extension.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import readline from 'node:readline';

export const kUiExtension = 'io.modelcontextprotocol/ui';
export const kAppMimeType = 'text/html;profile=mcp-app';

// tests/node holds the one lock file for every npm test client; these tests import from there.
// ESM resolves bare names from the importing file's folder, so follow the package's "exports" by hand.
const kNodeModules = new URL('../node/node_modules/', import.meta.url);

function exportTarget(entry) {
  if (typeof entry === 'string') return entry;
  for (const condition of ['import', 'default']) {
    if (entry && entry[condition] !== undefined) return exportTarget(entry[condition]);
  }
  return undefined;
}

export async function importTestPackage(name, subpath = '.') {
  const dir = new URL(`${name}/`, kNodeModules);
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
  } catch (e) {
    throw new Error(`${name} is not installed in tests/node (run scripts/bootstrap --test): ${e.message}`);
  }
  let target;
  if (!pkg.exports) {
    target = subpath === '.' ? pkg.main || 'index.js' : subpath;
  } else if (pkg.exports[subpath] !== undefined) {
    target = exportTarget(pkg.exports[subpath]);
  } else {  // one-star patterns such as "./*"
    for (const [key, entry] of Object.entries(pkg.exports)) {
      const [head, tail] = key.split('*');
      if (tail === undefined || !subpath.startsWith(head) || !subpath.endsWith(tail)) continue;
      target = exportTarget(entry)?.replace('*', subpath.slice(head.length, subpath.length - tail.length));
      break;
    }
  }
  if (!target) throw new Error(`${name} exports no ESM entry for ${subpath}`);
  return import(new URL(target, dir).href);
}

// Starts `taskman serve` (REST API + MCP over Streamable HTTP, SQLite in dir) on free ports.
export async function startServe(bin, dir) {
  const proc = spawn(bin, ['serve', '--port', '0', '--api-port', '0', '--database-url', `sqlite:${dir}/t.db`],
                     { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = readline.createInterface({ input: proc.stderr });
  const ports = {};
  await new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`taskman serve exited early with ${code}`)));
    lines.on('line', (line) => {
      let j;
      try { j = JSON.parse(line); } catch { return; }
      if (j.msg !== 'listening') return;
      if (j.service === 'taskman-api') ports.api = j.port;
      if (j.service === 'taskman-mcp') ports.mcp = j.port;
      if (ports.api && ports.mcp) resolve();
    });
  });
  const api = `http://127.0.0.1:${ports.api}/api/v1`;
  return {
    api,
    mcpUrl: new URL(`http://127.0.0.1:${ports.mcp}/mcp`),
    async rest(method, path, body, headers = {}) {
      const r = await fetch(api + path, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      const json = text ? JSON.parse(text) : null;
      if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
      return json;
    },
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      const done = once(proc, 'exit');
      proc.kill('SIGTERM');
      const [code] = await done;
      return code;
    },
  };
}

// The capabilities a client that renders MCP Apps announces in initialize.
export const appCapabilities = () => ({ extensions: { [kUiExtension]: { mimeTypes: [kAppMimeType] } } });

// Polls `probe` until it returns a truthy value or the deadline passes (then fails naming `what`).
export async function eventually(what, probe, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
