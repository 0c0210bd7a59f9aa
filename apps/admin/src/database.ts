import type { Logger } from '@voiceroom/protocol';
import type { DataSource } from 'typeorm';
import { describeDatabaseUrl, migrate } from '@voiceroom/persistence';
import { ensureBootstrapKey } from './bootstrap';
import { retryUntil } from '@voiceroom/server-kit';

/**
 * Connects and migrates, retrying every 2 s while the database is away (the API answers 503
 * meanwhile), until it works or `stopped()` says to give up. Migrations run from an empty
 * database; a database already at the latest one is left alone. Then the `bootstrap` key row is
 * made to follow `bootstrapKey` (recorded when set, revoked when unset: `ensureBootstrapKey`).
 */
export async function connectDatabase(
  ds: DataSource,
  options: { url: string; bootstrapKey: string | undefined },
  log: Logger,
  stopped: () => boolean,
): Promise<boolean> {
  return retryUntil(
    async () => {
      if (!ds.isInitialized) await ds.initialize();
      const applied = await migrate(ds);
      log.info({ database: describeDatabaseUrl(options.url), applied }, 'database ready');
      // Set: record it (a changed value replaces the old hash); unset: revoke the row an earlier start left.
      await ensureBootstrapKey(ds, options.bootstrapKey, log);
    },
    {
      stopped,
      onFailure: (error, attempt) => log.error({ err: error, attempt, database: describeDatabaseUrl(options.url) }, 'database not ready; retrying in 2 s'),
    },
  );
}
