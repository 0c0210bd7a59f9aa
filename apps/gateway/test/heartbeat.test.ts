/**
 * Heartbeat pings are spread over the interval, not sent to every socket in one synchronous
 * loop (that stalled the event loop for every room on the node). The lag itself is a
 * measurement (voiceroom_nodejs_eventloop_lag_* on /metrics, and the benchmarks), not a timed
 * assertion here: this checks how the pings are spread, and that liveness still holds.
 */
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import { sleep, waitFor } from '@voiceroom/testkit';
import { startGateway } from './helpers';

let app: FastifyInstance;
let url: string;
let http: string;

beforeAll(async () => {
  ({ app, url, http } = await startGateway({ HEARTBEAT_INTERVAL_MS: '1000', JOIN_TIMEOUT_MS: '20000', DRAIN_SPREAD_MS: '0' }));
});
afterAll(async () => {
  await app.close();
});

function open(options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

it('pings each socket once per interval, spread over the interval rather than all in one tick', async () => {
  const sockets = await Promise.all(Array.from({ length: 40 }, () => open()));
  const pings: number[][] = sockets.map(() => []);
  sockets.forEach((ws, i) => ws.on('ping', () => pings[i]?.push(Date.now())));
  await waitFor('two pings at every socket', () => pings.every((p) => p.length >= 2), 5000);
  const first = pings.map((p) => p[0] as number);
  // One synchronous loop put every first ping within a few ms of the others.
  expect(Math.max(...first) - Math.min(...first)).toBeGreaterThan(300);
  const ticks = new Set(first.map((t) => Math.floor(t / 25)));
  expect(ticks.size).toBeGreaterThan(8);
  // Still once per interval for each socket (give or take the timer's jitter on a busy machine).
  for (const p of pings) expect((p[1] as number) - (p[0] as number)).toBeGreaterThan(700);
  const metrics = await (await fetch(`${http}/metrics`)).text();
  expect(Number(/voiceroom_heartbeat_pings_total\{node="gw-test"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(80);
  for (const ws of sockets) ws.close();
});

it('drops a socket that does not answer pings within two intervals (close 1006 at the client)', async () => {
  const before = app.gateway.heartbeat.stats.timeouts;
  const silent = await open({ autoPong: false });
  const closed = new Promise<number>((resolve) => silent.on('close', (code) => resolve(code)));
  const answering = await open();
  const start = Date.now();
  expect(await closed).toBe(1006);
  expect(Date.now() - start).toBeLessThan(2500);
  expect(app.gateway.heartbeat.stats.timeouts).toBe(before + 1);
  await sleep(1200);
  expect(answering.readyState).toBe(WebSocket.OPEN);
  answering.close();
});
