import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, REPO_ROOT } from '@voiceroom/testkit';
import type { DataSource } from 'typeorm';
import {
  ApiKeyEntity,
  AuditEntryEntity,
  BanEntity,
  ChatMessageEntity,
  createDataSource,
  DatabaseUrlError,
  describeDatabaseUrl,
  isDatabaseUnavailable,
  isDuplicateKey,
  migrate,
  RoomEntity,
  UserEntity,
} from '.';

const TABLES = ['users', 'rooms', 'bans', 'chat_messages', 'audit_log', 'api_keys', 'room_events', 'room_event_dispatch', 'room_event_dead_letters'];
const APPLIED = ['InitialSchema1764400000000', 'RoomEvents1764900000000'];
const T0 = 1_764_400_000_123; // epoch ms, well above 2^32

/** Rejection of `promise`, failing the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function chat(overrides: Partial<ChatMessageEntity> = {}): Partial<ChatMessageEntity> {
  return { roomId: 'r1', roomEpoch: T0, seq: 1, kind: 'chat', authorId: 'u1', authorName: 'Ann', body: 'hi', sentAt: T0, ...overrides };
}

interface Target {
  name: string;
  driver: 'mysql' | 'mariadb' | 'sqlite';
  /** A fresh empty database: its url, and how to remove it. */
  open(): Promise<{ url: string; remove(): Promise<void> }>;
}

const targets: Target[] = [
  // The test server is MariaDB: through TypeORM's MySQL dialect (mysql://) and its MariaDB one.
  {
    name: 'MariaDB as mysql://',
    driver: 'mysql',
    open: async () => {
      const db = await createTestDatabase('voiceroom_persistence');
      return { url: db.url, remove: db.drop };
    },
  },
  {
    name: 'MariaDB as mariadb://',
    driver: 'mariadb',
    open: async () => {
      const db = await createTestDatabase('voiceroom_persistence');
      return { url: db.url.replace(/^mysql:/, 'mariadb:'), remove: db.drop };
    },
  },
  {
    name: 'SQLite',
    driver: 'sqlite',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'voiceroom-persistence-'));
      // A parent directory that does not exist yet: the driver creates it.
      return { url: `sqlite:${join(dir, 'missing', 'voiceroom.db')}`, remove: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];

describe.each(targets)('persistence on $name', (target) => {
  let ds: DataSource;
  let remove: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const db = await target.open();
    remove = db.remove;
    ds = createDataSource({ url: db.url });
    await ds.initialize();
    // A server whose default character set is not utf8mb4 (older MySQL): the migration must not depend on it.
    if (target.driver === 'mysql') await ds.query('ALTER DATABASE CHARACTER SET latin1 COLLATE latin1_swedish_ci');
  });

  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await remove?.();
  });

  it('migrates an empty database once, creating every table', async () => {
    const qr = ds.createQueryRunner();
    try {
      for (const table of TABLES) expect(await qr.hasTable(table)).toBe(false);
      expect(await migrate(ds)).toEqual(APPLIED);
      for (const table of TABLES) expect(await qr.hasTable(table)).toBe(true);
      expect(await migrate(ds)).toEqual([]);
      expect(await ds.showMigrations()).toBe(false);
    } finally {
      await qr.release();
    }
  });

  if (target.driver !== 'sqlite') {
    it('lets two processes starting at once migrate one database: one applies, the other finds it done', async () => {
      const db = await target.open();
      const [one, two] = [createDataSource({ url: db.url }), createDataSource({ url: db.url })];
      try {
        await Promise.all([one.initialize(), two.initialize()]);
        const results = await Promise.all([migrate(one), migrate(two)]);
        expect(results.map((r) => r.length).sort()).toEqual([0, APPLIED.length]);
        expect(await one.showMigrations()).toBe(false);
      } finally {
        await Promise.all([one.destroy(), two.destroy()]);
        await db.remove();
      }
    });

    it('creates InnoDB utf8mb4 tables with binary collation', async () => {
      const tables: { name: string; engine: string; collation: string }[] = await ds.query(
        'SELECT TABLE_NAME AS name, ENGINE AS engine, TABLE_COLLATION AS collation FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
      );
      for (const table of TABLES) {
        expect(tables.find((t) => t.name === table)).toEqual({ name: table, engine: 'InnoDB', collation: 'utf8mb4_bin' });
      }
      const columns: { name: string; charset: string }[] = await ds.query(
        "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS name, CHARACTER_SET_NAME AS charset FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?) AND CHARACTER_SET_NAME IS NOT NULL",
        [TABLES],
      );
      expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(['chat_messages.body', 'rooms.name', 'audit_log.details']));
      expect(columns.filter((c) => c.charset !== 'utf8mb4')).toEqual([]);
      const [id] = await ds.query(
        "SELECT DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'chat_messages' AND COLUMN_NAME = 'id'",
      );
      expect(id).toEqual({ type: 'bigint' });
    });
  }

  // The entities and the migration describe the same schema. Only where TypeORM reads the schema
  // back right: its MySQL dialect misreads MariaDB's column defaults, and SQLite auto-increment ids
  // must be `integer` where the entities say `bigint`.
  if (target.driver === 'mariadb') {
    it('has entities that match the migrated schema (nothing left to synchronise)', async () => {
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    });
  }

  if (target.driver === 'sqlite') {
    it('keeps a WAL journal', async () => {
      expect(await ds.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    });
  }

  it('round-trips users and rooms, with JSON settings and times as numbers', async () => {
    await ds.getRepository(UserEntity).insert({ id: 'u1', name: null, createdAt: T0, updatedAt: T0 + 1 });
    expect(await ds.getRepository(UserEntity).findOneByOrFail({ id: 'u1' })).toEqual({ id: 'u1', name: null, createdAt: T0, updatedAt: T0 + 1 });

    const rooms = ds.getRepository(RoomEntity);
    const settings = { topic: 'Café ☕', maxSpeakers: 4, flags: { recording: false }, tags: ['a', 'b'] };
    await rooms.save(rooms.create({ id: 'r1', name: 'Lobby', capacity: 50, seats: 8, status: 'open', settings, createdAt: T0, updatedAt: T0 }));
    await rooms.insert({ id: 'r2', name: 'Quiet', capacity: 10, seats: 2, status: 'closed', createdAt: T0, updatedAt: T0 });

    expect(await rooms.findOneByOrFail({ id: 'r1' })).toEqual({
      id: 'r1',
      name: 'Lobby',
      capacity: 50,
      seats: 8,
      status: 'open',
      settings,
      createdAt: T0,
      updatedAt: T0,
    });
    expect((await rooms.findOneByOrFail({ id: 'r2' })).settings).toEqual({});

    await rooms.update({ id: 'r2' }, { status: 'open', updatedAt: T0 + 5 });
    expect(await rooms.findOneByOrFail({ id: 'r2' })).toMatchObject({ status: 'open', updatedAt: T0 + 5 });
  });

  it('round-trips bans, audit entries and API keys with numeric ids', async () => {
    const bans = ds.getRepository(BanEntity);
    const first = await bans.save(bans.create({ userId: 'u1', roomId: null, expiresAt: null, createdAt: T0, createdBy: 'key:ops' }));
    const second = await bans.save(bans.create({ userId: 'u1', roomId: 'r1', reason: 'spam', expiresAt: T0 + 60_000, createdAt: T0, createdBy: 'key:ops' }));
    expect(typeof first.id).toBe('number');
    expect(second.id).toBeGreaterThan(first.id);
    expect(await bans.findOneByOrFail({ id: first.id })).toEqual({
      id: first.id,
      userId: 'u1',
      roomId: null,
      reason: '',
      expiresAt: null,
      createdAt: T0,
      createdBy: 'key:ops',
      revokedAt: null,
    });
    await bans.update({ id: second.id }, { revokedAt: T0 + 1000 });
    expect(await bans.findBy({ userId: 'u1', roomId: 'r1' })).toEqual([
      expect.objectContaining({ id: second.id, reason: 'spam', expiresAt: T0 + 60_000, revokedAt: T0 + 1000 }),
    ]);

    const audit = ds.getRepository(AuditEntryEntity);
    const details = { before: { seats: 8 }, after: { seats: 6 }, note: 'ok 👍' };
    const entry = await audit.save(audit.create({ actor: 'key:ops', action: 'room.update', targetType: 'room', targetId: 'r1', details, at: T0 }));
    await audit.insert({ actor: 'system', action: 'startup', targetType: 'service', targetId: null, details: null, at: T0 + 1 });
    const entries = await audit.find({ order: { id: 'ASC' } });
    expect(entries).toEqual([
      { id: entry.id, actor: 'key:ops', action: 'room.update', targetType: 'room', targetId: 'r1', details, at: T0 },
      { id: expect.any(Number), actor: 'system', action: 'startup', targetType: 'service', targetId: null, details: null, at: T0 + 1 },
    ]);

    const keys = ds.getRepository(ApiKeyEntity);
    const key = { id: 'k_0123456789abcdef', name: 'ops', role: 'admin', hash: 'a'.repeat(64), createdAt: T0, lastUsedAt: null, revokedAt: null };
    await keys.insert(key);
    await keys.update({ id: key.id }, { lastUsedAt: T0 + 7 });
    expect(await keys.findOneByOrFail({ id: key.id })).toEqual({ ...key, lastUsedAt: T0 + 7 });
  });

  it('keeps any Unicode in a chat body', async () => {
    const messages = ds.getRepository(ChatMessageEntity);
    const body = 'héllo 👋🏽 мир 中文 👨‍👩‍👧 \u{1F600} 𝄞';
    const saved = await messages.save(messages.create(chat({ seq: 100, body })));
    expect(typeof saved.id).toBe('number');
    expect(await messages.findOneByOrFail({ id: saved.id })).toEqual({ ...chat({ seq: 100, body }), id: saved.id });
    const notice = await messages.save(messages.create(chat({ seq: 101, kind: 'notice', authorId: null, authorName: null, body: 'Ann joined' })));
    expect(await messages.findOneByOrFail({ id: notice.id })).toMatchObject({ kind: 'notice', authorId: null, authorName: null });
  });

  it('refuses duplicate keys with errors that isDuplicateKey recognises', async () => {
    const roomError = await rejection(
      ds.getRepository(RoomEntity).insert({ id: 'r3', name: 'Lobby', capacity: 1, seats: 1, status: 'open', createdAt: T0, updatedAt: T0 }),
    );
    expect(isDuplicateKey(roomError)).toBe(true);
    expect(isDatabaseUnavailable(roomError)).toBe(false);

    // Names compare byte for byte on both drivers.
    await ds.getRepository(RoomEntity).insert({ id: 'r4', name: 'lobby', capacity: 1, seats: 1, status: 'open', createdAt: T0, updatedAt: T0 });

    const userError = await rejection(ds.getRepository(UserEntity).insert({ id: 'u1', name: 'again', createdAt: T0, updatedAt: T0 }));
    expect(isDuplicateKey(userError)).toBe(true);

    const chatError = await rejection(ds.getRepository(ChatMessageEntity).insert(chat({ seq: 100, body: 'other' })));
    expect(isDuplicateKey(chatError)).toBe(true);

    expect(isDuplicateKey(new Error('Duplicate entry'))).toBe(false);
  });

  it('stores a chat message archived twice once, with orIgnore', async () => {
    const message = chat({ roomId: 'r9', seq: 1, body: 'once 🙂' });
    for (let i = 0; i < 2; i++) {
      await ds
        .createQueryBuilder()
        .insert()
        .into(ChatMessageEntity)
        .values([message, chat({ roomId: 'r9', seq: 2 + i })])
        .orIgnore()
        .execute();
    }
    const stored = await ds.getRepository(ChatMessageEntity).find({ where: { roomId: 'r9' }, order: { seq: 'ASC' } });
    expect(stored.map((m) => [m.seq, m.body])).toEqual([
      [1, 'once 🙂'],
      [2, 'hi'],
      [3, 'hi'],
    ]);
  });

  it('pages the history newest first with id < before', async () => {
    const messages = ds.getRepository(ChatMessageEntity);
    // Two rooms interleaved, so that a page must skip the other room's rows.
    for (let seq = 1; seq <= 25; seq++) {
      await messages.insert(chat({ roomId: 'page', seq, body: `m${seq}`, sentAt: T0 + seq }));
      await messages.insert(chat({ roomId: 'other', seq, body: `o${seq}` }));
    }
    const page = async (before?: number) => {
      const query = messages.createQueryBuilder('m').where('m.roomId = :room', { room: 'page' }).orderBy('m.id', 'DESC').limit(10);
      if (before !== undefined) query.andWhere('m.id < :before', { before });
      return query.getMany();
    };
    const bodies: string[][] = [];
    let before: number | undefined;
    for (;;) {
      const rows = await page(before);
      if (rows.length === 0) break;
      for (const row of rows) expect(typeof row.id).toBe('number');
      bodies.push(rows.map((r) => r.body));
      before = rows.at(-1)?.id;
    }
    const expected = Array.from({ length: 25 }, (_, i) => `m${25 - i}`);
    expect(bodies).toEqual([expected.slice(0, 10), expected.slice(10, 20), expected.slice(20)]);
  });

  it('undoes the migrations, dropping every table', async () => {
    for (let i = 0; i < APPLIED.length; i++) await ds.undoLastMigration();
    const qr = ds.createQueryRunner();
    try {
      for (const table of TABLES) expect(await qr.hasTable(table)).toBe(false);
    } finally {
      await qr.release();
    }
    expect(await ds.showMigrations()).toBe(true);
  });
});

describe('persistence on sqlite::memory:', () => {
  it('migrates and stores in memory', async () => {
    const ds = createDataSource({ url: 'sqlite::memory:' });
    await ds.initialize();
    try {
      expect(await migrate(ds)).toEqual(APPLIED);
      await ds.getRepository(UserEntity).insert({ id: 'u', name: 'Ü', createdAt: T0, updatedAt: T0 });
      expect(await ds.getRepository(UserEntity).countBy({ name: 'Ü' })).toBe(1);
    } finally {
      await ds.destroy();
    }
  });
});

describe('loading', () => {
  // `npm start` runs TypeScript through tsx from the repository root, whose tsconfig enables no
  // decorator option: entities must not depend on how a compiler treats decorator syntax.
  it('works under tsx from the repository root', async () => {
    const script = `
      const { createDataSource, migrate, UserEntity } = require('@voiceroom/persistence');
      (async () => {
        const ds = createDataSource({ url: 'sqlite::memory:' });
        await ds.initialize();
        const applied = await migrate(ds);
        await ds.getRepository(UserEntity).insert({ id: 'u', name: null, createdAt: 1, updatedAt: 2 });
        const user = await ds.getRepository(UserEntity).findOneBy({ id: 'u' });
        await ds.destroy();
        process.stdout.write(JSON.stringify({ applied, user }));
      })();`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--conditions=development', '--import', 'tsx', '-e', script], { cwd: REPO_ROOT }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
      ),
    );
    expect(JSON.parse(stdout)).toEqual({ applied: APPLIED, user: { id: 'u', name: null, createdAt: 1, updatedAt: 2 } });
  });
});

describe('createDataSource', () => {
  it('reads a mysql url', () => {
    const ds = createDataSource({ url: 'mysql://app:p%40ss@db.example:3307/voice_room', poolSize: 3, connectTimeoutMs: 1234 });
    expect(ds.options).toMatchObject({
      type: 'mysql',
      host: 'db.example',
      port: 3307,
      username: 'app',
      password: 'p@ss',
      database: 'voice_room',
      charset: 'utf8mb4',
      timezone: 'Z',
      poolSize: 3,
      connectTimeout: 1234,
      synchronize: false,
      migrationsRun: false,
    });
    expect(ds.isInitialized).toBe(false);
    expect(createDataSource({ url: 'mysql://root@localhost/x' }).options).toMatchObject({ port: 3306, poolSize: 10, connectTimeout: 5000 });
    expect(createDataSource({ url: 'mariadb://root@[::1]:3310/x' }).options).toMatchObject({ type: 'mariadb', host: '::1', port: 3310, charset: 'utf8mb4' });
  });

  it('reads a sqlite url', () => {
    expect(createDataSource({ url: 'sqlite:/var/lib/voiceroom/v.db' }).options).toMatchObject({
      type: 'better-sqlite3',
      database: '/var/lib/voiceroom/v.db',
      enableWAL: true,
      synchronize: false,
    });
    expect(createDataSource({ url: 'sqlite:data/v.db' }).options).toMatchObject({ database: join(process.cwd(), 'data', 'v.db') });
    expect(createDataSource({ url: 'sqlite::memory:' }).options).toMatchObject({ database: ':memory:', enableWAL: false });
  });

  it('rejects other urls with a message naming the accepted forms, never the password', () => {
    for (const url of [
      'postgres://app:hunter2@db/x',
      'voiceroom.db',
      '',
      'sqlite:',
      'sqlite://x.db',
      'mysql://app:hunter2@db',
      'mysql://db/x?sslmode=require',
      'mysql://db/x?ssl=yes',
    ]) {
      let error: unknown;
      try {
        createDataSource({ url });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DatabaseUrlError);
      const { message } = error as Error;
      expect(message).not.toContain('hunter2');
      expect(message).toMatch(url.startsWith('mysql:') ? /mysql:\/\/user:password@host:port\/database/ : /sqlite:/);
    }
    expect(() => createDataSource({ url: 'postgres://db/x' })).toThrow(
      'expected mysql://user:password@host:port/database (mariadb://... for MariaDB), sqlite:PATH or sqlite::memory:',
    );
  });

  it('masks the password in describeDatabaseUrl', () => {
    expect(describeDatabaseUrl('mysql://app:s3cr%2Ft@db:3306/voiceroom')).toBe('mysql://app:***@db:3306/voiceroom');
    expect(describeDatabaseUrl('mysql://app:p@ss@db/voiceroom')).toBe('mysql://app:***@db/voiceroom');
    expect(describeDatabaseUrl('mysql://root@127.0.0.1:3306/x')).toBe('mysql://root@127.0.0.1:3306/x');
    expect(describeDatabaseUrl('sqlite:./data/voiceroom.db')).toBe('sqlite:./data/voiceroom.db');
  });
});

describe('isDatabaseUnavailable', () => {
  it('is true when no server listens', async () => {
    const ds = createDataSource({ url: 'mysql://root@127.0.0.1:1/voiceroom', connectTimeoutMs: 1000 });
    const error = await rejection(ds.initialize());
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(isDuplicateKey(error)).toBe(false);
    // The same DataSource, not initialised, queried anyway.
    expect(isDatabaseUnavailable(await rejection(ds.query('SELECT 1')))).toBe(true);
  });

  it('is true once a DataSource is destroyed, and false for a query that is wrong', async () => {
    const db = await createTestDatabase('voiceroom_persistence');
    const ds = createDataSource({ url: db.url });
    try {
      await ds.initialize();
      expect(isDatabaseUnavailable(await rejection(ds.query('SELECT * FROM no_such_table')))).toBe(false);
      await ds.destroy();
      expect(isDatabaseUnavailable(await rejection(ds.query('SELECT 1')))).toBe(true);
    } finally {
      if (ds.isInitialized) await ds.destroy();
      await db.drop();
    }

    const sqlite = createDataSource({ url: 'sqlite::memory:' });
    await sqlite.initialize();
    const qr = sqlite.createQueryRunner();
    expect(isDatabaseUnavailable(await rejection(qr.query('SELECT * FROM no_such_table')))).toBe(false);
    await sqlite.destroy();
    expect(isDatabaseUnavailable(await rejection(qr.query('SELECT 1')))).toBe(true);
  });

  it('is true when the server drops the connection', async () => {
    const db = await createTestDatabase('voiceroom_persistence');
    const ds = createDataSource({ url: db.url });
    try {
      await ds.initialize();
      const qr = ds.createQueryRunner();
      const [{ id }] = await qr.query('SELECT CONNECTION_ID() AS id');
      await ds.query(`KILL ${Number(id)}`);
      expect(isDatabaseUnavailable(await rejection(qr.query('SELECT 1')))).toBe(true);
      await qr.release();
    } finally {
      await ds.destroy();
      await db.drop();
    }
  });

  it('looks through wrapped errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new Error('loading rooms', { cause: refused }))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([refused]))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('x'), { driverError: { code: 'PROTOCOL_CONNECTION_LOST' } }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Pool is closed.'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('syntax error'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });
});
