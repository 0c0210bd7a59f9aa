/**
 * One rule for display names (issue 12, item 8): at most 64 Unicode code points, the same in the
 * admin API (which refuses a longer name) and the gateway (which cuts a longer one from a token
 * to its first 64 code points, never inside a surrogate pair). libs/protocol/src/names.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import { loadAdminConfig } from '@voiceroom/config';
import { RecordingClient, TEST_JWT_SECRET, waitFor } from '@voiceroom/testkit';
import { adminCaller, startGateway } from './helpers';

const KEY = 'display-names-bootstrap-key-0123456789';
const EMOJI = '🎙'; // U+1F399: one code point, two UTF-16 code units
let dir: string;
let gateway: { app: FastifyInstance; url: string; http: string };
const clients: RecordingClient[] = [];

const api = adminCaller(() => gateway.app, KEY);

async function joinWith(token: string): Promise<RecordingClient> {
  const client = await RecordingClient.join(gateway.url, token);
  clients.push(client);
  return client;
}

/** A join token signed directly (not through the admin API), with any name. */
function signed(userId: string, room: string, name: string): string {
  const sign = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', aud: 'voiceroom:join' });
  return sign({ sub: userId, room, role: 'speaker', name, exp: Math.floor(Date.now() / 1000) + 60 });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voiceroom-names-'));
  const admin = loadAdminConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: `sqlite:${join(dir, 'voiceroom.db')}`,
    ADMIN_BOOTSTRAP_KEY: KEY,
  });
  gateway = await startGateway({ ADMIN_API: 'embedded' }, { admin });
  await waitFor('the embedded admin API to have its database', async () => (await api('GET', '/v1/rooms')).status === 200);
  expect((await api('POST', '/v1/rooms', { id: 'names', name: 'Names' })).status).toBe(201);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await gateway?.app.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a name of 64 emoji issued by the admin API arrives whole, for its member and for the others', async () => {
  const name = EMOJI.repeat(64); // 64 code points, 128 UTF-16 code units
  const host = await joinWith((await api('POST', '/v1/rooms/names/tokens', { userId: 'host', role: 'host', name: 'Host' })).json.token);
  const issued = await api('POST', '/v1/rooms/names/tokens', { userId: 'emma', name });
  expect(issued.status).toBe(201);
  const emma = await joinWith(issued.json.token);
  expect(emma.self?.name).toBe(name);
  await waitFor('the host to see emma', () => host.members.size === 1);
  expect([...host.members.values()][0]?.name).toBe(name);
  expect((await api('GET', '/v1/rooms/names/members')).json.items.find((m: { userId: string }) => m.userId === 'emma').name).toBe(name);
  emma.chat('hello');
  await waitFor('the chat', () => host.chats.length === 1);
  expect(host.chats[0]?.name).toBe(name);
});

it('the admin API refuses a name of 65 emoji (400 /body/name); the gateway cuts one in a token to 64, never inside a pair', async () => {
  const refused = await api('POST', '/v1/rooms/names/tokens', { userId: 'finn', name: EMOJI.repeat(65) });
  expect([refused.status, refused.json.error.code, refused.json.error.field]).toEqual([400, 'VALIDATION_FAILED', '/body/name']);
  const cut = await joinWith(signed('finn', 'names', EMOJI.repeat(65)));
  expect(cut.self?.name).toBe(EMOJI.repeat(64));
  // The emoji straddles the 64th UTF-16 code unit: it is the 64th code point, so it stays.
  const mixed = await joinWith(signed('gus', 'names', `${'a'.repeat(63)}${EMOJI}tail`));
  expect(mixed.self?.name).toBe(`${'a'.repeat(63)}${EMOJI}`);
  const plain = await joinWith(signed('hal', 'names', 'b'.repeat(70)));
  expect(plain.self?.name).toBe('b'.repeat(64));
});
