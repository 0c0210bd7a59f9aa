import type { DataSource } from 'typeorm';

/**
 * Runs the pending migrations of an initialised DataSource, each in its own transaction where
 * the database allows (MySQL commits DDL implicitly), and returns the names applied, oldest first
 * (empty when the schema is current). Several processes starting at once must not migrate the
 * same database concurrently: migrate from one place (the admin service at start-up).
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const applied = await dataSource.runMigrations({ transaction: 'each' });
  return applied.map((m) => m.name);
}
