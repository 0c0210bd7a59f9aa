/**
 * Single-node mode (what `npm start` runs): one gateway process serving the admin API too, on
 * the memory bus and an SQLite file, with no external service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadAdminConfig } from '@voiceroom/config';
import { CloseCode } from '@voiceroom/protocol';
import { RecordingClient, TEST_JWT_SECRET, waitFor } from '@voiceroom/testkit';
import { adminCaller, startGateway } from './helpers';

const KEY = 'embedded-bootstrap-key-0123456789';
let dir: string;
let gateway: { app: FastifyInstance; url: string; http: string };
const clients: RecordingClient[] = [];

const api = adminCaller(() => gateway.app, KEY);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voiceroom-embedded-'));
  const admin = loadAdminConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: `sqlite:${join(dir, 'db', 'voiceroom.db')}`,
    ADMIN_BOOTSTRAP_KEY: KEY,
  });
  gateway = await startGateway({ ADMIN_API: 'embedded', DEV_TOKENS: 'true' }, { admin });
  await waitFor('the embedded admin API to have its database', async () => (await api('GET', '/v1/rooms')).status === 200);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await gateway?.app.close();
  rmSync(dir, { recursive: true, force: true });
});

it('creates a room, issues tokens, archives chat, and kicks, all in one process on SQLite', async () => {
  expect((await api('POST', '/v1/rooms', { id: 'lobby', name: 'Lobby', capacity: 3 })).status).toBe(201);
  const tokens = await Promise.all(
    ['ana', 'ben'].map(
      async (userId) => (await api('POST', '/v1/rooms/lobby/tokens', { userId, role: userId === 'ana' ? 'host' : 'speaker' })).json.token as string,
    ),
  );
  const [ana, ben] = await Promise.all(tokens.map((t) => RecordingClient.join(gateway.url, t)));
  clients.push(ana!, ben!);
  expect(ana!.joined?.settings.capacity).toBe(3);
  // Two clients' messages are ordered by the log, not by who sent first: wait for the first one
  // to be applied before sending the second (fresh-clone run 2 got them the other way round).
  ana!.chat('first');
  await waitFor('the first chat applied', () => ben!.chats.some((c) => c.text === 'first'));
  ben!.chat('second 🎧');
  await waitFor('both chats archived', async () => (await api('GET', '/v1/rooms/lobby/messages')).json.items.length === 2);
  expect((await api('GET', '/v1/rooms/lobby/messages')).json.items.map((m: { text: string }) => m.text)).toEqual(['second 🎧', 'first']);
  // The page's history in development: the same archive, no credentials.
  const dev = await gateway.app.inject({ method: 'GET', url: '/dev/rooms/lobby/messages' });
  expect(dev.json().items.map((m: { text: string; userId: string }) => `${m.userId}:${m.text}`)).toEqual(['ben:second 🎧', 'ana:first']);
  expect((await api('GET', '/v1/rooms/lobby/members')).json.items).toHaveLength(2);
  expect((await api('POST', '/v1/rooms/lobby/members/ben/kick')).status).toBe(200);
  expect((await ben!.waitClosed()).code).toBe(CloseCode.Kicked);
  await waitFor('ana to see ben kicked', () => ana!.leaveReasons.includes('ben:kicked'));
  expect((await api('GET', '/v1/audit?targetType=user&targetId=ben')).json.items.map((e: { action: string }) => e.action)).toEqual([
    'member.kick',
    'token.issue',
  ]);
  // The admin API's metrics join the gateway's on its /metrics.
  const metrics = (await gateway.app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(metrics).toMatch(/voiceroom_admin_chat_archived_total\{node="gw-test"\} 2\n/);
  expect(metrics).toMatch(/voiceroom_admin_actions_total\{result="applied",node="gw-test"\} 2\n/); // room create, kick
  expect(metrics).toMatch(/voiceroom_admin_http_requests_total\{route="\/v1\/rooms\/:roomId\/tokens",method="POST",status="201",node="gw-test"\} 2\n/);
});
