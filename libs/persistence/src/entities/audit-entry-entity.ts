import { Column, Entity, Index } from 'typeorm';
import { bigintAsNumber, nullableJsonObjectText, type JsonObject } from '../transformers';

/** One administrative action, append-only. */
@Entity({ name: 'audit_log' })
@Index('IDX_audit_log_at', ['at'])
@Index('IDX_audit_log_target', ['targetType', 'targetId'])
export class AuditEntryEntity {
  @Column({ type: 'bigint', primary: true, generated: 'increment', transformer: bigintAsNumber })
  id!: number;

  /** Who acted: an API key id, an operator name. */
  @Column({ type: 'varchar', length: 128 })
  actor!: string;

  /** What was done, e.g. 'room.create', 'ban.revoke'. */
  @Column({ type: 'varchar', length: 64 })
  action!: string;

  /** What it was done to, e.g. 'room', 'user', 'ban'. */
  @Column({ type: 'varchar', length: 32 })
  targetType!: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  targetId!: string | null;

  /** Free-form JSON object. */
  @Column({ type: 'text', nullable: true, transformer: nullableJsonObjectText })
  details!: JsonObject | null;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  at!: number;
}
