/**
 * The window between connecting to the database and the end of its migrations: the tables may
 * not exist yet. A request then gets 503 DATABASE_UNAVAILABLE (retry later), never a 500 for a
 * missing table, and readiness says the database is not ready. (Found when the bus started
 * faster than the migrations ran: /readyz answered 200 and the first POST /v1/rooms got 500.)
 */
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { createBus } from '@voiceroom/bus';
import { ObserverNode } from '@voiceroom/cluster';
import type { NodeId } from '@voiceroom/protocol';
import { createDataSource, isMigrated, migrate } from '@voiceroom/persistence';
import { TEST_JWT_SECRET, waitFor } from '@voiceroom/testkit';
import type { DataSource } from 'typeorm';
import { adminReadiness, createAdminFastify, registerAdmin } from '../src';

const BOOTSTRAP = 'bootstrap-key-for-the-migration-test-0123';

describe('admin API while its database is connected but not yet migrated', () => {
  let ds: DataSource;
  let node: ObserverNode;
  let app: FastifyInstance;
  let stopAdmin: () => Promise<void>;

  beforeAll(async () => {
    ds = createDataSource({ url: 'sqlite::memory:', connectTimeoutMs: 1000 });
    await ds.initialize(); // connected, no tables yet
    const log = pino({ level: 'silent' });
    const bus = createBus('admin-migrating' as NodeId, { kind: 'memory' }, log);
    node = new ObserverNode('admin-migrating' as NodeId, { bus, log, beatIntervalMs: 200, timeoutMs: 2000, syncTimeoutMs: 500, requestTimeoutMs: 3000 }, log);
    await bus.start(node);
    node.replica.start();
    await waitFor('the observer to be live', () => node.isLive());
    app = createAdminFastify({ loggerInstance: log });
    const admin = await registerAdmin(app, {
      config: {
        rooms: { capacity: 50, seats: 8 },
        tokenMaxTtlSeconds: 86400,
        jwtSecret: TEST_JWT_SECRET,
        adminJwtSecret: 'admin-jwt-secret-for-tests-0123456789',
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
  });

  it('answers 503 DATABASE_UNAVAILABLE and is not ready until the migrations ran, then works', async () => {
    const create = () =>
      app.inject({ method: 'POST', url: '/v1/rooms', headers: { authorization: `Bearer ${BOOTSTRAP}` }, payload: { id: 'migrating', name: 'Migrating' } });
    expect(isMigrated(ds)).toBe(false);
    const early = await create();
    expect(early.statusCode).toBe(503);
    expect(early.json()).toEqual({ error: { code: 'DATABASE_UNAVAILABLE', message: expect.any(String) } });
    expect((await adminReadiness(ds, node, 1000)).database).toBe(false);

    await migrate(ds);
    expect((await adminReadiness(ds, node, 1000)).database).toBe(true);
    const later = await create();
    expect(later.statusCode).toBe(201);
  });
});
