import { Column, Index } from 'typeorm';
import { autoIncrementId, epochMillis } from './columns';
import { defineEntity } from './define-entity';

/**
 * The room-event outbox (apps/admin/src/events): one row per event for other services, written by
 * the admin node that holds the publisher lease, in log order. `id` is the delivery order; `eventId`
 * is the event's stable id (unique: a new lease holder re-inserts its recent events with
 * `orIgnore()` and only the missing ones are added).
 */
export class RoomEventEntity {
  id!: number;
  eventId!: string;
  roomId!: string;
  type!: string;
  /** The event as delivered: its JSON text. */
  body!: string;
  /** Epoch milliseconds, when the row was written (the retention and give-up clocks). */
  createdAt!: number;
}

defineEntity(RoomEventEntity, {
  table: 'room_events',
  columns: {
    id: autoIncrementId(),
    eventId: Column({ type: 'varchar', length: 191 }),
    roomId: Column({ type: 'varchar', length: 64 }),
    type: Column({ type: 'varchar', length: 64 }),
    body: Column({ type: 'text' }),
    createdAt: epochMillis(),
  },
  indices: [Index('UQ_room_events_event_id', ['eventId'], { unique: true })],
});

/**
 * The publisher lease (row `lease`: `holder` until `leaseUntil`) and one delivery cursor per target
 * (`rocketmq`, `webhook:<hash of the URL>`: `lastId`, the outbox id delivered or dead-lettered last).
 */
export class RoomEventDispatchEntity {
  name!: string;
  holder!: string;
  /** Epoch milliseconds. */
  leaseUntil!: number;
  lastId!: number;
}

defineEntity(RoomEventDispatchEntity, {
  table: 'room_event_dispatch',
  columns: {
    name: Column({ type: 'varchar', length: 64, primary: true }),
    holder: Column({ type: 'varchar', length: 64 }),
    leaseUntil: epochMillis(),
    lastId: epochMillis(), // a bigint like the times: an outbox id
  },
});

/** An event a target did not take before it gave up (webhooks: after the last try). Kept until an operator deletes it. */
export class RoomEventDeadLetterEntity {
  id!: number;
  /** `rocketmq` or `webhook:<hash of the URL>`. */
  target!: string;
  /** The URL (webhooks), without its query string. */
  url!: string | null;
  eventId!: string;
  roomId!: string;
  type!: string;
  body!: string;
  attempts!: number;
  lastError!: string;
  /** Epoch milliseconds. */
  firstTriedAt!: number;
  deadAt!: number;
}

defineEntity(RoomEventDeadLetterEntity, {
  table: 'room_event_dead_letters',
  columns: {
    id: autoIncrementId(),
    target: Column({ type: 'varchar', length: 64 }),
    url: Column({ type: 'varchar', length: 500, nullable: true }),
    eventId: Column({ type: 'varchar', length: 191 }),
    roomId: Column({ type: 'varchar', length: 64 }),
    type: Column({ type: 'varchar', length: 64 }),
    body: Column({ type: 'text' }),
    attempts: Column({ type: 'int' }),
    lastError: Column({ type: 'varchar', length: 500 }),
    firstTriedAt: epochMillis(),
    deadAt: epochMillis(),
  },
  indices: [Index('IDX_room_event_dead_letters_dead_at', ['deadAt'])],
});
