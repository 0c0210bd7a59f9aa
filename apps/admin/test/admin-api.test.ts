import pino from 'pino';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import { createBus } from '@voiceroom/bus';
import { ObserverNode } from '@voiceroom/cluster';
import type { NodeId, RoomId, UserId } from '@voiceroom/protocol';
import { createDataSource, migrate } from '@voiceroom/persistence';
import { createTestDatabase, TcpProxy, TEST_JWT_SECRET, waitFor, type TestDatabase } from '@voiceroom/testkit';
import { createTokenService } from '@voiceroom/tokens';
import type { DataSource } from 'typeorm';
import { ADMIN_AUDIENCE, createAdminFastify, registerAdmin } from '../src';

const ADMIN_JWT_SECRET = 'admin-jwt-secret-for-tests-0123456789';
const BOOTSTRAP = 'bootstrap-key-for-the-admin-tests-0123';
const adminJwt = createSigner({ key: ADMIN_JWT_SECRET, aud: ADMIN_AUDIENCE, expiresIn: 60_000 });

describe('admin API on MariaDB (inject)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let ds: DataSource;
  let node: ObserverNode;
  let bus: ReturnType<typeof createBus>;
  let app: FastifyInstance;
  let stopAdmin: () => Promise<void>;
  const auth = (token = BOOTSTRAP) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    db = await createTestDatabase('voiceroom_admin');
    proxy = new TcpProxy('127.0.0.1', 3306);
    const port = await proxy.start();
    const url = new URL(db.url);
    url.host = `127.0.0.1:${port}`;
    ds = createDataSource({ url: url.toString(), connectTimeoutMs: 1000 });
    await ds.initialize();
    await migrate(ds);
    const log = pino({ level: 'silent' });
    bus = createBus('admin-test' as NodeId, { kind: 'memory' }, log);
    node = new ObserverNode('admin-test' as NodeId, { bus, log, beatIntervalMs: 200, timeoutMs: 2000, syncTimeoutMs: 500, requestTimeoutMs: 3000 }, log);
    await bus.start(node);
    node.replica.start();
    await waitFor('the observer to be live', () => node.isLive());
    app = createAdminFastify({ loggerInstance: log });
    const admin = await registerAdmin(app, {
      config: {
        rooms: { capacity: 50, seats: 8 },
        tokenMaxTtlSeconds: 86400,
        jwtSecret: TEST_JWT_SECRET,
        adminJwtSecret: ADMIN_JWT_SECRET,
        bootstrapKey: BOOTSTRAP,
        dbTimeoutMs: 1000,
      },
      ds,
      cluster: node,
    });
    stopAdmin = admin.stop;
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await stopAdmin?.();
    await node?.replica.close(100);
    if (ds?.isInitialized) await ds.destroy();
    await proxy?.stop();
    await db?.drop();
  });

  async function createRoom(body: Record<string, unknown>, token = BOOTSTRAP) {
    return app.inject({ method: 'POST', url: '/v1/rooms', headers: auth(token), payload: body });
  }

  it('requires credentials on every route but health and docs: 401 without or with wrong ones, 403 for a lower role', async () => {
    for (const [method, url] of [
      ['GET', '/v1/rooms'],
      ['POST', '/v1/rooms'],
      ['GET', '/v1/stats'],
      ['DELETE', '/v1/bans/1'],
      ['GET', '/v1/audit'],
    ] as const) {
      const res = await app.inject({ method, url });
      expect([url, res.statusCode, res.json().error.code]).toEqual([url, 401, 'UNAUTHENTICATED']);
    }
    const wrong = await app.inject({ method: 'GET', url: '/v1/rooms', headers: auth('vrk_nope_nope') });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
    const forged = await app.inject({
      method: 'GET',
      url: '/v1/rooms',
      headers: auth(createSigner({ key: 'another-key-entirely-0123456789abcd', aud: ADMIN_AUDIENCE })({ sub: 'eve', role: 'admin' })),
    });
    expect(forged.statusCode).toBe(401);
    const expired = await app.inject({
      method: 'GET',
      url: '/v1/rooms',
      headers: auth(createSigner({ key: ADMIN_JWT_SECRET, aud: ADMIN_AUDIENCE })({ sub: 'old', role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 })),
    });
    expect(expired.json().error.code).toBe('TOKEN_EXPIRED');
    // A viewer key (created by the bootstrap admin) reads but cannot change anything.
    const created = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth(), payload: { name: 'dashboard', role: 'viewer' } });
    expect(created.statusCode).toBe(201);
    const viewerKey = created.json().key as string;
    expect(viewerKey).toMatch(/^vrk_/);
    expect((await app.inject({ method: 'GET', url: '/v1/rooms', headers: auth(viewerKey) })).statusCode).toBe(200);
    const denied = await createRoom({ name: 'not allowed' }, viewerKey);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('FORBIDDEN');
    // A moderator JWT may act on members but not create rooms.
    const moderator = adminJwt({ sub: 'mod-1', role: 'moderator' });
    expect((await createRoom({ name: 'nope' }, moderator)).statusCode).toBe(403);
    // The key list never shows secrets; a revoked key stops working.
    const list = await app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth() });
    expect(JSON.stringify(list.json())).not.toContain(viewerKey.split('_')[2]);
    await waitFor('the key use recorded', async () => {
      const keys = (await app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth() })).json().items as { name: string; lastUsedAt: string | null }[];
      return keys.find((k) => k.name === 'dashboard')?.lastUsedAt !== null;
    });
    const bootstrap = await app.inject({ method: 'DELETE', url: '/v1/api-keys/bootstrap', headers: auth() });
    expect([bootstrap.statusCode, bootstrap.json().error.code]).toEqual([409, 'BOOTSTRAP_KEY']);
    const unknownKey = await app.inject({ method: 'DELETE', url: '/v1/api-keys/nokey', headers: auth() });
    expect([unknownKey.statusCode, unknownKey.json().error.code]).toEqual([404, 'API_KEY_NOT_FOUND']);
    const id = created.json().id as string;
    expect((await app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: auth() })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/rooms', headers: auth(viewerKey) })).statusCode).toBe(401);
    // Health and docs are public.
    expect((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200);
  });

  it('creates, lists (paged, by status), gets, updates, closes and deletes rooms; the cluster directory follows', async () => {
    const admin = adminJwt({ sub: 'ops', role: 'admin' });
    const a = await createRoom({ id: 'lobby', name: 'Lobby', capacity: 20, seats: 4, settings: { topic: 'hello' } }, admin);
    expect(a.statusCode).toBe(201);
    expect(a.json()).toMatchObject({ id: 'lobby', name: 'Lobby', capacity: 20, seats: 4, status: 'open', settings: { topic: 'hello' }, online: 0 });
    expect(node.state.directory.get('lobby' as RoomId)).toEqual({ capacity: 20, seats: 4, open: true });
    const b = await createRoom({ name: 'Music' });
    expect(b.json()).toMatchObject({ capacity: 50, seats: 8 });
    expect(b.json().id).toMatch(/^r_[0-9a-f]{16}$/);
    const dup = await createRoom({ name: 'Lobby' });
    expect([dup.statusCode, dup.json().error.code]).toEqual([409, 'ROOM_EXISTS']);
    const dupId = await createRoom({ id: 'lobby', name: 'Other' });
    expect(dupId.statusCode).toBe(409);

    const page1 = await app.inject({ method: 'GET', url: '/v1/rooms?limit=1', headers: auth() });
    expect(page1.json()).toMatchObject({ total: 2, limit: 1, offset: 0, items: [{ name: 'Lobby' }] });
    const page2 = await app.inject({ method: 'GET', url: '/v1/rooms?limit=1&offset=1', headers: auth() });
    expect(page2.json().items.map((r: { name: string }) => r.name)).toEqual(['Music']);

    const patched = await app.inject({ method: 'PATCH', url: '/v1/rooms/lobby', headers: auth(), payload: { capacity: 30, seats: 5 } });
    expect(patched.json()).toMatchObject({ capacity: 30, seats: 5, name: 'Lobby' });
    expect(node.state.directory.get('lobby' as RoomId)).toEqual({ capacity: 30, seats: 5, open: true });

    const closed = await app.inject({ method: 'POST', url: `/v1/rooms/${b.json().id}/close`, headers: auth() });
    expect(closed.json().status).toBe('closed');
    expect(node.state.directory.get(b.json().id)).toMatchObject({ open: false });
    const open = await app.inject({ method: 'GET', url: '/v1/rooms?status=open', headers: auth() });
    expect(open.json().items.map((r: { id: string }) => r.id)).toEqual(['lobby']);
    const token = await app.inject({ method: 'POST', url: `/v1/rooms/${b.json().id}/tokens`, headers: auth(), payload: { userId: 'u1' } });
    expect([token.statusCode, token.json().error.code]).toEqual([409, 'ROOM_CLOSED']);

    expect((await app.inject({ method: 'DELETE', url: `/v1/rooms/${b.json().id}`, headers: auth() })).statusCode).toBe(200);
    expect(node.state.directory.has(b.json().id)).toBe(false);
    const gone = await app.inject({ method: 'GET', url: `/v1/rooms/${b.json().id}`, headers: auth() });
    expect([gone.statusCode, gone.json().error.code]).toEqual([404, 'ROOM_NOT_FOUND']);

    const audit = await app.inject({ method: 'GET', url: '/v1/audit?targetType=room&targetId=lobby', headers: auth() });
    expect(audit.json().items.map((e: { action: string; actor: string }) => `${e.actor} ${e.action}`)).toEqual([
      'key:bootstrap room.update',
      'jwt:ops room.create',
    ]);
  });

  it('rejects malformed input with 400 naming the field, and unknown ids with 404, in one error shape', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/rooms', { name: 'x', capacity: 0 }, '/body/capacity'],
      ['POST', '/v1/rooms', { name: 'x', colour: 'red' }, '/body/colour'],
      ['POST', '/v1/rooms', { capacity: 5 }, '/body/name'],
      ['POST', '/v1/rooms', { id: 'has space', name: 'x' }, '/body/id'],
      ['POST', '/v1/bans', { userId: 'u1', durationSeconds: -5 }, '/body/durationSeconds'],
      ['PATCH', '/v1/rooms/lobby', {}, '/body'],
      ['POST', '/v1/rooms/lobby/tokens', { userId: 'u1', role: 'king' }, '/body/role'],
      ['POST', '/v1/rooms/lobby/tokens', { userId: 'u1', ttlSeconds: 999_999_999 }, '/body/ttlSeconds'],
      ['POST', '/v1/rooms/lobby/members/u1/mute', { muted: 'yes' }, '/body/muted'],
    ];
    for (const [method, url, payload, field] of cases) {
      const res = await app.inject({ method: method as 'POST', url, headers: auth(), payload: payload as object });
      expect([url, res.statusCode, res.json().error.code, res.json().error.field]).toEqual([url, 400, 'VALIDATION_FAILED', field]);
    }
    const list = await app.inject({ method: 'GET', url: '/v1/rooms?limit=5000', headers: auth() });
    expect(list.json().error.field).toBe('/querystring/limit');
    const badJson = await app.inject({ method: 'POST', url: '/v1/rooms', headers: { ...auth(), 'content-type': 'application/json' }, payload: '{"name": ' });
    expect([badJson.statusCode, badJson.json().error.code]).toEqual([400, 'BAD_REQUEST']);
    const huge = await app.inject({ method: 'POST', url: '/v1/rooms', headers: auth(), payload: { name: 'big', settings: { blob: 'x'.repeat(5000) } } });
    expect([huge.statusCode, huge.json().error.field]).toEqual([400, '/body/settings']);
    for (const url of ['/v1/rooms/nope', '/v1/rooms/nope/stats']) {
      const res = await app.inject({ method: 'GET', url, headers: auth() });
      expect([res.statusCode, res.json().error.code]).toEqual([404, 'ROOM_NOT_FOUND']);
    }
    const kick = await app.inject({ method: 'POST', url: '/v1/rooms/lobby/members/ghost/kick', headers: auth() });
    expect([kick.statusCode, kick.json().error.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
    const lift = await app.inject({ method: 'DELETE', url: '/v1/bans/999999', headers: auth() });
    expect([lift.statusCode, lift.json().error.code]).toEqual([404, 'BAN_NOT_FOUND']);
    const longId = await app.inject({ method: 'GET', url: `/v1/rooms/${'x'.repeat(120)}`, headers: auth() });
    expect([longId.statusCode, longId.json().error.field]).toEqual([400, '/params/roomId']);
    const tooLong = await app.inject({ method: 'GET', url: `/v1/rooms/${'x'.repeat(1200)}` });
    expect([tooLong.statusCode, tooLong.json().error.code]).toEqual([414, 'URI_TOO_LONG']);
    const text = await app.inject({ method: 'POST', url: '/v1/rooms', headers: { ...auth(), 'content-type': 'text/plain' }, payload: '{"name":"x"}' });
    expect([text.statusCode, text.json().error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const route = await app.inject({ method: 'GET', url: '/v1/nothing', headers: auth() });
    expect([route.statusCode, route.json().error.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
  });

  it('issues join tokens the gateway accepts, and refuses them to a banned user until the ban is lifted', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/rooms/lobby/tokens',
      headers: auth(),
      payload: { userId: 'carol', role: 'listener', name: 'Carol', ttlSeconds: 600 },
    });
    expect(res.statusCode).toBe(201);
    const verified = createTokenService(TEST_JWT_SECRET).verify(res.json().token);
    expect(verified).toMatchObject({ ok: true, claims: { userId: 'carol', room: 'lobby', role: 'listener', name: 'Carol' } });
    expect(Math.abs(Date.parse(res.json().expiresAt) - (Date.now() + 600_000))).toBeLessThan(5000);

    const ban = await app.inject({
      method: 'POST',
      url: '/v1/bans',
      headers: auth(),
      payload: { userId: 'carol', roomId: 'lobby', durationSeconds: 3600, reason: 'spam' },
    });
    expect(ban.statusCode).toBe(201);
    expect(ban.json()).toMatchObject({ userId: 'carol', roomId: 'lobby', reason: 'spam', active: true, createdBy: 'key:bootstrap' });
    expect(node.state.bannedUntil('lobby' as RoomId, 'carol' as UserId)).toBe(Date.parse(ban.json().expiresAt));
    const refused = await app.inject({ method: 'POST', url: '/v1/rooms/lobby/tokens', headers: auth(), payload: { userId: 'carol' } });
    expect([refused.statusCode, refused.json().error.code]).toEqual([409, 'USER_BANNED']);
    const active = await app.inject({ method: 'GET', url: '/v1/bans?userId=carol&active=true', headers: auth() });
    expect(active.json().items).toHaveLength(1);

    const lifted = await app.inject({ method: 'DELETE', url: `/v1/bans/${ban.json().id}`, headers: auth() });
    expect(lifted.json()).toMatchObject({ active: false });
    expect(node.state.bannedUntil('lobby' as RoomId, 'carol' as UserId)).toBeUndefined();
    expect((await app.inject({ method: 'DELETE', url: `/v1/bans/${ban.json().id}`, headers: auth() })).json().error.code).toBe('BAN_ALREADY_LIFTED');
    expect((await app.inject({ method: 'GET', url: '/v1/bans?userId=carol&active=true', headers: auth() })).json().items).toEqual([]);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/bans?userId=carol&active=false', headers: auth() })).json().items.map((b: { id: number }) => b.id),
    ).toEqual([ban.json().id]);
    expect((await app.inject({ method: 'POST', url: '/v1/rooms/lobby/tokens', headers: auth(), payload: { userId: 'carol' } })).statusCode).toBe(201);
  });

  it('lists live members, acts on them, stores their chat and pages the history newest first; stats count them', async () => {
    const room = 'lobby' as RoomId;
    const join = (userId: string, role: 'host' | 'speaker' | 'listener') =>
      node.replica.publish({ t: 'join', req: `test-${userId}`, room, userId: userId as UserId, role, settings: { capacity: 50, seats: 8 }, graceMs: 1000 });
    await join('dora', 'host');
    await join('eli', 'listener');
    await waitFor('both members in the state', () => node.state.rooms.get(room)?.members.size === 2);
    const members = await app.inject({ method: 'GET', url: '/v1/rooms/lobby/members', headers: auth() });
    expect(
      members
        .json()
        .items.map((m: { userId: string; role: string; node: string }) => `${m.userId}:${m.role}:${m.node}`)
        .sort(),
    ).toEqual(['dora:host:admin-test', 'eli:listener:admin-test']);
    const sid = node.state.rooms.get(room)!.byUser.get('dora' as UserId)!.sid;
    for (let i = 1; i <= 5; i++) await node.replica.publish({ t: 'cmd', req: `c${i}`, room, by: sid, cmd: { type: 'chat', text: `message ${i} 🎙️` } });
    const emoji = await app.inject({ method: 'POST', url: '/v1/rooms/lobby/notices', headers: auth(), payload: { text: '🎙️'.repeat(400) } });
    expect([emoji.statusCode, emoji.json().error.field]).toEqual([400, '/body/text']); // 800 code points (the schema allows 1000), 1200 UTF-16 units
    expect((await app.inject({ method: 'POST', url: '/v1/rooms/lobby/notices', headers: auth(), payload: { text: 'be nice' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/rooms/lobby/members/eli/mute', headers: auth(), payload: { muted: true } })).statusCode).toBe(200);
    expect(node.state.rooms.get(room)!.byUser.get('eli' as UserId)!.muted).toBe(true);
    const promote = await app.inject({ method: 'PUT', url: '/v1/rooms/lobby/members/eli/role', headers: auth(), payload: { role: 'speaker' } });
    expect(promote.statusCode).toBe(200);
    expect(node.state.rooms.get(room)!.byUser.get('eli' as UserId)!.role).toBe('speaker');

    await waitFor(
      '6 messages archived',
      async () => (await app.inject({ method: 'GET', url: '/v1/rooms/lobby/stats', headers: auth() })).json().messages === 6,
    );
    const first = await app.inject({ method: 'GET', url: '/v1/rooms/lobby/messages?limit=4', headers: auth() });
    const page = first.json();
    expect(page.items.map((m: { text: string }) => m.text)).toEqual(['be nice', 'message 5 🎙️', 'message 4 🎙️', 'message 3 🎙️']);
    expect(page.items[0]).toMatchObject({ kind: 'notice', userId: null });
    expect(page.items[1]).toMatchObject({ kind: 'chat', userId: 'dora' });
    const second = await app.inject({ method: 'GET', url: `/v1/rooms/lobby/messages?limit=4&before=${page.nextBefore}`, headers: auth() });
    expect(second.json().items.map((m: { text: string }) => m.text)).toEqual(['message 2 🎙️', 'message 1 🎙️']);
    expect(second.json().nextBefore).toBeNull();

    const stats = await app.inject({ method: 'GET', url: '/v1/stats', headers: auth() });
    expect(stats.json()).toMatchObject({ rooms: { configured: 1, open: 1, live: 1 }, membersOnline: 2, nodes: [{ id: 'admin-test', members: 2 }] });
    const roomStats = await app.inject({ method: 'GET', url: '/v1/rooms/lobby/stats', headers: auth() });
    expect(roomStats.json()).toMatchObject({ members: 2, hosts: 1, speakers: 1, listeners: 0, muted: 1 });

    const kick = await app.inject({ method: 'POST', url: '/v1/rooms/lobby/members/eli/kick', headers: auth() });
    expect(kick.statusCode).toBe(200);
    expect(node.state.rooms.get(room)!.byUser.has('eli' as UserId)).toBe(false);
    const audit = await app.inject({ method: 'GET', url: '/v1/audit?targetType=user&targetId=eli', headers: auth() });
    expect(audit.json().items.map((e: { action: string }) => e.action)).toEqual(['member.kick', 'member.role', 'member.mute']);
  });

  it('answers 503 while the database is down, never crashes, and recovers when it returns; chat sent meanwhile is stored after', async () => {
    proxy.cut();
    const admin = adminJwt({ sub: 'ops', role: 'admin' });
    for (const [method, url, payload] of [
      ['GET', '/v1/rooms', undefined],
      ['POST', '/v1/rooms', { name: 'during outage' }],
      ['GET', '/v1/rooms/lobby/messages', undefined],
      ['POST', '/v1/rooms/lobby/tokens', { userId: 'x1' }],
    ] as const) {
      const res = await app.inject({ method, url, headers: auth(admin), ...(payload ? { payload } : {}) });
      expect([url, res.statusCode, res.json().error.code]).toEqual([url, 503, 'DATABASE_UNAVAILABLE']);
    }
    // An API key needs the database to be checked: also 503, not 401.
    expect((await app.inject({ method: 'GET', url: '/v1/rooms', headers: auth('vrk_abc_def') })).statusCode).toBe(503);
    const sid = node.state.rooms.get('lobby' as RoomId)!.byUser.get('dora' as UserId)!.sid;
    await node.replica.publish({
      t: 'cmd',
      req: 'outage-chat',
      room: 'lobby' as RoomId,
      by: sid,
      cmd: { type: 'chat', text: 'said while the database was down' },
    });
    await new Promise((r) => setTimeout(r, 300));
    proxy.restore();
    await waitFor(
      'the API to answer again',
      async () => (await app.inject({ method: 'GET', url: '/v1/rooms', headers: auth(admin) })).statusCode === 200,
      20_000,
    );
    await waitFor(
      'the queued chat to be stored',
      async () => {
        const res = await app.inject({ method: 'GET', url: '/v1/rooms/lobby/messages?limit=1', headers: auth(admin) });
        return res.json().items[0]?.text === 'said while the database was down';
      },
      20_000,
    );
  });

  it('answers every route with a 4xx, never a 500, whatever the body, query or path holds', async () => {
    const routes: [string, string][] = [
      ['POST', '/v1/rooms'],
      ['GET', '/v1/rooms'],
      ['GET', '/v1/rooms/{id}'],
      ['PATCH', '/v1/rooms/{id}'],
      ['POST', '/v1/rooms/{id}/close'],
      ['POST', '/v1/rooms/{id}/open'],
      ['DELETE', '/v1/rooms/{id}'],
      ['GET', '/v1/rooms/{id}/members'],
      ['POST', '/v1/rooms/{id}/members/{id}/kick'],
      ['POST', '/v1/rooms/{id}/members/{id}/mute'],
      ['PUT', '/v1/rooms/{id}/members/{id}/role'],
      ['POST', '/v1/rooms/{id}/notices'],
      ['POST', '/v1/bans'],
      ['GET', '/v1/bans'],
      ['DELETE', '/v1/bans/{id}'],
      ['POST', '/v1/rooms/{id}/tokens'],
      ['GET', '/v1/rooms/{id}/messages'],
      ['GET', '/v1/stats'],
      ['GET', '/v1/rooms/{id}/stats'],
      ['POST', '/v1/api-keys'],
      ['DELETE', '/v1/api-keys/{id}'],
      ['GET', '/v1/audit'],
    ];
    const ids = ['%00', '..%2F..', 'x'.repeat(300), '%F0%9F%8E%99', '-1', '1e309', 'lobby'];
    const bodies: unknown[] = [
      null,
      [],
      'text',
      12,
      true,
      { __proto__: { role: 'admin' } },
      { name: { deep: [1, { x: null }] } },
      { userId: 'a'.repeat(10_000) },
      { name: '\u0000\ud800', capacity: 1.5, seats: '3', role: null, muted: 0, text: '', durationSeconds: 1e20 },
    ];
    const queries = ['', '?limit=-1', '?limit=abc&offset=1e400', '?before=0', '?status=maybe', '?active=perhaps&userId=%00', '?limit=1&limit=2'];
    let checked = 0;
    for (const [method, template] of routes) {
      for (const id of ids) {
        const url = template.replaceAll('{id}', id);
        for (const payload of method === 'GET' || method === 'DELETE' ? [undefined] : bodies) {
          for (const query of method === 'GET' ? queries : ['']) {
            const res = await app.inject({
              method: method as 'POST',
              url: url + query,
              headers: { ...auth(), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
              ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
            });
            checked++;
            if (res.statusCode >= 500 || !(res.statusCode < 300 || typeof res.json().error?.code === 'string')) {
              throw new Error(`${method} ${url}${query} ${JSON.stringify(payload)?.slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  // Last: it closes the event lane for good.
  it('stores room and ban changes when the event log cannot take them (202 Accepted), and refuses live actions with 503', async () => {
    await bus.close();
    const created = await createRoom({ id: 'later', name: 'Applied later' });
    expect(created.statusCode).toBe(202);
    expect((await app.inject({ method: 'GET', url: '/v1/rooms/later', headers: auth() })).json().status).toBe('open');
    expect(node.state.directory.has('later' as RoomId)).toBe(false);
    const ban = await app.inject({ method: 'POST', url: '/v1/bans', headers: auth(), payload: { userId: 'zed' } });
    expect([ban.statusCode, ban.json().active]).toEqual([202, true]);
    const kick = await app.inject({ method: 'POST', url: '/v1/rooms/lobby/members/dora/kick', headers: auth() });
    expect([kick.statusCode, kick.json().error.code]).toEqual([503, 'CLUSTER_UNAVAILABLE']);
  });
});
