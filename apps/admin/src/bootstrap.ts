import type { DataSource } from 'typeorm';
import { ApiKeyEntity } from '@voiceroom/persistence';
import { BOOTSTRAP_KEY_ID, hashSecret } from './auth';

/**
 * Records the bootstrap key (ADMIN_BOOTSTRAP_KEY) in the key list, hashed, so it shows up
 * there. Authentication with it does not need this row: it is compared in memory, so an
 * operator can reach the API while the database is down.
 */
export async function ensureBootstrapKey(ds: DataSource, key: string): Promise<void> {
  const repo = ds.getRepository(ApiKeyEntity);
  const hash = hashSecret(key);
  const row = await repo.findOneBy({ id: BOOTSTRAP_KEY_ID });
  if (row && row.hash === hash) return;
  await repo.save(repo.create({ id: BOOTSTRAP_KEY_ID, name: 'ADMIN_BOOTSTRAP_KEY', role: 'admin', hash, createdAt: Date.now(), lastUsedAt: null, revokedAt: null }));
}
