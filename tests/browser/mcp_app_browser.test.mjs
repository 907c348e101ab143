// The task board MCP App in a real browser: headless Chromium (Debian's) shows a small host page whose
// host logic is the extension package's own AppBridge, connected to a real `taskman serve` through the
// MCP client it was written for. Tasks come from the REST API; the test moves cards with the keyboard,
// provokes a version conflict, opens a card, filters, narrows the window, switches the theme and
// saves a screenshot.
//
//   TASKMAN_BIN=build/taskman node --test tests/browser/mcp_app_browser.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { appCapabilities, eventually, importTestPackage, kAppMimeType, startServe } from './harness.mjs';

const BIN = process.env.TASKMAN_BIN;
if (!BIN) throw new Error('set TASKMAN_BIN to the built taskman binary');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SCREENSHOT = process.env.BOARD_SCREENSHOT || join(tmpdir(), 'taskman-board.png');
const kDefaultCsp = "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; media-src 'self' data:; connect-src 'none'";
const kRing = 'rgb(221, 0, 0)';  // a host style variable the view must pick up

const { Client, StreamableHTTPClientTransport } = await importTestPackage('@modelcontextprotocol/client');
const { AppBridge } = await importTestPackage('@modelcontextprotocol/ext-apps', './app-bridge');
const { chromium } = await importTestPackage('playwright-core');

// The AppBridge's transport: JSON-RPC messages to and from the view through the host page.
class PageRelayTransport {
  constructor(page) { this.page = page; }
  async start() {}
  async send(message) { await this.page.evaluate((m) => window.toView(m), message); }
  async close() { this.onclose?.(); }
  receive(message) { this.onmessage?.(message); }
}

let dir, serve, client, context, page, bridge, view, userDataDir;
const tasks = {};
const projects = {};
const outsideRequests = [];
const cspViolations = [];
const viewErrors = [];
const sizes = [];

const card = (id) => view.locator(`.card[data-id="${id}"]`);
const columnOf = (id) => card(id).evaluate((c) => c.closest('.column').dataset.status);
const apiTask = (id) => serve.rest('GET', `/tasks/${id}`);

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (scripts/bootstrap --test installs Debian's chromium)`);
  dir = mkdtempSync(join(tmpdir(), 'taskman-board-'));
  serve = await startServe(BIN, dir);

  // A small realistic board, made through the REST API as any other client would.
  const rest = serve.rest;
  projects.web = await rest('POST', '/projects', { name: 'Website relaunch' });
  projects.app = await rest('POST', '/projects', { name: 'Mobile app' });
  const soon = new Date(Date.now() + 3 * 86400e3).toISOString();
  const add = async (key, body, status) => {
    let t = await rest('POST', '/tasks', body);
    if (status) t = await rest('PATCH', `/tasks/${t.id}`, { status });
    tasks[key] = t;
  };
  await add('plan', { title: 'Draft the launch plan', project_id: projects.web.id, priority: 'urgent', assignee: 'ana',
    labels: ['planning'], due_at: soon });
  await add('design', { title: 'Design the landing page', project_id: projects.web.id, priority: 'high', assignee: 'ben',
    labels: ['design', 'web'] }, 'in_progress');
  await add('analytics', { title: 'Set up analytics', project_id: projects.web.id, depends_on: [tasks.design.id] },
    'blocked');
  await add('press', { title: 'Write the press release', project_id: projects.web.id, priority: 'low',
    depends_on: [tasks.plan.id] });
  await add('domain', { title: 'Pick a domain name', project_id: projects.web.id, assignee: 'ana' }, 'done');
  await add('flyers', { title: 'Print flyers', project_id: projects.web.id, priority: 'low' }, 'cancelled');
  await add('beta', { title: 'Ship the beta to testers', project_id: projects.app.id, priority: 'high', assignee: 'cy' });
  await add('crash', { title: 'Fix the login crash', project_id: projects.app.id, priority: 'urgent', labels: ['bug'] },
    'in_progress');
  await rest('POST', `/tasks/${tasks.design.id}/comments`, { body: 'First mockups are in the review folder.',
    author: 'ben' });

  client = new Client({ name: 'taskman-board-test-host', version: '1.0.0' }, { capabilities: appCapabilities() });
  await client.connect(new StreamableHTTPClientTransport(serve.mcpUrl));

  userDataDir = mkdtempSync(join(tmpdir(), 'taskman-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.on('request', (r) => { if (!/^(data|about):/.test(r.url())) outsideRequests.push(r.url()); });
  page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => viewErrors.push(String(e)));
});

after(async () => {
  await context?.close();
  await client?.close();
  const code = await serve?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, 'taskman serve exits cleanly');
});

test('the App is announced and loads in a sandboxed iframe through AppBridge', async () => {
  const { tools } = await client.listTools();
  const showBoard = tools.find((t) => t.name === 'show_board');
  assert.ok(showBoard, 'show_board is listed for a client that announces MCP Apps');
  const uri = showBoard._meta.ui.resourceUri;
  const read = await client.readResource({ uri });
  assert.equal(read.contents.length, 1);
  assert.equal(read.contents[0].mimeType, kAppMimeType);
  const html = read.contents[0].text;

  const transport = new PageRelayTransport(page);
  await page.exposeBinding('taskmanToHost', (_source, message) => transport.receive(message));
  await page.setContent(readFileSync(new URL('./host.html', import.meta.url), 'utf8').replace('__CSP__', kDefaultCsp));

  bridge = new AppBridge(client, { name: 'taskman-test-host', version: '1.0.0' },
    { serverTools: {}, serverResources: {}, openLinks: {} },
    { hostContext: {
      theme: 'light', displayMode: 'inline', platform: 'web', locale: 'en-US', timeZone: 'UTC',
      containerDimensions: { width: 1100, maxHeight: 2000 },
      styles: { variables: { '--color-ring-primary': kRing } },
      toolInfo: { tool: showBoard },
    } });
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  bridge.onsizechange = ({ height }) => {
    sizes.push(height);
    if (height) page.evaluate((h) => window.setViewHeight(h), height).catch(() => {});
  };
  await bridge.connect(transport);

  // What a real host does: the view's own document, with the declared (here: default) CSP.
  const withCsp = html.replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="${kDefaultCsp}">`);
  await page.evaluate((h) => window.mountView(h), withCsp);
  await initialized;
  assert.equal(bridge.getAppVersion()?.name, 'taskman-board');

  const result = await client.callTool({ name: 'show_board', arguments: {} });
  assert.ok(!result.isError, result.content?.[0]?.text);
  await bridge.sendToolInput({ arguments: {} });
  await bridge.sendToolResult(result);

  view = page.frameLocator('iframe');
  await eventually('all cards rendered', async () => (await view.locator('.card').count()) === 8);
});

test('tasks created through the API appear in the columns of their status', async () => {
  for (const t of Object.values(tasks)) {
    assert.equal(await columnOf(t.id), t.status, `${t.title} is in ${t.status}`);
  }
  assert.match(await card(tasks.plan.id).innerText(), /urgent[\s\S]*@ana[\s\S]*due /);
  assert.match(await card(tasks.design.id).innerText(), /#design[\s\S]*#web/);
  assert.match(await card(tasks.analytics.id).innerText(), /blocked by 1/, 'its dependency is not done');
  assert.match(await card(tasks.press.id).innerText(), /blocked by 1/);
  assert.equal(await view.locator('.column[data-status="cancelled"] .card').count(), 1);
  assert.ok(sizes.some((h) => h > 200), `the view reported its size (${sizes})`);
});

test('moving a card with the keyboard changes the task in the API', async () => {
  const id = tasks.plan.id;
  await card(id).focus();
  await page.keyboard.press('ArrowRight');
  const moved = await eventually('the API to show the move', async () => {
    const t = await apiTask(id);
    return t.status === 'in_progress' && t;
  });
  assert.equal(moved.version, tasks.plan.version + 1);
  await eventually('the card in In progress', async () => (await columnOf(id)) === 'in_progress');
  assert.equal(await card(id).evaluate((c) => c === document.activeElement), true, 'the moved card keeps focus');
  assert.equal(await card(id).evaluate((c) => getComputedStyle(c).outlineColor), kRing,
    'focus is visible, in the host ring colour');
  assert.match(await card(tasks.press.id).innerText(), /blocked by 1/, 'its dependency is still not done');

  // The "Move to" list does the same for anyone who does not use arrow keys.
  await card(id).locator('select').selectOption('done');
  await eventually('the API to show done', async () => (await apiTask(id)).status === 'done');
  await eventually('the dependant unblocked', async () => /1 dep done/.test(await card(tasks.press.id).innerText()));
});

test('dragging a card to another column with the mouse moves it', async () => {
  const id = tasks.flyers.id;
  await card(id).dragTo(view.locator('.column[data-status="todo"]'));
  await eventually('the API to show the drop', async () => (await apiTask(id)).status === 'todo');
  await eventually('the card in To do', async () => (await columnOf(id)) === 'todo');
});

test('a stale version shows the conflict and reloads the task instead of overwriting it', async () => {
  const id = tasks.beta.id;
  const changed = await serve.rest('PATCH', `/tasks/${id}`, { priority: 'urgent' });  // someone else, after load
  assert.equal(await card(id).getAttribute('data-version'), String(tasks.beta.version));
  await card(id).focus();
  await page.keyboard.press('ArrowRight');
  await eventually('the conflict on the card', async () => (await card(id).getAttribute('class')).includes('conflict'));
  const notice = await card(id).locator('.notice').innerText();
  assert.match(notice, /Conflict/);
  assert.match(notice, new RegExp(`version ${changed.version}`));
  const now = await apiTask(id);
  assert.equal(now.status, 'todo', 'the move did not overwrite');
  assert.equal(now.version, changed.version);
  assert.equal(await card(id).getAttribute('data-version'), String(changed.version), 'the card was reloaded');
  assert.match(await card(id).innerText(), /urgent/);

  // With the current version the same move goes through.
  await card(id).focus();
  await page.keyboard.press('ArrowRight');
  await eventually('the API to show the retried move', async () => (await apiTask(id)).status === 'in_progress');
  await eventually('the notice gone', async () => (await card(id).locator('.notice').count()) === 0);
});

test('a card opens the task with its comments', async () => {
  await card(tasks.design.id).focus();
  await page.keyboard.press('Enter');
  const dialog = view.locator('#detail');
  await eventually('the comment in the dialog', async () =>
    /First mockups are in the review folder\./.test(await dialog.innerText()));
  assert.match(await dialog.innerText(), /ben/);
  assert.match(await dialog.innerText(), /Website relaunch/);
  await page.keyboard.press('Escape');
  await eventually('the dialog closed', async () => !(await dialog.evaluate((d) => d.open)));
  assert.equal(await card(tasks.design.id).evaluate((c) => c === document.activeElement), true, 'focus returns');
});

test('Tab goes from a card to its title and its Move to list, then to the next card', async () => {
  const id = tasks.crash.id;
  await card(id).focus();
  const focused = () => view.locator(':focus').evaluate((e) => `${e.tagName}:${e.closest('.card')?.dataset.id}`);
  await page.keyboard.press('Tab');
  assert.equal(await focused(), `BUTTON:${id}`);
  await page.keyboard.press('Tab');
  assert.equal(await focused(), `SELECT:${id}`);
  await page.keyboard.press('Tab');
  assert.match(await focused(), /^LI:/);
});

test('the project filter shows one project', async () => {
  await view.locator('#project').selectOption(projects.app.id);
  await eventually('only the mobile app tasks', async () => (await view.locator('.card').count()) === 2);
  assert.equal(await card(tasks.crash.id).count(), 1);
  await view.locator('#project').selectOption('');
  await eventually('all tasks again', async () => (await view.locator('.card').count()) === 8);
});

test('columns stack on a narrow width and the host theme switches to dark', async () => {
  await page.setViewportSize({ width: 480, height: 900 });
  await eventually('stacked columns', async () => {
    const boxes = await view.locator('.column').evaluateAll((cs) => cs.map((c) => c.getBoundingClientRect()));
    return boxes.every((b) => b.left === boxes[0].left) && boxes.every((b, i) => i === 0 || b.top > boxes[i - 1].top);
  });
  await page.setViewportSize({ width: 1100, height: 800 });

  await bridge.sendHostContextChange({ theme: 'dark' });
  await eventually('a dark background', async () => {
    const bg = await view.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    return r + g + b < 150;
  });
  await bridge.sendHostContextChange({ theme: 'light' });
  await eventually('a light background again', async () =>
    (await view.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor)) === 'rgb(255, 255, 255)');
});

test('a screenshot of the board is saved and is not blank', async () => {
  await page.mouse.click(1090, 5);  // away from any card, so no focus ring in the picture
  const png = await page.locator('iframe').screenshot({ path: SCREENSHOT });  // sized by size-changed
  assert.ok(statSync(SCREENSHOT).size > 20000, `screenshot is ${statSync(SCREENSHOT).size} bytes`);
  // Decode it in the browser: count pixels that differ from the page background.
  const differing = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    const px = g.getImageData(0, 0, img.width, img.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (Math.abs(px[i] - px[0]) + Math.abs(px[i + 1] - px[1]) + Math.abs(px[i + 2] - px[2]) > 30) n++;
    }
    return { n, total: px.length / 4 };
  }, png.toString('base64'));
  assert.ok(differing.n > differing.total * 0.02, `${differing.n} of ${differing.total} pixels differ from the background`);
});

test('a list_tasks result, the other tool linked to the view, renders too', async () => {
  const result = await client.callTool({ name: 'list_tasks', arguments: { project_id: projects.app.id } });
  assert.ok(!result.isError, result.content?.[0]?.text);
  await bridge.sendToolInput({ arguments: { project_id: projects.app.id } });
  await bridge.sendToolResult(result);
  await eventually('the two mobile app cards', async () => (await view.locator('.card').count()) === 2);
  assert.equal(await columnOf(tasks.crash.id), 'in_progress');
  await eventually('the project filter filled through list_projects', async () =>
    (await view.locator('#project option').count()) === 3);
  assert.equal(await view.locator('#project').inputValue(), projects.app.id);
});

test('the view answers teardown and nothing left the sandbox', async () => {
  assert.deepEqual(await bridge.teardownResource({}), {});
  assert.deepEqual(outsideRequests, [], 'no request went out of the page');
  assert.deepEqual(cspViolations, [], 'no CSP violation');
  assert.deepEqual(viewErrors, [], 'no uncaught error');
});
