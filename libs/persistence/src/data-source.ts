import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities';
import { DatabaseUrlError } from './errors';
import { MIGRATIONS } from './migrations';

export interface DatabaseOptions {
  /**
   * Where the data lives:
   * - `mysql://user:password@host:port/database`: MySQL (mysql2). Shared by any number of nodes.
   *   The user name and password are percent-decoded. TLS: `?ssl=true` (server certificate checked
   *   against the system CAs) or `?ssl-ca=/path/ca.pem` (checked against that CA; implies ssl).
   * - `mariadb://…`, same form: MariaDB. The same mysql2 driver, but TypeORM's MariaDB dialect: its
   *   MySQL dialect misreads MariaDB's information_schema (column defaults) and writes MySQL 8's
   *   `FOR SHARE` for MariaDB 10+. Plain queries work either way.
   * - `sqlite:PATH` (`sqlite:./data/voiceroom.db`, `sqlite:/var/lib/voiceroom.db`) or `sqlite::memory:`:
   *   an embedded SQLite file (better-sqlite3), for ONE node only.
   */
  url: string;
  /** Log every SQL statement (TypeORM's logger). Default false. */
  logging?: boolean;
  /** MySQL: connections in the pool. Default 10. */
  poolSize?: number;
  /** MySQL: how long to wait for a connection to open. Default 5000 ms. */
  connectTimeoutMs?: number;
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

const MYSQL_FORM = 'mysql://user:password@host:port/database';
const ACCEPTED = `${MYSQL_FORM} (mariadb://... for MariaDB), sqlite:PATH or sqlite::memory:`;

/**
 * The one place that chooses a database driver. Returns an uninitialised DataSource with every
 * entity and migration; the caller initialises it, runs `migrate`, and destroys it on shutdown.
 * The schema is never synchronised from the entities: only migrations change it.
 */
export function createDataSource(options: DatabaseOptions): DataSource {
  const { url } = options;
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    logging: options.logging ?? false,
  } as const;

  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    const mysql = parseMysqlUrl(url);
    return new DataSource({
      ...common,
      type: url.startsWith('mariadb://') ? 'mariadb' : 'mysql',
      ...mysql,
      charset: 'utf8mb4',
      // Times are epoch-millisecond numbers; 'Z' only keeps any DATETIME the driver meets in UTC.
      timezone: 'Z',
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      poolSize: options.poolSize ?? DEFAULT_POOL_SIZE,
    });
  }

  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '' || path.startsWith('//')) {
      throw new DatabaseUrlError(
        `invalid SQLite url ${JSON.stringify(url)}: write sqlite:PATH (sqlite:./data/voiceroom.db, sqlite:/abs/path.db) or sqlite::memory:`,
      );
    }
    const memory = path === ':memory:';
    return new DataSource({
      ...common,
      type: 'better-sqlite3',
      // The driver creates the parent directory of a file when it is missing.
      database: memory ? ':memory:' : resolve(path),
      // Readers do not block the writer (and the reverse); the journal is a file beside the database.
      enableWAL: !memory,
    });
  }

  throw new DatabaseUrlError(`unsupported database url ${JSON.stringify(describeDatabaseUrl(url))}: expected ${ACCEPTED}`);
}

/**
 * Checks, before a server starts, that `url` can ever work: its form (as `createDataSource`) and,
 * for an SQLite file, that its directory exists or can be created and is writable (creating it
 * as the driver would). Throws DatabaseUrlError saying what is wrong. Whether a MySQL server
 * answers is not checked: it may be down for now, and the servers keep trying it.
 */
export function checkDatabaseUrl(url: string): void {
  createDataSource({ url });
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return;
  const file = resolve(url.slice('sqlite:'.length));
  const dir = dirname(file);
  try {
    makeDirectory(dir);
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    accessSync(dir, constants.R_OK | constants.W_OK);
    if (existsSync(file)) accessSync(file, constants.R_OK | constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new DatabaseUrlError(`SQLite file ${file} cannot be created or written (${code}): choose a writable place in DATABASE_URL`);
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync never returns for a missing
 * directory under /proc (it retries the ENOENT forever).
 */
function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (error) {
      // Created meanwhile by another process: fine (statSync checks it is a directory).
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** The url with its password masked, for logs: `mysql://app:***@db:3306/voiceroom`. */
export function describeDatabaseUrl(url: string): string {
  // Up to the last '@': a password may hold an unescaped '@'.
  const match = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@([^@]*)$/is.exec(url);
  if (!match) return url;
  const [, scheme = '', userinfo = '', rest = ''] = match;
  const colon = userinfo.indexOf(':');
  return colon < 0 ? url : `${scheme}${userinfo.slice(0, colon)}:***@${rest}`;
}

/**
 * TLS options from the url's query: `ssl=true|false`, `ssl-ca=PATH` (a PEM file, read now; implies
 * ssl). mysql2 checks the server certificate and its name whenever TLS is on (rejectUnauthorized).
 */
function mysqlTls(parsed: URL, url: string): { ssl?: { ca?: string; rejectUnauthorized: true } } {
  const bad = (problem: string) =>
    new DatabaseUrlError(
      `invalid MySQL url ${JSON.stringify(describeDatabaseUrl(url))}: ${problem}; expected ${MYSQL_FORM}[?ssl=true or ?ssl-ca=/path/ca.pem]`,
    );
  let ssl = false;
  let ca: string | undefined;
  for (const [key, value] of parsed.searchParams) {
    if (key === 'ssl' && (value === 'true' || value === 'false')) ssl = value === 'true';
    else if (key === 'ssl-ca' && value !== '') {
      try {
        ca = readFileSync(value, 'utf8');
      } catch (error) {
        throw bad(`ssl-ca file ${value} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } else throw bad(`query parameter ${JSON.stringify(key)} is not supported (only ssl=true|false and ssl-ca=PATH)`);
  }
  if (ca !== undefined) return { ssl: { ca, rejectUnauthorized: true } };
  return ssl ? { ssl: { rejectUnauthorized: true } } : {};
}

function parseMysqlUrl(url: string): {
  ssl?: { ca?: string; rejectUnauthorized: true };
  host: string;
  port: number;
  username: string;
  password?: string;
  database: string;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUrlError(`invalid MySQL url ${JSON.stringify(describeDatabaseUrl(url))}: expected ${MYSQL_FORM}`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const problem =
    parsed.hostname === ''
      ? 'no host'
      : database === '' || database.includes('/')
        ? 'no database name (or more than one path segment)'
        : parsed.hash !== ''
          ? 'a #fragment is not supported'
          : undefined;
  if (problem) {
    throw new DatabaseUrlError(`invalid MySQL url ${JSON.stringify(describeDatabaseUrl(url))}: ${problem}; expected ${MYSQL_FORM}`);
  }
  return {
    ...mysqlTls(parsed, url),
    // WHATWG URL keeps the brackets of an IPv6 literal; the driver wants the bare address.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    username: decodeURIComponent(parsed.username),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    database,
  };
}
