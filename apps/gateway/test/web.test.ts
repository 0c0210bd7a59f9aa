/** The page and the development token endpoint as the gateway serves them. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@voiceroom/config';
import { createTokenService } from '@voiceroom/tokens';
import { RecordingClient, REPO_ROOT, TEST_JWT_SECRET } from '@voiceroom/testkit';
import { startGateway } from './helpers';

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

it('refuses DEV_TOKENS=true in production', () => {
  expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), NODE_ID: 'gw-1', DEV_TOKENS: 'true' })).toThrow(ConfigError);
  expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), NODE_ID: 'gw-1' })).not.toThrow();
});
