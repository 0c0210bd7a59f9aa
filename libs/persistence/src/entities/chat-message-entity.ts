import { Column, Entity, Index } from 'typeorm';
import { bigintAsNumber } from '../transformers';

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
@Entity({ name: 'chat_messages' })
@Index('UQ_chat_messages_room_epoch_seq', ['roomId', 'roomEpoch', 'seq'], { unique: true })
@Index('IDX_chat_messages_room_id', ['roomId', 'id'])
export class ChatMessageEntity {
  @Column({ type: 'bigint', primary: true, generated: 'increment', transformer: bigintAsNumber })
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  roomId!: string;

  /** Incarnation of the live room: `seq` restarts when a room is created again. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  roomEpoch!: number;

  /** Position of the message in its room incarnation. */
  @Column({ type: 'int' })
  seq!: number;

  @Column({ type: 'varchar', length: 16 })
  kind!: ChatMessageKind;

  /** null for a system notice. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  authorId!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  authorName!: string | null;

  /** Any Unicode text (utf8mb4 on MySQL). */
  @Column({ type: 'text' })
  body!: string;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  sentAt!: number;
}
