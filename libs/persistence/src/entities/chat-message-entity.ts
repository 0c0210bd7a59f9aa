import { Column, Index } from 'typeorm';
import { autoIncrementId, epochMillis } from './columns';
import { defineEntity } from './define-entity';

export type ChatMessageKind = 'chat' | 'notice';

/**
 * An archived chat message or system notice.
 *
 * A message is identified by where it was born: (roomId, roomEpoch, seq), unique, so archiving the
 * same message twice (two nodes, a retry) stores it once when inserted with `orIgnore()`. Beware:
 * MySQL's `INSERT IGNORE` also downgrades other errors to warnings (a too-long value is truncated,
 * a NULL in a NOT NULL column becomes ''), so validate rows before archiving them. `id` orders the
 * archive: history is read newest first, page after page, with `id < before`.
 */
export class ChatMessageEntity {
  id!: number;
  roomId!: string;
  /** Incarnation of the live room: `seq` restarts when a room is created again. */
  roomEpoch!: number;
  /** Position of the message in its room incarnation. */
  seq!: number;
  kind!: ChatMessageKind;
  /** null for a system notice. */
  authorId!: string | null;
  authorName!: string | null;
  /** Any Unicode text (utf8mb4 on MySQL). */
  body!: string;
  /** Epoch milliseconds. */
  sentAt!: number;
}

defineEntity(ChatMessageEntity, {
  table: 'chat_messages',
  columns: {
    id: autoIncrementId(),
    roomId: Column({ type: 'varchar', length: 64 }),
    roomEpoch: epochMillis(), // a bigint like the times, whatever the epoch counts
    seq: Column({ type: 'int' }),
    kind: Column({ type: 'varchar', length: 16 }),
    authorId: Column({ type: 'varchar', length: 64, nullable: true }),
    authorName: Column({ type: 'varchar', length: 64, nullable: true }),
    body: Column({ type: 'text' }),
    sentAt: epochMillis(),
  },
  indices: [Index('UQ_chat_messages_room_epoch_seq', ['roomId', 'roomEpoch', 'seq'], { unique: true }), Index('IDX_chat_messages_room_id', ['roomId', 'id'])],
});
