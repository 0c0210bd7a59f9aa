/**
 * The voice-room page in real Chromium (Debian's, headless, fake microphone playing a 440 Hz
 * tone), against two gateway PROCESSES joined by the real RocketMQ. Each page is served by, and
 * talks to, its own gateway.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { GatewayProcess, launchChromium, REPO_ROOT, requireRocketMQ, waitFor, writeToneWav } from '@voiceroom/testkit';

const RUN = Date.now().toString(36);
const ROOM = `web-${RUN}`;
const OTHER_ROOM = `web-other-${RUN}`;
const ENV = { DEV_TOKENS: 'true', NODE_BEAT_INTERVAL_MS: '500', NODE_TIMEOUT_MS: '3000', CLUSTER_SYNC_TIMEOUT_MS: '1500' };

let gw1: GatewayProcess;
let gw2: GatewayProcess;
let browser: Browser;

interface PageView {
  state: string;
  self?: { sid: number; role: string; muted: boolean; name?: string };
  members: { sid: number; name?: string }[];
  audio?: {
    framesEncoded: number;
    framesDecoded: number;
    decodedFrames: Record<number, number>;
    decodedPeakRms: Record<number, number>;
    played: Record<number, { rms: number }>;
  };
}
const view = (page: Page) =>
  page.evaluate(() => (window as unknown as { voiceroom: PageView }).voiceroom).then((v) => JSON.parse(JSON.stringify(v)) as PageView);

async function openAndJoin(gateway: GatewayProcess, name: string, room: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
  const page = await context.newPage();
  await page.goto(`${gateway.httpUrl}/?name=${encodeURIComponent(name)}&room=${room}`);
  await page.click('#join');
  await page.waitForFunction(() => (window as unknown as { voiceroom: PageView }).voiceroom.state === 'live', null, { timeout: 30_000 });
  return page;
}

const rosterNames = (page: Page) => page.$$eval('#roster li .who', (els) => els.map((e) => e.textContent ?? '').sort());

beforeAll(async () => {
  await requireRocketMQ();
  execFileSync(process.execPath, [join(REPO_ROOT, 'apps/web/build.mjs')], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'voiceroom-web-'));
  const tone = join(dir, 'tone.wav');
  writeToneWav(tone);
  [gw1, gw2, browser] = await Promise.all([
    GatewayProcess.start({ nodeId: `e2e-web-1-${RUN}`, env: ENV }),
    GatewayProcess.start({ nodeId: `e2e-web-2-${RUN}`, env: ENV }),
    launchChromium({ audioFile: tone }),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([gw1?.stop(), gw2?.stop()]);
});

it('two pages on different gateways see each other, hear each other (decoded, not silent), and mute stops it; another room hears nothing', async () => {
  const alice = await openAndJoin(gw1, 'Alice', ROOM);
  const bob = await openAndJoin(gw2, 'Bob', ROOM);
  const carol = await openAndJoin(gw1, 'Carol', OTHER_ROOM);

  // Both rosters show both members, with roles (the first in the room is its host).
  for (const [page, expected] of [
    [alice, 'Alice (you),Bob'],
    [bob, 'Alice,Bob (you)'],
  ] as const) {
    await waitFor('both in the roster', async () => (await rosterNames(page)).join() === expected, 20_000);
  }
  expect(await alice.textContent('#roster li[data-sid] .badge')).toBe('host');

  // Audio from Alice is decoded at Bob (across gateways and RocketMQ) and is a tone, not silence.
  const a = await view(alice);
  const b = await view(bob);
  const aliceSid = a.self!.sid;
  const bobSid = b.self!.sid;
  // Silence decodes to RMS ~0; the 440 Hz tone, after the browser's echo cancellation and noise
  // suppression, to a few hundredths.
  await waitFor('Alice decoded at Bob', async () => ((await view(bob)).audio?.decodedPeakRms[aliceSid] ?? 0) > 0.02, 20_000);
  await waitFor('Bob decoded at Alice', async () => ((await view(alice)).audio?.decodedPeakRms[bobSid] ?? 0) > 0.02, 20_000);
  await waitFor('Alice played at Bob', async () => ((await view(bob)).audio?.played[aliceSid]?.rms ?? 0) > 0.01, 20_000);

  // Chat typed on one page arrives on the other.
  await alice.fill('#chat-text', 'hello from the page');
  await alice.click('#chat-form button');
  await bob.waitForSelector('#messages li.chat:has-text("hello from the page")', { timeout: 10_000 });

  // Mute stops Alice's audio at Bob.
  await alice.click('#mute');
  await alice.waitForTimeout(800); // frames already in flight
  const before = (await view(bob)).audio!.decodedFrames[aliceSid] ?? 0;
  await alice.waitForTimeout(2000);
  const after = (await view(bob)).audio!.decodedFrames[aliceSid] ?? 0;
  expect(after - before).toBe(0);
  // ...while Bob is still heard at Alice.
  const bobBefore = (await view(alice)).audio!.decodedFrames[bobSid] ?? 0;
  await waitFor('Bob still heard', async () => ((await view(alice)).audio!.decodedFrames[bobSid] ?? 0) > bobBefore + 20, 10_000);

  // The page in another room decodes nothing and lists nobody.
  const c = await view(carol);
  expect(c.members).toEqual([]);
  expect(c.audio!.framesDecoded).toBe(0);
  expect(c.audio!.framesEncoded).toBeGreaterThan(0); // it was sending all along

  mkdirSync(join(REPO_ROOT, 'artifacts'), { recursive: true });
  await bob.screenshot({ path: join(REPO_ROOT, 'artifacts', 'web-room.png') });
});

it('host controls and hands work from the page: demote, raise hand, accept, host mute (shown in words)', async () => {
  const room = `web-host-${RUN}`;
  const host = await openAndJoin(gw1, 'Hana', room);
  const guest = await openAndJoin(gw2, 'Gus', room);
  const gusRow = (page: Page) => page.locator('#roster li', { hasText: 'Gus' });
  await gusRow(host).waitFor({ timeout: 20_000 });
  expect(await guest.textContent('#self-info')).toBe('You are on the air.');

  await gusRow(host).getByRole('button', { name: 'To listeners' }).click();
  await guest.waitForSelector('#hand:not([hidden])', { timeout: 10_000 });
  expect(await guest.textContent('#self-info')).toContain('You are listening');
  await guest.click('#hand');
  await gusRow(host).locator('.badge.hand').waitFor({ timeout: 10_000 });
  await gusRow(host).getByRole('button', { name: 'Accept' }).click();
  await guest.waitForFunction(() => (window as unknown as { voiceroom: PageView }).voiceroom.self?.role === 'speaker', null, { timeout: 10_000 });

  await gusRow(host).getByRole('button', { name: 'Mute' }).click();
  await guest.waitForSelector('#self-info:has-text("A host muted you.")', { timeout: 10_000 });
  await gusRow(host).locator('.badge.muted').waitFor({ timeout: 10_000 });
  const guestSid = (await view(guest)).self!.sid;
  await host.waitForTimeout(800);
  const before = (await view(host)).audio!.decodedFrames[guestSid] ?? 0;
  await host.waitForTimeout(1500);
  expect(((await view(host)).audio!.decodedFrames[guestSid] ?? 0) - before).toBe(0); // the page stops sending

  await gusRow(host).getByRole('button', { name: 'Kick' }).click();
  await guest.waitForSelector('#error:has-text("removed you from the room")', { timeout: 10_000 });
  expect(await guest.getAttribute('#state', 'data-state')).toBe('closed');
});

// Last: it stops gateway 1.
it('shows reconnecting, then live again on the other gateway when its gateway drains; the peer sees no leave', async () => {
  const room = `web-move-${RUN}`;
  const peer = await openAndJoin(gw2, 'Pia', room);
  const context = await browser.newContext();
  const mover = await context.newPage();
  // Served by gateway 1, with both gateways to use (the first is its own).
  await mover.goto(`${gw1.httpUrl}/?name=Max&room=${room}&gateway=${encodeURIComponent(`${gw1.wsUrl},${gw2.wsUrl}`)}`);
  await mover.click('#join');
  await mover.waitForFunction(() => (window as unknown as { voiceroom: PageView }).voiceroom.state === 'live', null, { timeout: 30_000 });
  await peer.locator('#roster li', { hasText: 'Max' }).waitFor({ timeout: 20_000 });
  const sid = (await view(mover)).self!.sid;

  await gw1.stop(); // SIGTERM: goaway, 4504, resume elsewhere
  await mover.waitForFunction(
    (url) => {
      const v = (window as unknown as { voiceroom: PageView & { gateway?: string } }).voiceroom;
      return v.state === 'live' && v.gateway === url;
    },
    gw2.wsUrl,
    { timeout: 30_000 },
  );
  const states = await mover.evaluate(() => (window as unknown as { voiceroom: { states: string[] } }).voiceroom.states);
  expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
  expect((await view(mover)).self!.sid).toBe(sid);
  expect(await peer.locator('#messages li.system', { hasText: 'Max left' }).count()).toBe(0);
  expect(await mover.getAttribute('#state', 'data-state')).toBe('live');
});
