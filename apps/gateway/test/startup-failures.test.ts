/**
 * A gateway that cannot start ends with a non-zero exit code and one readable line on stderr
 * (docs/operations.md, "Exit codes"): 78 for a refused configuration, 1 otherwise. What is
 * documented as retried (RocketMQ, a MySQL server of the embedded admin API) keeps the process up.
 * Each case runs the real server process: the gateway alone (apps/gateway/src/server.ts), or,
 * for the embedded admin API, the single-node entry (apps/single-node/src/server.ts).
 */
import { runServer, withTakenPort, type ServerRun } from '@voiceroom/testkit';

/** stderr as lines, without empty ones. */
const lines = (run: ServerRun) => run.stderr.split('\n').filter((l) => l.trim() !== '');

it('exits 1 with one line naming the port when the port is taken', async () => {
  await withTakenPort(async (port) => {
    const run = await runServer('gateway', { PORT: String(port) });
    expect(run.code).toBe(1);
    expect(lines(run)).toEqual([`gateway: port ${port} on 127.0.0.1 is in use (EADDRINUSE): stop the other process or set PORT`]);
    expect(run.stdout).not.toContain('voice-room gateway listening');
  });
});

it('exits 1 with one line naming the port when the embedded admin API is on and the port is taken', async () => {
  await withTakenPort(async (port) => {
    const run = await runServer('single-node', { PORT: String(port), ADMIN_API: 'embedded', DATABASE_URL: 'sqlite::memory:' });
    expect(run.code).toBe(1);
    expect(lines(run)).toEqual([`gateway: port ${port} on 127.0.0.1 is in use (EADDRINUSE): stop the other process or set PORT`]);
  });
});

it('exits 78 listing the allowed values of a setting with a fixed set of them (BUS=kafka)', async () => {
  const run = await runServer('gateway', { BUS: 'kafka' });
  expect(run.code).toBe(78);
  expect(lines(run)).toHaveLength(1);
  expect(lines(run)[0]).toBe('gateway: invalid configuration: BUS: expected one of memory, rocketmq (got "kafka") (see docs/configuration.md)');
});

it('exits 78 listing every problem on its one line, allowed values included', async () => {
  const run = await runServer('gateway', { LOG_LEVEL: 'loud', ADMIN_API: 'yes', PORT: '70000' });
  expect(run.code).toBe(78);
  expect(lines(run)).toHaveLength(1);
  const [line] = lines(run);
  expect(line).toContain('LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent (got "loud")');
  expect(line).toContain('ADMIN_API: expected one of off, embedded (got "yes")');
  expect(line).toContain('PORT: Expected integer to be less or equal to 65535 (got 70000)');
  expect(line).not.toContain('Expected union value');
});

it('exits 78 in production with a short JWT_SECRET, without printing it', async () => {
  const run = await runServer('gateway', { NODE_ENV: 'production', NODE_ID: 'gw-1', JWT_SECRET: 'short-secret-value' });
  expect(run.code).toBe(78);
  expect(lines(run)).toEqual([
    'gateway: invalid configuration: JWT_SECRET: production needs a secret of at least 32 characters (not the development default) (see docs/configuration.md)',
  ]);
  expect(run.stderr + run.stdout).not.toContain('short-secret-value');
});

it('exits 78 pointing at the single-node entry when the gateway alone is asked to embed the admin API', async () => {
  const run = await runServer('gateway', { ADMIN_API: 'embedded' });
  expect(run.code).toBe(78);
  expect(lines(run)).toHaveLength(1);
  expect(lines(run)[0]).toMatch(
    /^gateway: invalid configuration: ADMIN_API=embedded: .*single-node entry, apps\/single-node\/src\/server\.ts \(npm start.*ADMIN_API=off \(see docs\/configuration\.md\)$/,
  );
});

describe('embedded admin API (ADMIN_API=embedded, the single-node entry)', () => {
  it('exits 78 when DATABASE_URL names an SQLite file that cannot be created', async () => {
    const run = await runServer('single-node', { ADMIN_API: 'embedded', DATABASE_URL: 'sqlite:/proc/voiceroom-missing/voiceroom.db' });
    expect(run.code).toBe(78);
    expect(lines(run)).toEqual([
      'gateway: invalid configuration: DATABASE_URL: SQLite file /proc/voiceroom-missing/voiceroom.db cannot be created or written (ENOENT): choose a writable place in DATABASE_URL (see docs/configuration.md)',
    ]);
  });

  it('exits 78 when DATABASE_URL is not a database url it knows', async () => {
    for (const url of ['postgres://app@db:5432/voiceroom', 'mysql://root@127.0.0.1:3306', 'sqlite:']) {
      const run = await runServer('single-node', { ADMIN_API: 'embedded', DATABASE_URL: url });
      expect(run.code).toBe(78);
      expect(lines(run)).toHaveLength(1);
      expect(lines(run)[0]).toMatch(
        /^gateway: invalid configuration: DATABASE_URL: (unsupported|invalid \w+) (database )?url .+ \(see docs\/configuration\.md\)$/,
      );
    }
  });

  it('keeps serving and retrying while a well-formed MySQL url does not answer (documented)', async () => {
    const run = await runServer(
      'single-node',
      { ADMIN_API: 'embedded', DATABASE_URL: 'mysql://root@127.0.0.1:1/voiceroom', DB_TIMEOUT_MS: '500' },
      {
        until: /database not ready; retrying in 2 s/,
        whileRunning: async (output) => {
          const port = Number(/"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output)?.[1]);
          expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        },
      },
    );
    expect(run.code).toBeUndefined();
  });
});

it('keeps serving and retrying the bus while RocketMQ does not answer at start (documented)', async () => {
  const run = await runServer(
    'gateway',
    { BUS: 'rocketmq', ROCKETMQ_ENDPOINTS: '127.0.0.1:1', ROCKETMQ_NAMESRV_ADDR: '127.0.0.1:2' },
    {
      until: /bus start failed, retrying in 2 s/,
      timeoutMs: 45_000,
      whileRunning: async (output) => {
        const port = Number(/"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output)?.[1]);
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
      },
    },
  );
  expect(run.code).toBeUndefined();
});
