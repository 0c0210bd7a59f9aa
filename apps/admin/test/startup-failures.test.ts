/**
 * The standalone admin API (apps/admin/src/server.ts) that cannot start ends with a non-zero exit
 * code and one readable line on stderr (docs/operations.md, "Exit codes"), as the gateway does:
 * 78 for a refused configuration (DATABASE_URL included), 1 otherwise. A MySQL server that does not
 * answer yet is retried (documented), not a failure to start.
 */
import { runServer, withTakenPort, type ServerRun } from '@voiceroom/testkit';

const lines = (run: ServerRun) => run.stderr.split('\n').filter((l) => l.trim() !== '');

it('exits 1 with one line naming the port when the port is taken', async () => {
  await withTakenPort(async (port) => {
    const run = await runServer('admin', { PORT: String(port), DATABASE_URL: 'sqlite::memory:' });
    expect(run.code).toBe(1);
    expect(lines(run)).toEqual([`admin: port ${port} on 127.0.0.1 is in use (EADDRINUSE): stop the other process or set PORT`]);
  });
});

it('exits 78 listing the allowed values (BUS=kafka)', async () => {
  const run = await runServer('admin', { BUS: 'kafka', DATABASE_URL: 'sqlite::memory:' });
  expect(run.code).toBe(78);
  expect(lines(run)).toEqual(['admin: invalid configuration: BUS: expected one of memory, rocketmq (got "kafka") (see docs/configuration.md)']);
});

it('exits 78 in production with short secrets, printing neither', async () => {
  const run = await runServer('admin', {
    NODE_ENV: 'production',
    NODE_ID: 'admin-1',
    JWT_SECRET: 'short-secret-value',
    ADMIN_JWT_SECRET: 'short-admin-secret',
    DATABASE_URL: 'sqlite::memory:',
  });
  expect(run.code).toBe(78);
  expect(lines(run)).toHaveLength(1);
  expect(lines(run)[0]).toMatch(/^admin: invalid configuration: JWT_SECRET: .*; ADMIN_JWT_SECRET: production needs at least 32 characters/);
  expect(run.stderr + run.stdout).not.toMatch(/short-secret-value|short-admin-secret/);
});

it('exits 78 when DATABASE_URL is unusable: a malformed url, an SQLite file that cannot be created', async () => {
  const cases: Array<[string, string]> = [
    ['mysql://root@127.0.0.1:3306', 'admin: invalid configuration: DATABASE_URL: invalid MySQL url "mysql://root@127.0.0.1:3306": no database name'],
    [
      'sqlite:/proc/voiceroom-missing/voiceroom.db',
      'admin: invalid configuration: DATABASE_URL: SQLite file /proc/voiceroom-missing/voiceroom.db cannot be created or written (ENOENT)',
    ],
  ];
  for (const [url, start] of cases) {
    const run = await runServer('admin', { DATABASE_URL: url });
    expect(run.code).toBe(78);
    expect(lines(run)).toHaveLength(1);
    expect(lines(run)[0]!.startsWith(start)).toBe(true);
  }
});

it('keeps serving and retrying while a well-formed MySQL url does not answer (documented)', async () => {
  const run = await runServer(
    'admin',
    { DATABASE_URL: 'mysql://root@127.0.0.1:1/voiceroom', DB_TIMEOUT_MS: '500' },
    {
      until: /database not ready; retrying in 2 s/,
      whileRunning: async (output) => {
        const port = Number(/"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output)?.[1]);
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
      },
    },
  );
  expect(run.code).toBeUndefined();
});
