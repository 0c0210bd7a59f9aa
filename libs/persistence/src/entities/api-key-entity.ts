import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../transformers';

/**
 * An API key of the admin API. The secret itself is never stored: a presented key is checked by
 * looking up `id` and comparing the SHA-256 of its secret with `hash`.
 */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  /** Public key id (shown, logged, named in the audit log). */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: string;

  /** SHA-256 of the secret, lowercase hex. */
  @Column({ type: 'varchar', length: 64 })
  hash!: string;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  createdAt!: number;

  /** Epoch milliseconds; null: never used. */
  @Column({ type: 'bigint', nullable: true, transformer: bigintAsNumber })
  lastUsedAt!: number | null;

  /** Epoch milliseconds; null: in force. */
  @Column({ type: 'bigint', nullable: true, transformer: bigintAsNumber })
  revokedAt!: number | null;
}
