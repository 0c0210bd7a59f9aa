import { Column, Index } from 'typeorm';
import { autoIncrementId, epochMillis, nullableJsonObjectText, type JsonObject } from './columns';
import { defineEntity } from './define-entity';

/** One administrative action, append-only. */
export class AuditEntryEntity {
  id!: number;
  /** Who acted: an API key id, an operator name. */
  actor!: string;
  /** What was done, e.g. 'room.create', 'ban.revoke'. */
  action!: string;
  /** What it was done to, e.g. 'room', 'user', 'ban'. */
  targetType!: string;
  targetId!: string | null;
  /** Free-form JSON object. */
  details!: JsonObject | null;
  /** Epoch milliseconds. */
  at!: number;
}

defineEntity(AuditEntryEntity, {
  table: 'audit_log',
  columns: {
    id: autoIncrementId(),
    actor: Column({ type: 'varchar', length: 128 }),
    action: Column({ type: 'varchar', length: 64 }),
    targetType: Column({ type: 'varchar', length: 32 }),
    targetId: Column({ type: 'varchar', length: 128, nullable: true }),
    details: Column({ type: 'text', nullable: true, transformer: nullableJsonObjectText }),
    at: epochMillis(),
  },
  indices: [Index('IDX_audit_log_at', ['at']), Index('IDX_audit_log_target', ['targetType', 'targetId'])],
});
