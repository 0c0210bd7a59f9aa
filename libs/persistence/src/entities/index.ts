import { ApiKeyEntity } from './api-key-entity';
import { AuditEntryEntity } from './audit-entry-entity';
import { BanEntity } from './ban-entity';
import { ChatMessageEntity } from './chat-message-entity';
import { RoomEntity } from './room-entity';
import { RoomEventDeadLetterEntity, RoomEventDispatchEntity, RoomEventEntity } from './room-event-entities';
import { UserEntity } from './user-entity';

export {
  ApiKeyEntity,
  AuditEntryEntity,
  BanEntity,
  ChatMessageEntity,
  RoomEntity,
  RoomEventDeadLetterEntity,
  RoomEventDispatchEntity,
  RoomEventEntity,
  UserEntity,
};
export type { RoomStatus } from './room-entity';
export type { ChatMessageKind } from './chat-message-entity';

/** Every entity, for the DataSource. A new entity goes here and into a new migration. */
export const ENTITIES = [
  UserEntity,
  RoomEntity,
  BanEntity,
  ChatMessageEntity,
  AuditEntryEntity,
  ApiKeyEntity,
  RoomEventEntity,
  RoomEventDispatchEntity,
  RoomEventDeadLetterEntity,
];
