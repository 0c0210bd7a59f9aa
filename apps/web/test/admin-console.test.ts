/**
 * The admin console (apps/web/src/admin, served at /admin/ by the admin API) in Debian's Chromium,
 * against a real admin process (on MariaDB) and two gateway processes joined by the real RocketMQ:
 * what an operator does in the console reaches members wherever they are connected. Then the same
 * console in the single-node entry (npm start's composition).
 *
 * ADMIN_CONSOLE_SCREENSHOT=1 also writes the screenshot in the docs (docs/images/admin-console.png);
 * it is always written to artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CloseCode } from '@voiceroom/protocol';
import {
  createTestDatabase,
  FAST_CLUSTER_ENV,
  GatewayProcess,
  launchChromium,
  RecordingClient,
  REPO_ROOT,
  requireRocketMQ,
  waitFor,
  type TestDatabase,
} from '@voiceroom/testkit';

const RUN = Date.now().toString(36);
const KEY = 'bootstrap-key-for-the-console-tests-0123';
const ENV = { ...FAST_CLUSTER_ENV, COMMANDS_PER_SEC: '50', COMMAND_BURST: '50' };

let db: TestDatabase;
let admin: GatewayProcess;
let gw1: GatewayProcess;
let gw2: GatewayProcess;
let browser: Browser;
const clients: RecordingClient[] = [];

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${admin.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function joinRoom(gateway: GatewayProcess, room: string, userId: string, role: string, name: string): Promise<RecordingClient> {
  const issued = await api('POST', `/v1/rooms/${room}/tokens`, { userId, role, name });
  if (issued.status !== 201) throw new Error(`token for ${userId}: ${issued.status} ${JSON.stringify(issued.json)}`);
  const client = new RecordingClient(gateway.wsUrl);
  clients.push(client);
  await client.connect(issued.json.token as string);
  return client;
}

/** A fresh tab on the console, signed in with `key`. */
async function openConsole(base: string, key = KEY): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const page = await context.newPage();
  await page.goto(`${base}/admin`);
  await page.fill('#key', key);
  await page.click('#sign-in button[type=submit]');
  await page.locator('#console').waitFor({ timeout: 10_000 });
  return page;
}

const rowOf = (page: Page, user: string) => page.locator(`#roster tr[data-user="${user}"]`);
const statusLine = (page: Page) => page.locator('#status');
const errorLine = (page: Page) => page.locator('#error');

beforeAll(async () => {
  await requireRocketMQ();
  execFileSync(process.execPath, [join(REPO_ROOT, 'apps/web/build.mjs')], { stdio: 'ignore' });
  browser = await launchChromium();
  db = await createTestDatabase('voiceroom_console');
  [admin, gw1, gw2] = await Promise.all([
    GatewayProcess.start({ app: 'admin', nodeId: `e2e-console-admin-${RUN}`, env: { ...ENV, DATABASE_URL: db.url, ADMIN_BOOTSTRAP_KEY: KEY } }),
    GatewayProcess.start({ nodeId: `e2e-console-gw1-${RUN}`, env: ENV }),
    GatewayProcess.start({ nodeId: `e2e-console-gw2-${RUN}`, env: ENV }),
  ]);
}, 120_000);

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([admin?.stop(), gw1?.stop(), gw2?.stop()]);
  await db?.drop();
});

it('is served at /admin with headers that keep the key in (no inline script, no sniffing, no framing, no caching)', async () => {
  const redirect = await fetch(`${admin.httpUrl}/admin`, { redirect: 'manual' });
  expect([redirect.status, redirect.headers.get('location')]).toEqual([308, 'admin/']);
  const page = await fetch(`${admin.httpUrl}/admin/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('cache-control')).toBe('no-store');
  expect(await page.text()).not.toMatch(/<script>|\son\w+=/); // no inline script or handler attribute
  const script = await fetch(`${admin.httpUrl}/admin/console.js`);
  expect([script.status, script.headers.get('content-type'), script.headers.get('cache-control')]).toEqual([200, 'text/javascript; charset=utf-8', 'no-store']);
  // Only the console's own files: no path reaches the file system.
  expect((await fetch(`${admin.httpUrl}/admin/..%2f..%2fpackage.json`)).status).toBe(404);
  // A gateway without the admin API (it serves the voice-room page at /) has no console.
  expect((await fetch(`${gw1.httpUrl}/admin/`)).status).toBe(404);
});

it('signs in with a key kept in sessionStorage, never in a URL; a wrong key is refused in words', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${admin.httpUrl}/admin/`);
  await page.fill('#key', 'not-the-key-at-all-0000000000');
  await page.click('#sign-in button[type=submit]');
  await errorLine(page).filter({ hasText: 'That key was refused' }).waitFor({ timeout: 10_000 });
  expect(await page.isHidden('#console')).toBe(true);

  await page.fill('#key', KEY);
  await page.click('#sign-in button[type=submit]');
  await page.locator('#console').waitFor({ timeout: 10_000 });
  expect(page.url()).not.toContain(KEY);
  expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([KEY]);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  // A reload keeps the tab signed in; signing out forgets the key.
  await page.reload();
  await page.locator('#rooms-list table').waitFor({ timeout: 10_000 });
  await page.click('#sign-out');
  await page.locator('#sign-in').waitFor();
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await context.close();
});

it('moderates a live room across gateways: counts, roster, notice, mute, role (errors in words), chat history by page, kick closes the member on the other gateway', async () => {
  const room = `console-${RUN}`;
  const page = await openConsole(admin.httpUrl);

  // Create the room from the console.
  await page.fill('#room-create-id', room);
  await page.fill('#room-create-name', 'Lobby'); // names are the database's (fresh for this file); ids the cluster's (shared)
  await page.fill('#room-create-capacity', '10');
  await page.fill('#room-create-seats', '1');
  await page.click('#room-create button[type=submit]');
  await statusLine(page)
    .filter({ hasText: `Room Lobby (${room}) created.` })
    .waitFor({ timeout: 10_000 });
  const roomRow = page.locator(`#rooms-list tr[data-room="${room}"]`);
  expect(await roomRow.locator('.online').textContent()).toBe('0 / 10');

  const host = await joinRoom(gw1, room, 'hana', 'host', 'Hana');
  const bob = await joinRoom(gw2, room, 'bob', 'speaker', 'Bob');
  const carol = await joinRoom(gw1, room, 'carol', 'listener', 'Carol');
  // The live count follows without a reload.
  await roomRow.locator('.online', { hasText: '3 / 10' }).waitFor({ timeout: 15_000 });

  for (let i = 1; i <= 25; i++) host.chat(`message ${String(i).padStart(2, '0')}`);
  await waitFor('the 25 messages at bob', () => bob.chats.length >= 25, 15_000);

  await roomRow.locator('a').click();
  await rowOf(page, 'bob').waitFor({ timeout: 10_000 });
  expect(await rowOf(page, 'hana').locator('.node').textContent()).toBe(gw1.nodeId);
  expect(await rowOf(page, 'bob').locator('.node').textContent()).toBe(gw2.nodeId);

  // A notice reaches the members on both gateways, and the history shows it.
  await page.fill('#notice-text', 'Please keep it civil');
  await page.click('#notice-form button');
  await statusLine(page).filter({ hasText: 'Notice sent' }).waitFor({ timeout: 10_000 });
  await waitFor('the notice at bob and hana', () => [bob, host].every((c) => c.roomEvents.some((e) => e.endsWith(':notice:Please keep it civil'))));
  await page.locator('#history li.notice', { hasText: 'Please keep it civil' }).waitFor({ timeout: 10_000 });

  // Chat history, 20 to a page: the newest first, then the older ones.
  await page.locator('#history li', { hasText: 'message 25' }).waitFor({ timeout: 10_000 });
  expect(await page.locator('#history li', { hasText: 'message 01' }).count()).toBe(0);
  await page.getByRole('button', { name: 'Older' }).click();
  await page.locator('#history li', { hasText: 'message 01' }).waitFor({ timeout: 10_000 });
  expect(await page.locator('#history li', { hasText: 'message 25' }).count()).toBe(0);
  await page.getByRole('button', { name: 'Newer' }).click();
  await page.locator('#history li', { hasText: 'message 25' }).waitFor({ timeout: 10_000 });

  // Mute bob (on the other gateway): bob is told, the roster says so.
  await rowOf(page, 'bob').getByRole('button', { name: 'Mute' }).click();
  await rowOf(page, 'bob').locator('.badge.muted').waitFor({ timeout: 10_000 });
  await waitFor('bob told of the mute', () => bob.updates.some((u) => u.reason === 'mute'));

  // The only seat is bob's: making carol a speaker is refused, and the console says why.
  await rowOf(page, 'carol').locator('select.role').selectOption('speaker');
  await errorLine(page).filter({ hasText: 'Every speaker seat of the room is taken' }).waitFor({ timeout: 10_000 });
  expect(await rowOf(page, 'carol').locator('select.role').inputValue()).toBe('listener');
  // Bob to listener frees the seat; then carol can speak.
  await rowOf(page, 'bob').locator('select.role').selectOption('listener');
  await statusLine(page).filter({ hasText: 'is now a listener' }).waitFor({ timeout: 10_000 });
  await rowOf(page, 'carol').locator('select.role').selectOption('speaker');
  await statusLine(page).filter({ hasText: 'Carol (carol) is now a speaker.' }).waitFor({ timeout: 10_000 });
  await waitFor('carol told of her new role', () => carol.updates.some((u) => u.reason === 'role' && u.members.some((m) => m.userId === 'carol')));

  mkdirSync(join(REPO_ROOT, 'artifacts'), { recursive: true });
  await page.screenshot({ path: join(REPO_ROOT, 'artifacts', 'admin-console.png') });
  if (process.env.ADMIN_CONSOLE_SCREENSHOT === '1') await page.screenshot({ path: join(REPO_ROOT, 'docs', 'images', 'admin-console.png') });

  // Kick bob from the console: the gateway holding bob's socket (the other one) closes it.
  await rowOf(page, 'bob').getByRole('button', { name: 'Kick' }).click();
  expect((await bob.waitClosed()).code).toBe(CloseCode.Kicked);
  await statusLine(page).filter({ hasText: 'Bob (bob) was kicked' }).waitFor({ timeout: 10_000 });
  await waitFor('hana to see bob kicked', () => host.leaveReasons.includes('bob:kicked'));
  expect(await rowOf(page, 'bob').count()).toBe(0);
  await page.context().close();
});

it('bans with an expiry (the member is disconnected), lifts them; the audit log and cluster view show what happened', async () => {
  const room = `console-ban-${RUN}`;
  expect((await api('POST', '/v1/rooms', { id: room, name: `Ban ${RUN}` })).status).toBe(201);
  const host = await joinRoom(gw1, room, 'hana', 'host', 'Hana');
  const mallory = await joinRoom(gw2, room, 'mallory', 'speaker', 'Mallory');
  const page = await openConsole(admin.httpUrl);

  await page.click('nav a[data-view=bans]');
  await page.fill('#ban-user', 'mallory');
  await page.fill('#ban-room', room);
  await page.selectOption('#ban-duration', '3600');
  await page.fill('#ban-reason', 'spam <script>alert(1)</script>');
  await page.click('#ban-create button[type=submit]');
  await statusLine(page)
    .filter({ hasText: `mallory is banned from ${room} until` })
    .waitFor({ timeout: 10_000 });
  expect((await mallory.waitClosed()).code).toBe(CloseCode.Banned);
  await waitFor('hana to see mallory banned', () => host.leaveReasons.includes('mallory:banned'));
  const banRow = page.locator('#bans-list tbody tr', { hasText: 'mallory' });
  expect(await banRow.locator('.state').textContent()).toBe('in force');
  expect(await banRow.textContent()).toContain('spam <script>alert(1)</script>');
  const banned = await api('POST', `/v1/rooms/${room}/tokens`, { userId: 'mallory' });
  expect(banned.json.error.code).toBe('USER_BANNED');

  await banRow.getByRole('button', { name: 'Lift' }).click();
  await statusLine(page).filter({ hasText: 'of mallory is lifted' }).waitFor({ timeout: 10_000 });
  expect(await page.locator('#bans-list tbody tr', { hasText: 'mallory' }).count()).toBe(0); // the list shows bans in force
  await page.selectOption('#ban-filter', '');
  await page.locator('#bans-list tbody tr .state', { hasText: 'lifted' }).waitFor({ timeout: 10_000 });
  expect((await api('POST', `/v1/rooms/${room}/tokens`, { userId: 'mallory' })).status).toBe(201);

  // The audit log, newest first, filtered to the user.
  await page.click('nav a[data-view=audit]');
  await page.locator('#audit-list td.action', { hasText: 'ban.lift' }).first().waitFor({ timeout: 10_000 });
  await page.selectOption('#audit-type', 'user');
  await page.fill('#audit-id', 'mallory');
  await page.click('#audit-filter button');
  await waitFor(
    'the audit log of mallory',
    async () => (await page.locator('#audit-list td.action').allTextContents()).join() === 'token.issue,ban.lift,ban.create,token.issue',
  );
  expect(await page.locator('#audit-list tbody tr').first().textContent()).toContain('key:bootstrap');

  // The cluster: both gateways and the admin process, ready, with their sessions.
  await page.click('nav a[data-view=cluster]');
  const node = (id: string) => page.locator(`#nodes tr[data-node="${id}"]`);
  await waitFor('the gateways with their sessions', async () => (await node(gw1.nodeId).locator('.sessions').textContent()) === '1', 15_000);
  await waitFor('gateway 2 without sessions (mallory is banned)', async () => (await node(gw2.nodeId).locator('.sessions').textContent()) === '0');
  for (const id of [gw1.nodeId, gw2.nodeId, admin.nodeId]) expect(await node(id).locator('.ready').textContent()).toBe('ready');
  await page.context().close();
});

it('says what a key may not do: a viewer sees the rooms but cannot kick or read the audit log', async () => {
  const created = await api('POST', '/v1/api-keys', { name: `viewer-${RUN}`, role: 'viewer' });
  expect(created.status).toBe(201);
  const room = `console-view-${RUN}`;
  expect((await api('POST', '/v1/rooms', { id: room, name: `View ${RUN}` })).status).toBe(201);
  const member = await joinRoom(gw2, room, 'vic', 'speaker', 'Vic <b>&amp;</b>');
  const page = await openConsole(admin.httpUrl, created.json.key as string);
  await page.goto(`${admin.httpUrl}/admin/#room/${room}`);
  // Names are shown as text, markup and all.
  await rowOf(page, 'vic').locator('.who', { hasText: 'Vic <b>&amp;</b>' }).waitFor({ timeout: 10_000 });
  await rowOf(page, 'vic').getByRole('button', { name: 'Kick' }).click();
  await errorLine(page).filter({ hasText: 'not allowed. This needs the moderator role, and your key has the viewer role.' }).waitFor({ timeout: 10_000 });
  expect(member.closeInfo).toBeUndefined();
  await page.click('nav a[data-view=audit]');
  await errorLine(page).filter({ hasText: 'This needs the admin role' }).waitFor({ timeout: 10_000 });
  // A revoked key signs the tab out, saying why.
  expect((await api('DELETE', `/v1/api-keys/${created.json.id as string}`)).status).toBe(200);
  await page.click('nav a[data-view=cluster]');
  await errorLine(page).filter({ hasText: 'That key was refused' }).waitFor({ timeout: 10_000 });
  await page.locator('#sign-in').waitFor();
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await page.context().close();
});

it('is served by the single-node entry too (npm start: the gateway with the admin API embedded)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voiceroom-console-'));
  const single = await GatewayProcess.start({
    app: 'single-node',
    bus: 'memory',
    nodeId: `console-single-${RUN}`,
    env: { ADMIN_API: 'embedded', DATABASE_URL: `sqlite:${join(dir, 'admin.db')}`, ADMIN_BOOTSTRAP_KEY: KEY },
  });
  try {
    const response = await fetch(`${single.httpUrl}/admin/`);
    expect([response.status, response.headers.get('x-content-type-options')]).toEqual([200, 'nosniff']);
    const page = await openConsole(single.httpUrl);
    await page.click('nav a[data-view=cluster]');
    await page.locator(`#nodes tr[data-node="console-single-${RUN}"] .ready`, { hasText: 'ready' }).waitFor({ timeout: 15_000 });
    await page.context().close();
  } finally {
    await single.stop();
  }
});
