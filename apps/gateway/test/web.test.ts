/** The page and the development token endpoint as the gateway serves them. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ConfigError, loadAdminConfig, loadConfig } from '@voiceroom/config';
import { createTokenService } from '@voiceroom/tokens';
import { RecordingClient, REPO_ROOT, TEST_JWT_SECRET, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';
import { rawHttp } from './raw-ws';

beforeAll(() => {
  execFileSync(process.execPath, [join(REPO_ROOT, 'apps/web/build.mjs')], { stdio: 'ignore' });
});

it('serves the built page at / (and not with WEB_ROOT=off)', async () => {
  const on = await startGateway();
  const off = await startGateway({ WEB_ROOT: 'off' });
  try {
    const page = await fetch(`${on.http}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="app.js"></script>');
    expect((await fetch(`${on.http}/capture-worklet.js`)).status).toBe(200);
    expect((await fetch(`${on.http}/healthz`)).status).toBe(200); // routes still win over files
    expect((await fetch(`${off.http}/`)).status).toBe(404);
  } finally {
    await Promise.all([on.app.close(), off.app.close()]);
  }
});

it('hands out join tokens at POST /dev/token only with DEV_TOKENS=true: the first member of a room is its host', async () => {
  const dev = await startGateway({ DEV_TOKENS: 'true', DRAIN_SPREAD_MS: '0' });
  const plain = await startGateway({ DRAIN_SPREAD_MS: '0' });
  const post = (base: string, body: unknown) =>
    fetch(`${base}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  try {
    expect((await post(plain.http, { name: 'Eve', room: 'lobby' })).status).toBe(404);
    const first = (await (await post(dev.http, { name: 'Zoë Ann', room: 'lobby' })).json()) as { token: string; userId: string; role: string };
    expect(first.role).toBe('host');
    expect(first.userId).toMatch(/^Zoe-Ann-[0-9a-f]{6}$/);
    expect(createTokenService(TEST_JWT_SECRET).verify(first.token)).toMatchObject({ ok: true, claims: { room: 'lobby', role: 'host', name: 'Zoë Ann' } });
    const host = await RecordingClient.join(dev.url, first.token);
    const second = (await (await post(dev.http, { name: 'Bo', room: 'lobby' })).json()) as { role: string };
    expect(second.role).toBe('speaker');
    host.close();
    for (const bad of [{ name: '', room: 'lobby' }, { name: 'x', room: 'no spaces' }, { name: 'x' }, { name: 'x', room: 'r', extra: 1 }]) {
      expect((await post(dev.http, bad)).status).toBe(400);
    }
  } finally {
    await Promise.all([dev.app.close(), plain.app.close()]);
  }
});

describe('errors and limits of the development endpoints and the page', () => {
  const post = (base: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${base}/dev/token`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const shape = async (res: Response) => ((await res.json()) as { error: { code: string; message: string; field?: string } }).error;
  let dir: string;
  let plain: Awaited<ReturnType<typeof startGateway>>;
  let embedded: Awaited<ReturnType<typeof startGateway>>;
  const KEY = 'web-test-bootstrap-key-0123456789';
  const api = (method: string, url: string, payload?: object) =>
    embedded.app.inject({ method: method as 'POST', url, headers: { authorization: `Bearer ${KEY}` }, ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voiceroom-web-'));
    const admin = loadAdminConfig({
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      ADMIN_BOOTSTRAP_KEY: KEY,
    });
    plain = await startGateway({ DEV_TOKENS: 'true', DEV_TOKENS_PER_MINUTE: '3', DRAIN_SPREAD_MS: '0' });
    embedded = await startGateway({ ADMIN_API: 'embedded', DEV_TOKENS: 'true', DRAIN_SPREAD_MS: '0' }, { admin });
    await waitFor('the embedded admin API to have its database', async () => (await api('GET', '/v1/rooms')).statusCode === 200);
  });
  afterAll(async () => {
    await Promise.all([plain.app.close(), embedded.app.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every error of POST /dev/token and of the page in the documented shape, with or without the admin API', async () => {
    for (const g of [plain, embedded]) {
      expect(await shape(await post(g.http, { name: 'x', room: 'r', extra: 1 }))).toMatchObject({ code: 'VALIDATION_FAILED', field: '/body/extra' });
      expect(await shape(await post(g.http, { name: 'x' }))).toMatchObject({ code: 'VALIDATION_FAILED', field: '/body/room' });
      const badJson = await post(g.http, '{"name":');
      expect(badJson.status).toBe(400);
      expect((await shape(badJson)).code).toBe('BAD_REQUEST');
      const big = await post(g.http, JSON.stringify({ name: 'x', room: 'r', pad: 'x'.repeat(70_000) }));
      expect(big.status).toBe(413);
      expect((await shape(big)).code).toBe('BODY_TOO_LARGE');
      const missing = await fetch(`${g.http}/no-such-file.js`);
      expect(missing.status).toBe(404);
      expect((await shape(missing)).code).toBe('ROUTE_NOT_FOUND');
      const escape = await rawHttp(g.url, 'GET /%2e%2e/package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(escape.status).toBe(403);
      expect(JSON.parse(escape.body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
  });

  it('rate-limits POST /dev/token per address with 429 RATE_LIMITED and Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await post(plain.http, { name: `n${i}`, room: 'busy' })).status).toBe(200);
    const limited = await post(plain.http, { name: 'n4', room: 'busy' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await shape(limited)).code).toBe('RATE_LIMITED');
  });

  it('refuses a token for a room an administrator closed with 409 ROOM_CLOSED', async () => {
    expect((await api('POST', '/v1/rooms', { id: 'shut', name: 'Shut' })).statusCode).toBe(201);
    expect((await post(embedded.http, { name: 'Al', room: 'shut' })).status).toBe(200);
    expect((await api('POST', '/v1/rooms/shut/close')).statusCode).toBeLessThan(300);
    await waitFor('the room closed in the gateway state', () => embedded.app.gateway.state.directory.get('shut' as never)?.open === false);
    const refused = await post(embedded.http, { name: 'Al', room: 'shut' });
    expect(refused.status).toBe(409);
    expect((await shape(refused)).code).toBe('ROOM_CLOSED');
    expect((await post(embedded.http, { name: 'Al', room: 'open-one' })).status).toBe(200);
  });
});

it('refuses DEV_TOKENS=true in production', () => {
  expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), NODE_ID: 'gw-1', DEV_TOKENS: 'true' })).toThrow(ConfigError);
  expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), NODE_ID: 'gw-1' })).not.toThrow();
});
