import { Column, Index } from 'typeorm';
import { autoIncrementId, epochMillis } from './columns';
import { defineEntity } from './define-entity';

/**
 * A ban of a user from one room or from every room. A ban is in force while it is neither revoked
 * nor expired; unbanning sets `revokedAt` and keeps the row for the record.
 */
export class BanEntity {
  id!: number;
  userId!: string;
  /** null: a global ban, from every room. */
  roomId!: string | null;
  reason!: string;
  /** Epoch milliseconds; null: permanent. */
  expiresAt!: number | null;
  /** Epoch milliseconds. */
  createdAt!: number;
  /** Who banned (an admin actor, as in the audit log). */
  createdBy!: string;
  /** Epoch milliseconds of the unban; null while not revoked. */
  revokedAt!: number | null;
}

defineEntity(BanEntity, {
  table: 'bans',
  columns: {
    id: autoIncrementId(),
    userId: Column({ type: 'varchar', length: 64 }),
    roomId: Column({ type: 'varchar', length: 64, nullable: true }),
    reason: Column({ type: 'varchar', length: 500, default: '' }),
    expiresAt: epochMillis({ nullable: true }),
    createdAt: epochMillis(),
    createdBy: Column({ type: 'varchar', length: 128 }),
    revokedAt: epochMillis({ nullable: true }),
  },
  indices: [Index('IDX_bans_user_room', ['userId', 'roomId'])],
});
