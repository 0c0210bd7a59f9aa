import { Column, Entity, Index } from 'typeorm';
import { bigintAsNumber } from '../transformers';

/**
 * A ban of a user from one room or from every room. A ban is in force while it is neither revoked
 * nor expired; unbanning sets `revokedAt` and keeps the row for the record.
 */
@Entity({ name: 'bans' })
@Index('IDX_bans_user_room', ['userId', 'roomId'])
export class BanEntity {
  @Column({ type: 'bigint', primary: true, generated: 'increment', transformer: bigintAsNumber })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  userId!: string;

  /** null: a global ban, from every room. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  roomId!: string | null;

  @Column({ type: 'varchar', length: 500, default: '' })
  reason!: string;

  /** Epoch milliseconds; null: permanent. */
  @Column({ type: 'bigint', nullable: true, transformer: bigintAsNumber })
  expiresAt!: number | null;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  createdAt!: number;

  /** Who banned (an admin actor, as in the audit log). */
  @Column({ type: 'varchar', length: 128 })
  createdBy!: string;

  /** Epoch milliseconds of the unban; null while not revoked. */
  @Column({ type: 'bigint', nullable: true, transformer: bigintAsNumber })
  revokedAt!: number | null;
}
