import type { DataSource } from 'typeorm';

const LOCK_NAME = 'voiceroom_migrations';
/** Data sources whose migrations ran to the end (their tables exist). */
const migrated = new WeakSet<DataSource>();

/**
 * True once `migrate` succeeded on this data source and it is still initialised. Between
 * `initialize()` and the end of the migrations the tables may not exist yet: callers answer 503
 * then, not a 500 for a missing table.
 */
export function isMigrated(dataSource: DataSource): boolean {
  return dataSource.isInitialized && migrated.has(dataSource);
}
const LOCK_WAIT_SECONDS = 120;

/**
 * Runs the pending migrations of an initialised DataSource, each in its own transaction where
 * the database allows (MySQL commits DDL implicitly), and returns the names applied, oldest first
 * (empty when the schema is current). On MySQL/MariaDB an advisory lock (GET_LOCK) makes several
 * admin processes starting at once migrate one after the other: the later ones find nothing to do.
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const type = dataSource.options.type;
  if (type !== 'mysql' && type !== 'mariadb') {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    migrated.add(dataSource);
    return applied.map((m) => m.name);
  }
  const runner = dataSource.createQueryRunner();
  try {
    const [row] = (await runner.query('SELECT GET_LOCK(?, ?) AS locked', [LOCK_NAME, LOCK_WAIT_SECONDS])) as { locked: number | string | null }[];
    if (Number(row?.locked) !== 1)
      throw new Error(`could not take the migration lock "${LOCK_NAME}" within ${LOCK_WAIT_SECONDS} s (another process is migrating?)`);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      migrated.add(dataSource);
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]).catch(() => undefined);
    }
  } finally {
    await runner.release();
  }
}
