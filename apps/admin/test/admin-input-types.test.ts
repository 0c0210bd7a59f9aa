/**
 * Strict input (issue 12, item 7): a JSON body is taken as sent, never converted ("5" is not an
 * integer, 42 is not a string); query strings and path parameters are text and convert by the
 * documented rules only (docs/admin-api.md §4, "Input types").
 */
import pino from 'pino';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createBus } from '@voiceroom/bus';
import { ObserverNode } from '@voiceroom/cluster';
import type { NodeId } from '@voiceroom/protocol';
import { createDataSource, migrate } from '@voiceroom/persistence';
import { createTestDatabase, TEST_JWT_SECRET, waitFor, type TestDatabase } from '@voiceroom/testkit';
import type { DataSource } from 'typeorm';
import { createAdminFastify, frameworkErrors, registerAdmin } from '../src';

const BOOTSTRAP = 'bootstrap-key-for-the-typed-input-tests-01';
const auth = { authorization: `Bearer ${BOOTSTRAP}` };

/** Every route with a body: a valid body, and per field the wrong JSON types to send instead. */
const BODY_ROUTES: { method: 'POST' | 'PATCH' | 'PUT'; url: string; valid: Record<string, unknown>; wrong: Record<string, unknown[]> }[] = [
  {
    method: 'POST',
    url: '/v1/rooms',
    valid: { name: 'Typed' },
    wrong: {
      id: [5, true, ['lobby']],
      name: [42, true, null, ['Typed'], { text: 'Typed' }],
      capacity: ['5', true, null, [5], { n: 5 }],
      seats: ['2', true, false, [2]],
      settings: ['{}', [], 5, true, null],
    },
  },
  {
    method: 'PATCH',
    url: '/v1/rooms/lobby',
    valid: { name: 'Renamed' },
    wrong: { name: [42, false, ['x']], capacity: ['5', true, [5]], seats: ['2', false, [2]], settings: ['{}', [], 1] },
  },
  { method: 'POST', url: '/v1/rooms/lobby/members/u1/mute', valid: { muted: true }, wrong: { muted: ['true', 'false', 1, 0, null, [true]] } },
  { method: 'PUT', url: '/v1/rooms/lobby/members/u1/role', valid: { role: 'speaker' }, wrong: { role: [5, true, null, ['host']] } },
  { method: 'POST', url: '/v1/rooms/lobby/notices', valid: { text: 'hello' }, wrong: { text: [5, true, null, ['hello'], { t: 'hello' }] } },
  {
    method: 'POST',
    url: '/v1/rooms/lobby/tokens',
    valid: { userId: 'u1' },
    wrong: { userId: [5, true, null, ['u1']], role: [1, ['host']], name: [42, true, ['Al']], ttlSeconds: ['60', '600', true, [600]] },
  },
  {
    method: 'POST',
    url: '/v1/bans',
    valid: { userId: 'u1' },
    wrong: { userId: [5, true, null, ['u1']], roomId: [5, true, ['lobby']], durationSeconds: ['60', true, [60]], reason: [5, true, null, ['spam']] },
  },
  { method: 'POST', url: '/v1/api-keys', valid: { name: 'k', role: 'viewer' }, wrong: { name: [42, true, null, ['k']], role: [1, true, ['viewer']] } },
];

describe.each([
  ['the standalone admin server', () => createAdminFastify({ loggerInstance: pino({ level: 'silent' }) })],
  [
    // The gateway's instance (embedded admin API) is built with Ajv's type conversion on.
    'an instance with type conversion on (as the gateway builds it)',
    () =>
      Fastify({
        // Typed as the gateway passes it (FastifyServerOptions' logger), so the instance is a plain FastifyInstance.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- it picks Fastify's Logger type parameter
        loggerInstance: pino({ level: 'silent' }) as FastifyBaseLogger,
        frameworkErrors,
        routerOptions: { maxParamLength: 1000 },
        ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
      }),
  ],
])('admin API input types on %s', (_name, makeApp) => {
  let db: TestDatabase;
  let ds: DataSource;
  let node: ObserverNode;
  let app: FastifyInstance;
  let stopAdmin: () => Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase('voiceroom_types');
    ds = createDataSource({ url: db.url, connectTimeoutMs: 1000 });
    await ds.initialize();
    await migrate(ds);
    const log = pino({ level: 'silent' });
    const bus = createBus('types-test' as NodeId, { kind: 'memory' }, log);
    node = new ObserverNode('types-test' as NodeId, { bus, log, beatIntervalMs: 200, timeoutMs: 2000, syncTimeoutMs: 300, requestTimeoutMs: 3000 }, log);
    await bus.start(node);
    node.replica.start();
    await waitFor('the observer to be live', () => node.isLive());
    app = makeApp();
    const admin = await registerAdmin(app, {
      config: {
        rooms: { capacity: 50, seats: 8 },
        tokenMaxTtlSeconds: 86400,
        jwtSecret: TEST_JWT_SECRET,
        adminJwtSecret: undefined,
        bootstrapKey: BOOTSTRAP,
        dbTimeoutMs: 1000,
      },
      ds,
      cluster: node,
    });
    stopAdmin = admin.stop;
    await app.ready();
    const lobby = await app.inject({ method: 'POST', url: '/v1/rooms', headers: auth, payload: { id: 'lobby', name: 'Lobby' } });
    expect(lobby.statusCode).toBe(201);
  });

  afterAll(async () => {
    await app?.close();
    await stopAdmin?.();
    await node?.replica.close(100);
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  const cases = BODY_ROUTES.flatMap((route) => Object.entries(route.wrong).flatMap(([field, values]) => values.map((value) => ({ ...route, field, value }))));

  it(`refuses a wrong JSON type in every body field of every route (${cases.length} cases) with 400 VALIDATION_FAILED naming the field`, async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const { method, url, valid, field, value } of cases) {
      const payload = JSON.stringify({ ...valid, [field]: value });
      const res = await app.inject({ method, url, headers: { ...auth, 'content-type': 'application/json' }, payload });
      const error = res.json().error as { code?: string; field?: string } | undefined;
      got.push(`${method} ${url} ${payload} → ${res.statusCode} ${error?.code} ${error?.field}`);
      want.push(`${method} ${url} ${payload} → 400 VALIDATION_FAILED /body/${field}`);
    }
    expect(got).toEqual(want);
    // None of them did anything.
    const rooms = await app.inject({ method: 'GET', url: '/v1/rooms', headers: auth });
    expect(rooms.json().items.map((r: { id: string; name: string; capacity: number }) => `${r.id} ${r.name} ${r.capacity}`)).toEqual(['lobby Lobby 50']);
    expect((await app.inject({ method: 'GET', url: '/v1/bans', headers: auth })).json().items).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/v1/api-keys', headers: auth })).json().items).toEqual([]);
  });

  it('refuses a body that is not a JSON object, naming /body', async () => {
    for (const payload of ['"Typed"', '[{"name":"Typed"}]', '5', 'true', 'null']) {
      const res = await app.inject({ method: 'POST', url: '/v1/rooms', headers: { ...auth, 'content-type': 'application/json' }, payload });
      expect([payload, res.statusCode, res.json().error.code, res.json().error.field]).toEqual([payload, 400, 'VALIDATION_FAILED', '/body']);
    }
  });

  it('takes the valid bodies as before', async () => {
    const room = await app.inject({
      method: 'POST',
      url: '/v1/rooms',
      headers: auth,
      payload: { id: 'typed', name: 'Typed', capacity: 5, seats: 2, settings: { topic: 'x' } },
    });
    expect([room.statusCode, room.json().capacity, room.json().seats]).toEqual([201, 5, 2]);
    const token = await app.inject({ method: 'POST', url: '/v1/rooms/typed/tokens', headers: auth, payload: { userId: 'u1', ttlSeconds: 600, name: 'Al' } });
    expect(token.statusCode).toBe(201);
    const ban = await app.inject({ method: 'POST', url: '/v1/bans', headers: auth, payload: { userId: 'u9', roomId: null, durationSeconds: 60, reason: 'r' } });
    expect([ban.statusCode, ban.json().roomId]).toEqual([201, null]);
    expect((await app.inject({ method: 'DELETE', url: `/v1/bans/${ban.json().id}`, headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: '/v1/rooms/typed', headers: auth })).statusCode).toBe(200);
  });

  it('converts query strings and path parameters by the documented rules only', async () => {
    const refused: [string, string][] = [
      ['/v1/rooms?limit=2e1', '/querystring/limit'],
      ['/v1/rooms?limit=0x14', '/querystring/limit'],
      ['/v1/rooms?limit=20.0', '/querystring/limit'],
      ['/v1/rooms?limit=%2020', '/querystring/limit'],
      ['/v1/rooms?limit=%2B20', '/querystring/limit'],
      ['/v1/rooms?limit=20%20', '/querystring/limit'],
      ['/v1/rooms?limit=', '/querystring/limit'],
      ['/v1/rooms?limit=Infinity', '/querystring/limit'],
      ['/v1/rooms?offset=1e309', '/querystring/offset'],
      ['/v1/rooms?offset=1234567890123456', '/querystring/offset'],
      ['/v1/rooms?limit=0', '/querystring/limit'],
      ['/v1/rooms?limit=-1', '/querystring/limit'],
      ['/v1/rooms?limit=201', '/querystring/limit'],
      ['/v1/rooms?limit=5&limit=5', '/querystring/limit'],
      ['/v1/rooms?status=OPEN', '/querystring/status'],
      ['/v1/rooms?status=open&status=open', '/querystring/status'],
      ['/v1/rooms?colour=red', '/querystring/colour'],
      ['/v1/bans?active=1', '/querystring/active'],
      ['/v1/bans?active=TRUE', '/querystring/active'],
      ['/v1/bans?active=', '/querystring/active'],
      ['/v1/bans?userId=', '/querystring/userId'],
      ['/v1/audit?before=1e3', '/querystring/before'],
      ['/v1/rooms/lobby/messages?before=0', '/querystring/before'],
    ];
    for (const [url, field] of refused) {
      const res = await app.inject({ method: 'GET', url, headers: auth });
      expect([url, res.statusCode, res.json().error?.code, res.json().error?.field]).toEqual([url, 400, 'VALIDATION_FAILED', field]);
    }
    for (const [method, url] of [
      ['DELETE', '/v1/bans/1e3'],
      ['DELETE', '/v1/bans/0x10'],
      ['DELETE', '/v1/bans/1.0'],
      ['DELETE', '/v1/bans/0'],
      ['GET', '/v1/rooms/has%20space'],
    ] as const) {
      const res = await app.inject({ method, url, headers: auth });
      expect([url, res.statusCode, res.json().error.code, res.json().error.field?.startsWith('/params/')]).toEqual([url, 400, 'VALIDATION_FAILED', true]);
    }
    // Accepted forms.
    const page = await app.inject({ method: 'GET', url: '/v1/rooms?limit=020&offset=0&status=open', headers: auth });
    expect([page.statusCode, page.json().limit, page.json().offset]).toEqual([200, 20, 0]);
    expect((await app.inject({ method: 'GET', url: '/v1/bans?active=true&limit=5', headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/bans?active=false', headers: auth })).statusCode).toBe(200);
    const lift = await app.inject({ method: 'DELETE', url: '/v1/bans/007', headers: auth });
    expect([lift.statusCode, lift.json().error.code]).toEqual([404, 'BAN_NOT_FOUND']);
    expect((await app.inject({ method: 'GET', url: '/v1/audit?targetType=&targetId=', headers: auth })).statusCode).toBe(200);
  });
});
