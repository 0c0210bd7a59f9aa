import type { Logger } from '@voiceroom/protocol';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity } from '@voiceroom/persistence';
import { BOOTSTRAP_KEY_ID, hashSecret } from './auth';

/**
 * Makes the key list's `bootstrap` row follow ADMIN_BOOTSTRAP_KEY, at every start once the
 * database is migrated:
 * - set: the row holds the hash of this value and is active (a changed value replaces the old
 *   hash; a value set again after being unset makes the row active again);
 * - unset: an active row is revoked (`revokedAt` = now) and an info line says so.
 *
 * The row is a record for `GET /v1/api-keys` only. Authentication never reads it: the bootstrap
 * key, raw or as `vrk_bootstrap_<key>`, is compared in memory with this process's
 * ADMIN_BOOTSTRAP_KEY (`installAuth`), so an operator can act while the database is down, and a
 * stale row (another process, a failed write) lets nobody in.
 */
export async function ensureBootstrapKey(ds: DataSource, key: string | undefined, log?: Logger): Promise<void> {
  const repo = ds.getRepository(ApiKeyEntity);
  const row = await repo.findOneBy({ id: BOOTSTRAP_KEY_ID });
  if (key === undefined || key === '') {
    if (!row || row.revokedAt !== null) return;
    const revokedAt = Date.now();
    await repo.update({ id: BOOTSTRAP_KEY_ID }, { revokedAt });
    log?.info(
      { keyId: BOOTSTRAP_KEY_ID, revokedAt: new Date(revokedAt).toISOString() },
      'bootstrap key retired: ADMIN_BOOTSTRAP_KEY is unset, key id bootstrap revoked',
    );
    return;
  }
  const hash = hashSecret(key);
  if (row && row.hash === hash && row.revokedAt === null) return;
  await repo.save(
    repo.create({ id: BOOTSTRAP_KEY_ID, name: 'ADMIN_BOOTSTRAP_KEY', role: 'admin', hash, createdAt: Date.now(), lastUsedAt: null, revokedAt: null }),
  );
  if (row)
    log?.info(
      { keyId: BOOTSTRAP_KEY_ID },
      row.hash === hash
        ? 'bootstrap key active again: ADMIN_BOOTSTRAP_KEY is set, key id bootstrap no longer revoked'
        : 'bootstrap key replaced: ADMIN_BOOTSTRAP_KEY has changed, key id bootstrap holds the new one',
    );
}
