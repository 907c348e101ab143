// The MCP App as the extension (io.modelcontextprotocol/ui) specifies it, seen by the official SDK 1.x
// client against the real `taskman serve`: a client that announces the extension gets the ui://
// resource, show_board and the tool links; one that does not (or that announces other MIME types
// only) sees exactly the tools and resources it saw before.
//
//   TASKMAN_BIN=build/taskman node --test tests/browser/mcp_app_protocol.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { appCapabilities, importTestPackage, kAppMimeType, kUiExtension, startServe } from './harness.mjs';

const BIN = process.env.TASKMAN_BIN;
if (!BIN) throw new Error('set TASKMAN_BIN to the built taskman binary');

const { Client } = await importTestPackage('@modelcontextprotocol/sdk', './client/index.js');
const { StreamableHTTPClientTransport } = await importTestPackage('@modelcontextprotocol/sdk', './client/streamableHttp.js');
const { default: Ajv } = await importTestPackage('ajv');

const kBoardUri = 'ui://taskman/board';
const kTaskTools = ['add_comment', 'create_project', 'create_task', 'delete_task', 'get_task', 'list_projects',
  'list_tasks', 'next_task', 'update_task'];
const kEmptyCsp = { connectDomains: [], resourceDomains: [], frameDomains: [], baseUriDomains: [] };

let dir, serve;
const clients = [];

async function connect(name, capabilities) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(serve.mcpUrl));
  clients.push(client);
  return client;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'taskman-app-'));
  serve = await startServe(BIN, dir);
});

after(async () => {
  for (const c of clients) await c.close();
  const code = await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, 'taskman serve exits cleanly');
});

const hasUiMeta = (item) => !!item._meta && ('ui' in item._meta || 'ui/resourceUri' in item._meta);

test('a client that announces MCP Apps gets the view, show_board and the tool links', async () => {
  const client = await connect('apps-host', appCapabilities());
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), [...kTaskTools, 'show_board'].sort());
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  for (const name of ['show_board', 'list_tasks']) {
    assert.deepEqual(byName[name]._meta.ui, { resourceUri: kBoardUri }, `${name} links the view`);
    assert.equal(byName[name]._meta['ui/resourceUri'], kBoardUri, `${name} carries the older key too`);
  }
  for (const t of tools.filter((x) => !['show_board', 'list_tasks'].includes(x.name))) {
    assert.ok(!hasUiMeta(t), `${t.name} has no view`);
  }
  assert.equal(byName.show_board.annotations.readOnlyHint, true);

  const { resources } = await client.listResources();
  const views = resources.filter((r) => r.uri.startsWith('ui://'));
  assert.equal(views.length, 1);
  assert.equal(views[0].uri, kBoardUri);
  assert.equal(views[0].mimeType, kAppMimeType);
  assert.deepEqual(views[0]._meta.ui, { csp: kEmptyCsp, prefersBorder: true });

  const read = await client.readResource({ uri: kBoardUri });
  assert.equal(read.contents.length, 1, 'one content item');
  const [item] = read.contents;
  assert.equal(item.uri, kBoardUri);
  assert.equal(item.mimeType, kAppMimeType);
  assert.ok(item.text.startsWith('<!doctype html>') && item.text.includes('</html>'), 'a whole HTML5 document');
  assert.ok(!('blob' in item));
  assert.deepEqual(item._meta.ui, { csp: kEmptyCsp, prefersBorder: true });
});

test('show_board answers the view with structured data and the model with a summary', async () => {
  const client = await connect('apps-host-2', appCapabilities());
  const p = await serve.rest('POST', '/projects', { name: 'Board project' });
  const other = await serve.rest('POST', '/projects', { name: 'Other project' });
  const a = await serve.rest('POST', '/tasks', { title: 'Alpha', project_id: p.id, priority: 'urgent', assignee: 'ana',
    description: 'long text the board does not need' });
  await serve.rest('POST', '/tasks', { title: 'Beta', project_id: p.id, depends_on: [a.id] });
  await serve.rest('POST', '/tasks', { title: 'Gamma', project_id: other.id });

  const { tools } = await client.listTools();
  const validate = new Ajv({ strict: false }).compile(tools.find((t) => t.name === 'show_board').outputSchema);

  const all = await client.callTool({ name: 'show_board', arguments: {} });
  assert.ok(!all.isError, all.content?.[0]?.text);
  assert.ok(validate(all.structuredContent), JSON.stringify(validate.errors));
  assert.equal(all.structuredContent.tasks.length, 3);
  assert.equal(all.structuredContent.project_id, null);
  assert.equal(all.structuredContent.truncated, false);
  assert.deepEqual(all.structuredContent.projects.map((x) => x.name).sort(), ['Board project', 'Other project']);
  assert.ok(all.structuredContent.tasks.every((t) => !('description' in t)), 'cards only');
  assert.match(all.content[0].text, /3 tasks — todo 3, in_progress 0, blocked 0, done 0, cancelled 0/);
  assert.match(all.content[0].text, /\[urgent\] Alpha — todo, @ana/);

  const one = await client.callTool({ name: 'show_board', arguments: { project_id: p.id } });
  assert.ok(!one.isError, one.content?.[0]?.text);
  assert.deepEqual(one.structuredContent.tasks.map((t) => t.title).sort(), ['Alpha', 'Beta']);
  assert.equal(one.structuredContent.project_id, p.id);
  assert.match(one.content[0].text, /project "Board project"/);

  const missing = await client.callTool({ name: 'show_board', arguments: { project_id: 'no-such-project' } });
  assert.equal(missing.isError, true);
  assert.match(missing.content[0].text, /Not found: project no-such-project/);
  const wrong = await client.callTool({ name: 'show_board', arguments: { status: 'todo' } });
  assert.equal(wrong.isError, true);
  assert.match(wrong.content[0].text, /Invalid arguments: status is not a known argument/);
});

for (const [label, capabilities] of [
  ['announces nothing', {}],
  ['announces the extension with other MIME types only', { extensions: { [kUiExtension]: { mimeTypes: ['text/html+skybridge'] } } }],
  ['announces another extension', { extensions: { 'io.example/other': {} } }],
]) {
  test(`a client that ${label} sees nothing of the App`, async () => {
    const client = await connect(`plain-${clients.length}`, capabilities);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), kTaskTools);
    for (const t of tools) assert.ok(!hasUiMeta(t), `${t.name} carries no view link`);
    assert.ok(!('_meta' in tools.find((t) => t.name === 'list_tasks')), 'list_tasks as before: no _meta');

    const { resources } = await client.listResources();
    assert.deepEqual(resources.filter((r) => r.uri.startsWith('ui://')), []);
    for (const r of resources) assert.ok(!('_meta' in r));

    await assert.rejects(client.readResource({ uri: kBoardUri }), (e) => e.code === -32002);
    await assert.rejects(client.callTool({ name: 'show_board', arguments: {} }),
      (e) => e.code === -32602 && /Unknown tool: show_board/.test(e.message));
  });
}
