/** A database url this package cannot use. */
export class DatabaseUrlError extends Error {
  readonly code = 'DB_URL_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUrlError';
  }
}

/**
 * Error codes meaning "the database cannot be reached right now" (as opposed to "this query is
 * wrong"): socket errors from Node, connection errors from mysql2, server states from MySQL, and
 * SQLite failing to open its file or waiting too long for the write lock.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'SQLITE_CANTOPEN',
  'SQLITE_BUSY',
]);

/** Messages of errors that carry no code (mysql2, TypeORM, better-sqlite3). */
const UNAVAILABLE_MESSAGES = [
  /^Pool is closed/,
  /Connection lost/,
  /Can't add new command when connection is in closed state/,
  /Connection is not established/, // TypeORM's MysqlDriver: no pool (never initialised, or destroyed)
  /The database connection is not open/, // better-sqlite3 after close
];

/** TypeORM errors for a DataSource that is not initialised (matched by name: there may be two copies of TypeORM). */
const NOT_CONNECTED_ERRORS = new Set([
  'ConnectionIsNotSetError',
  'CannotExecuteNotConnectedError',
  'CannotGetEntityManagerNotConnectedError',
  'NoConnectionForRepositoryError',
]);

/**
 * True when `err` says the database is unreachable or not connected, not that a query is wrong:
 * the caller may answer "unavailable, retry later" (HTTP 503) instead of a server error. Looks
 * through TypeORM's QueryFailedError (`driverError`), `cause`, and AggregateError (Node's
 * connect to every address of a host).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return someError(err, (e) => {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code !== undefined && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof e.name === 'string' && NOT_CONNECTED_ERRORS.has(e.name)) return true;
    return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(e.message as string));
  });
}

/** True when `err` is a unique or primary key violation (MySQL ER_DUP_ENTRY, SQLite UNIQUE/PRIMARY KEY constraint). */
export function isDuplicateKey(err: unknown): boolean {
  return someError(err, (e) => e.code === 'ER_DUP_ENTRY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY');
}

type ErrorLike = { code?: unknown; name?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown };

/** Tests `err` and the errors it wraps (a few levels deep). */
function someError(err: unknown, test: (e: ErrorLike) => boolean, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as ErrorLike;
  if (test(e)) return true;
  const inner = [e.driverError, e.cause, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
  return inner.some((i) => i !== err && someError(i, test, depth + 1));
}
