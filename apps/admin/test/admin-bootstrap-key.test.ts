import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { createBus } from '@voiceroom/bus';
import { ObserverNode } from '@voiceroom/cluster';
import type { NodeId } from '@voiceroom/protocol';
import { ApiKeyEntity, createDataSource } from '@voiceroom/persistence';
import { createTestDatabase, TEST_JWT_SECRET, waitFor, type TestDatabase } from '@voiceroom/testkit';
import type { DataSource } from 'typeorm';
import { connectDatabase, createAdminFastify, hashSecret, registerAdmin } from '../src';

/**
 * The bootstrap key follows ADMIN_BOOTSTRAP_KEY across restarts: a changed value replaces the old
 * key, an unset one retires it (its `bootstrap` row is revoked at start-up), and neither
 * `<old key>` nor `vrk_bootstrap_<old key>` authenticates afterwards.
 */
const KEY_A = 'first-bootstrap-key-for-the-restart-test-0001';
const KEY_B = 'second-bootstrap-key-for-the-restart-test-0002';

interface Started {
  app: FastifyInstance;
  ds: DataSource;
  logs: { level: 'info' | 'error'; msg: string; obj: object }[];
  close(): Promise<void>;
}

describe('ADMIN_BOOTSTRAP_KEY across restarts (MariaDB, inject)', () => {
  let db: TestDatabase;
  let running: Started | undefined;
  /** An admin API key created with the first bootstrap key, to look at the key list later. */
  let adminKey: string;

  /** One start of the admin API as server.ts does it: registerAdmin, then connectDatabase. */
  async function start(bootstrapKey: string | undefined): Promise<Started> {
    const logs: Started['logs'] = [];
    const log = {
      info: (obj: object, msg: string) => void logs.push({ level: 'info', msg, obj }),
      error: (obj: object, msg: string) => void logs.push({ level: 'error', msg, obj }),
      debug: () => undefined,
      warn: () => undefined,
    };
    const silent = pino({ level: 'silent' });
    const ds = createDataSource({ url: db.url, connectTimeoutMs: 1000 });
    const bus = createBus('bootkey-test' as NodeId, { kind: 'memory' }, silent);
    const node = new ObserverNode(
      'bootkey-test' as NodeId,
      { bus, log: silent, beatIntervalMs: 200, timeoutMs: 2000, syncTimeoutMs: 300, requestTimeoutMs: 3000 },
      silent,
    );
    await bus.start(node);
    node.replica.start();
    await waitFor('the observer to be live', () => node.isLive());
    const app = createAdminFastify({ loggerInstance: silent });
    const admin = await registerAdmin(app, {
      config: {
        rooms: { capacity: 50, seats: 8 },
        tokenMaxTtlSeconds: 86400,
        jwtSecret: TEST_JWT_SECRET,
        adminJwtSecret: undefined,
        bootstrapKey,
        dbTimeoutMs: 1000,
      },
      ds,
      cluster: node,
    });
    await app.ready();
    const deadline = Date.now() + 20_000;
    const ready = await connectDatabase(ds, { url: db.url, bootstrapKey }, log, () => Date.now() > deadline);
    expect(ready).toBe(true);
    running = {
      app,
      ds,
      logs,
      close: async () => {
        running = undefined;
        await app.close();
        await admin.stop();
        await node.replica.close(100);
        await bus.close();
        if (ds.isInitialized) await ds.destroy();
      },
    };
    return running;
  }

  const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });
  async function status(app: FastifyInstance, headers: Record<string, string>): Promise<number> {
    return (await app.inject({ method: 'GET', url: '/v1/api-keys', headers })).statusCode;
  }
  /** The statuses of a key in every form: raw and `vrk_bootstrap_` with Bearer, and raw with X-API-Key. */
  async function forms(app: FastifyInstance, key: string): Promise<number[]> {
    return [
      await status(app, bearer(key)),
      await status(app, bearer(`vrk_bootstrap_${key}`)),
      await status(app, { 'x-api-key': key }),
      await status(app, { 'x-api-key': `vrk_bootstrap_${key}` }),
    ];
  }
  async function bootstrapRow(app: FastifyInstance): Promise<{ revokedAt: string | null } | undefined> {
    const list = await app.inject({ method: 'GET', url: '/v1/api-keys', headers: bearer(adminKey) });
    expect(list.statusCode).toBe(200);
    return (list.json().items as { id: string; revokedAt: string | null }[]).find((k) => k.id === 'bootstrap');
  }
  const retiredLines = (s: Started) => s.logs.filter((l) => l.level === 'info' && /bootstrap key/i.test(l.msg) && /revoked/i.test(l.msg));

  beforeAll(async () => {
    db = await createTestDatabase('voiceroom_bootkey');
  });

  afterAll(async () => {
    await running?.close();
    await db?.drop();
  });

  it('with the variable set, the key authenticates as admin and is listed as id bootstrap', async () => {
    const s = await start(KEY_A);
    expect(await forms(s.app, KEY_A)).toEqual([200, 200, 200, 200]);
    const created = await s.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(KEY_A), payload: { name: 'ops', role: 'admin' } });
    expect(created.statusCode).toBe(201);
    adminKey = created.json().key as string;
    expect(await bootstrapRow(s.app)).toMatchObject({ revokedAt: null });
    expect(await status(s.app, bearer(KEY_B))).toBe(401);
    await s.close();
  });

  it('unset and restarted: the bootstrap row is revoked (logged) and the old key gets 401 in both forms', async () => {
    const s = await start(undefined);
    expect(await forms(s.app, KEY_A)).toEqual([401, 401, 401, 401]);
    expect((await bootstrapRow(s.app))?.revokedAt).toEqual(expect.any(String));
    expect(retiredLines(s)).toHaveLength(1);
    // The API still refuses to touch the row, revoked or not.
    expect((await s.app.inject({ method: 'DELETE', url: '/v1/api-keys/bootstrap', headers: bearer(adminKey) })).statusCode).toBe(409);
    await s.close();

    // A second start without it finds nothing left to retire.
    const again = await start(undefined);
    expect(await forms(again.app, KEY_A)).toEqual([401, 401, 401, 401]);
    expect(retiredLines(again)).toHaveLength(0);
    await again.close();
  });

  it('set to the old value again: the key works again and its row is active', async () => {
    const s = await start(KEY_A);
    expect(await forms(s.app, KEY_A)).toEqual([200, 200, 200, 200]);
    expect(await bootstrapRow(s.app)).toMatchObject({ revokedAt: null });
    await s.close();
  });

  it('changed to a new value and restarted: only the new key works, the old one gets 401 in both forms', async () => {
    const s = await start(KEY_B);
    expect(await forms(s.app, KEY_A)).toEqual([401, 401, 401, 401]);
    expect(await forms(s.app, KEY_B)).toEqual([200, 200, 200, 200]);
    const row = await s.ds.getRepository(ApiKeyEntity).findOneByOrFail({ id: 'bootstrap' });
    expect([row.hash, row.revokedAt]).toEqual([hashSecret(KEY_B), null]);
    expect(s.logs.filter((l) => l.level === 'info' && /bootstrap key replaced/.test(l.msg))).toHaveLength(1);
    await s.close();
  });

  it('authentication never trusts the stored row: a stale active row of another key does not let that key in', async () => {
    // As another process that still has KEY_A would leave the row (or a database from before the fix).
    const stale = { hash: hashSecret(KEY_A), revokedAt: null };
    const withB = await start(KEY_B);
    await withB.ds.getRepository(ApiKeyEntity).update({ id: 'bootstrap' }, stale);
    expect(await forms(withB.app, KEY_A)).toEqual([401, 401, 401, 401]);
    expect(await forms(withB.app, KEY_B)).toEqual([200, 200, 200, 200]);
    await withB.close();

    const unset = await start(undefined);
    // Revoked at start-up; made active again behind its back, it still does not authenticate.
    await unset.ds.getRepository(ApiKeyEntity).update({ id: 'bootstrap' }, stale);
    expect(await forms(unset.app, KEY_A)).toEqual([401, 401, 401, 401]);
    expect(await forms(unset.app, KEY_B)).toEqual([401, 401, 401, 401]);
    await unset.close();
  });
});
