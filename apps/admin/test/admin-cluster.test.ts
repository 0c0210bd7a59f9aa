/**
 * The admin API as its own process, sharing nothing with two gateway processes but the real
 * RocketMQ (and a real MariaDB database of its own): what an operator does there reaches members
 * wherever they are connected.
 */
import { CloseCode } from '@voiceroom/protocol';
import { createTestDatabase, GatewayProcess, joinToken, RecordingClient, requireRocketMQ, TcpProxy, waitFor, type TestDatabase } from '@voiceroom/testkit';

const RUN = Date.now().toString(36);
const KEY = 'bootstrap-key-for-the-cluster-tests-0123';
const CLUSTER_ENV = {
  NODE_BEAT_INTERVAL_MS: '500',
  NODE_TIMEOUT_MS: '3000',
  CLUSTER_SYNC_TIMEOUT_MS: '1500',
  RESUME_GRACE_MS: '3000',
  COMMANDS_PER_SEC: '50',
  COMMAND_BURST: '50',
};

let db: TestDatabase;
let proxy: TcpProxy;
let admin: GatewayProcess;
let gw1: GatewayProcess;
let gw2: GatewayProcess;
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

async function token(room: string, userId: string, role = 'speaker'): Promise<string> {
  const res = await api('POST', `/v1/rooms/${room}/tokens`, { userId, role, name: userId.toUpperCase() });
  if (res.status !== 201) throw new Error(`token for ${userId}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.token as string;
}

async function join(gateway: GatewayProcess, room: string, userId: string, role = 'speaker'): Promise<RecordingClient> {
  const client = new RecordingClient(gateway.wsUrl);
  clients.push(client);
  await client.connect(await token(room, userId, role));
  return client;
}

/** Joins with a token that is valid but for a user the cluster refuses: resolves with the close code. */
async function refusedJoin(gateway: GatewayProcess, tokenText: string): Promise<number> {
  const client = new RecordingClient(gateway.wsUrl);
  clients.push(client);
  await client.connect(tokenText).then(
    () => {
      throw new Error('the join was accepted');
    },
    () => undefined,
  );
  return (await client.waitClosed()).code;
}

async function createRoom(name: string): Promise<string> {
  const id = `${name}-${RUN}`;
  const res = await api('POST', '/v1/rooms', { id, name: id, capacity: 10, seats: 3 });
  expect(res.status).toBe(201);
  return id;
}

beforeAll(async () => {
  await requireRocketMQ();
  db = await createTestDatabase('voiceroom_cluster');
  proxy = new TcpProxy('127.0.0.1', 3306);
  const port = await proxy.start();
  const url = new URL(db.url);
  url.host = `127.0.0.1:${port}`;
  [admin, gw1, gw2] = await Promise.all([
    GatewayProcess.start({
      app: 'admin',
      nodeId: `e2e-admin-${RUN}`,
      env: { ...CLUSTER_ENV, DATABASE_URL: url.toString(), ADMIN_BOOTSTRAP_KEY: KEY, DB_TIMEOUT_MS: '1000' },
    }),
    GatewayProcess.start({ nodeId: `e2e-adm-gw1-${RUN}`, env: CLUSTER_ENV }),
    GatewayProcess.start({ nodeId: `e2e-adm-gw2-${RUN}`, env: CLUSTER_ENV }),
  ]);
}, 120_000);

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await Promise.all([admin?.stop(), gw1?.stop(), gw2?.stop()]);
  await proxy?.stop();
  await db?.drop();
});

describe('admin actions reach members on every gateway', () => {
  it('lists members of both gateways; a kick at the admin API closes the member on the other process with 4403', async () => {
    const room = await createRoom('kick');
    const host = await join(gw1, room, 'host', 'host');
    const bob = await join(gw2, room, 'bob');
    await waitFor('bob in the host roster', () => host.rosterUsers().includes('bob'));
    const members = await api('GET', `/v1/rooms/${room}/members`);
    expect(members.json.items.map((m: { userId: string; node: string }) => `${m.userId}@${m.node}`).sort()).toEqual([
      `bob@${gw2.nodeId}`,
      `host@${gw1.nodeId}`,
    ]);
    const stats = await api('GET', '/v1/stats');
    expect(stats.json.nodes.find((n: { id: string }) => n.id === gw2.nodeId)?.members).toBeGreaterThanOrEqual(1);

    expect((await api('POST', `/v1/rooms/${room}/members/bob/kick`)).status).toBe(200);
    expect((await bob.waitClosed()).code).toBe(CloseCode.Kicked);
    await waitFor('the host to see bob leave', () => host.leaveReasons.includes('bob:kicked'));
    expect((await api('GET', `/v1/rooms/${room}/members`)).json.items.map((m: { userId: string }) => m.userId)).toEqual(['host']);
    const again = await api('POST', `/v1/rooms/${room}/members/bob/kick`);
    expect([again.status, again.json.error.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
  });

  it('a ban closes the member (4407) and refuses rejoining on both gateways until it expires', async () => {
    const room = await createRoom('ban');
    const host = await join(gw1, room, 'host', 'host');
    const mallory = await join(gw1, room, 'mallory');
    const early = await token(room, 'mallory'); // issued before the ban: the cluster refuses it anyway
    const ban = await api('POST', '/v1/bans', { userId: 'mallory', roomId: room, durationSeconds: 4, reason: 'test' });
    expect(ban.status).toBe(201);
    expect((await mallory.waitClosed()).code).toBe(CloseCode.Banned);
    await waitFor('the host to see mallory banned', () => host.leaveReasons.includes('mallory:banned'));
    expect(await refusedJoin(gw1, early)).toBe(CloseCode.Banned);
    expect(await refusedJoin(gw2, early)).toBe(CloseCode.Banned);
    const refused = await api('POST', `/v1/rooms/${room}/tokens`, { userId: 'mallory' });
    expect([refused.status, refused.json.error.code]).toEqual([409, 'USER_BANNED']);
    // Another room is not covered by a room ban.
    const other = await createRoom('ban-other');
    await join(gw2, other, 'mallory');

    await waitFor('the ban to expire', async () => Date.now() > Date.parse(ban.json.expiresAt) + 500, 10_000);
    await join(gw2, room, 'mallory');
    await waitFor('the host to see mallory again', () => host.rosterUsers().includes('mallory'));
  });

  it('closing a room disconnects its members on every node (4405) and refuses joins until it reopens', async () => {
    const room = await createRoom('close');
    const a = await join(gw1, room, 'ann', 'host');
    const b = await join(gw2, room, 'ben');
    const early = await token(room, 'cat');
    expect((await api('POST', `/v1/rooms/${room}/close`)).json.status).toBe('closed');
    const [ca, cb] = await Promise.all([a.waitClosed(), b.waitClosed()]);
    expect([ca.code, cb.code]).toEqual([CloseCode.RoomClosed, CloseCode.RoomClosed]);
    expect(await refusedJoin(gw2, early)).toBe(CloseCode.RoomClosed);
    expect((await api('POST', `/v1/rooms/${room}/open`)).json.status).toBe('open');
    await join(gw1, room, 'cat');
  });

  it('chat sent on one node reaches members on the other and the history; notices and admin mutes reach both nodes', async () => {
    const room = await createRoom('chat');
    const host = await join(gw1, room, 'hana', 'host');
    const guest = await join(gw2, room, 'gus');
    await waitFor('gus in the roster', () => host.rosterUsers().includes('gus'));
    for (let i = 1; i <= 3; i++) host.chat(`hello ${i} from node 1 ✨`);
    await waitFor('3 chats at the guest', () => guest.chats.length === 3);
    guest.chat('hi from node 2'); // after them in the room's order
    await waitFor('4 chats at the guest', () => guest.chats.length === 4);
    expect((await api('POST', `/v1/rooms/${room}/notices`, { text: 'welcome' })).status).toBe(200);
    expect((await api('POST', `/v1/rooms/${room}/members/gus/mute`, { muted: true })).status).toBe(200);
    for (const c of [host, guest]) {
      await waitFor(
        'the notice and the mute at both',
        () => c.roomEvents.some((e) => e.endsWith(':notice:welcome')) && c.roomEvents.some((e) => e.endsWith(':members_updated:mute/gus')),
      );
    }
    expect(host.updates.at(-1)).toMatchObject({ by: 0, members: [{ userId: 'gus', muted: true }] });
    await waitFor('the history to hold all 5', async () => (await api('GET', `/v1/rooms/${room}/messages`)).json.items.length === 5);
    const history = (await api('GET', `/v1/rooms/${room}/messages?limit=3`)).json;
    expect(history.items.map((m: { text: string; userId: string | null }) => `${m.userId}:${m.text}`)).toEqual([
      'null:welcome',
      'gus:hi from node 2',
      'hana:hello 3 from node 1 ✨',
    ]);
    const rest = (await api('GET', `/v1/rooms/${room}/messages?limit=3&before=${history.nextBefore}`)).json;
    expect(rest.items.map((m: { text: string }) => m.text)).toEqual(['hello 2 from node 1 ✨', 'hello 1 from node 1 ✨']);
  });

  it('while its database is down the admin API answers 503 and stays up; chat meanwhile is stored when it returns', async () => {
    const room = await createRoom('outage');
    const host = await join(gw1, room, 'olga', 'host');
    proxy.cut();
    const res = await api('GET', '/v1/rooms');
    expect([res.status, res.json.error.code]).toEqual([503, 'DATABASE_UNAVAILABLE']);
    expect((await fetch(`${admin.httpUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${admin.httpUrl}/healthz`)).status).toBe(200);
    host.chat('during the outage');
    await waitFor('the chat echoed', () => host.chats.some((c) => c.text === 'during the outage'));
    // Voice and rooms do not need the database: a member joins on the other gateway (with a token
    // signed by the application, not the admin API) and hears the host across nodes.
    const guest = new RecordingClient(gw2.wsUrl);
    clients.push(guest);
    await guest.connect(joinToken('gus', room, 'listener'));
    await host.speak(60, 0x0dba, 20);
    await waitFor('the guest hears the host', () => guest.heardFrom(host.sid).length > 20, 10_000);
    proxy.restore();
    const restoredAt = Date.now();
    await waitFor('the API back', async () => (await api('GET', '/v1/rooms')).status === 200, 30_000);
    const apiBack = Date.now() - restoredAt;
    await waitFor(
      'the outage chat stored',
      async () => (await api('GET', `/v1/rooms/${room}/messages`)).json.items.some((m: { text: string }) => m.text === 'during the outage'),
      30_000,
    );
    process.stdout.write(
      `FAULT-FIGURE ${JSON.stringify({ fault: 'database stopped under the admin API', apiBackAfterRestoreMs: apiBack, historyCaughtUpAfterRestoreMs: Date.now() - restoredAt })}\n`,
    );
    expect(admin.alive).toBe(true);
    // What operators see on /metrics: the 503s, and the archive caught up.
    const metrics = await (await fetch(`${admin.httpUrl}/metrics`)).text();
    expect(Number(/voiceroom_admin_database_unavailable_total\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/voiceroom_admin_chat_queued\{[^}]*\} 0\n/);
    expect(metrics).toMatch(/voiceroom_admin_cluster_live\{[^}]*\} 1\n/);
  });
});
