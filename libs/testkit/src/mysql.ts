import { randomBytes } from 'node:crypto';
import { createConnection, type Connection } from 'mysql2/promise';

/** The MySQL/MariaDB server the tests use (a server url: no database). */
export const TEST_MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export interface TestDatabase {
  /** `mysql://…/name`, for createDataSource. */
  url: string;
  name: string;
  /** Drops the database; safe to call twice. */
  drop(): Promise<void>;
}

/**
 * Creates an empty utf8mb4 database with a name of its own (`prefix_pid_random`), so test files
 * running in parallel never share one. Drop it in afterAll. Fails with a message that says how to
 * get a server when none answers.
 */
export async function createTestDatabase(prefix = 'voiceroom_test'): Promise<TestDatabase> {
  if (!/^\w+$/.test(prefix)) throw new Error(`invalid database name prefix ${JSON.stringify(prefix)}`);
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withServer((c) => c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`));
  const url = new URL(TEST_MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => withServer((c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``)).then(() => undefined),
  };
}

async function withServer<T>(use: (connection: Connection) => Promise<T>): Promise<T> {
  const server = new URL(TEST_MYSQL_URL);
  const host = server.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = server.port === '' ? 3306 : Number(server.port);
  let connection: Connection;
  try {
    connection = await createConnection({
      host,
      port,
      user: decodeURIComponent(server.username),
      password: decodeURIComponent(server.password),
      connectTimeout: 3000,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ER_')) {
      throw new Error(`MariaDB/MySQL at ${host}:${port} refused the test user (${code}): set TEST_MYSQL_URL=mysql://user:password@host:port`, { cause: error });
    }
    throw new Error(
      `MariaDB/MySQL is not reachable at ${host}:${port} (${String(code ?? error)}). Run the suite with \`npm test\` ` +
        '(it starts an installed but stopped MariaDB), install one with `apt-get install mariadb-server`, ' +
        'or point TEST_MYSQL_URL at a server (mysql://user:password@host:port).',
      { cause: error },
    );
  }
  try {
    return await use(connection);
  } finally {
    await connection.end();
  }
}
