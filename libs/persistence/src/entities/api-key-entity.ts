import { Column, PrimaryColumn } from 'typeorm';
import { epochMillis } from './columns';
import { defineEntity } from './define-entity';

/**
 * An API key of the admin API. The secret itself is never stored: a presented key is checked by
 * looking up `id` and comparing the SHA-256 of its secret with `hash`.
 */
export class ApiKeyEntity {
  /** Public key id (shown, logged, named in the audit log). */
  id!: string;
  name!: string;
  role!: string;
  /** SHA-256 of the secret, lowercase hex. */
  hash!: string;
  /** Epoch milliseconds. */
  createdAt!: number;
  /** Epoch milliseconds; null: never used. */
  lastUsedAt!: number | null;
  /** Epoch milliseconds; null: in force. */
  revokedAt!: number | null;
}

defineEntity(ApiKeyEntity, {
  table: 'api_keys',
  columns: {
    id: PrimaryColumn({ type: 'varchar', length: 32 }),
    name: Column({ type: 'varchar', length: 128 }),
    role: Column({ type: 'varchar', length: 16 }),
    hash: Column({ type: 'varchar', length: 64 }),
    createdAt: epochMillis(),
    lastUsedAt: epochMillis({ nullable: true }),
    revokedAt: epochMillis({ nullable: true }),
  },
});
