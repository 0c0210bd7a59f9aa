/**
 * Room events for other services (docs/events.md): the JSON each one is, and how they are derived
 * from the replicated room state's own room events. Pure: no I/O, no clock (time is the log's).
 *
 * Every admin node derives the same events with the same ids from the same log, so whichever node
 * publishes, an event keeps its id: `<room>/<room epoch>/<seq>/<sub>`, where (epoch, seq) names
 * the state's room event uniquely (the epoch is the log position of the join that created the
 * live room) and `sub` numbers the events derived from it.
 */
import type { RoomRecord } from '@voiceroom/cluster';
import type { LeaveReason, MemberInfo, RoomEventMessage, SpeakerId } from '@voiceroom/protocol';

/** Every type, with its version. A change that is not backwards compatible gets a new version (`.v2`), never a new meaning. */
export const ROOM_EVENT_TYPES = [
  'room.opened.v1',
  'room.closed.v1',
  'room.updated.v1',
  'member.joined.v1',
  'member.left.v1',
  'member.role_changed.v1',
  'member.muted.v1',
  'member.kicked.v1',
  'member.banned.v1',
  'chat.message.v1',
  'room.notice.v1',
] as const;
export type RoomEventType = (typeof ROOM_EVENT_TYPES)[number];

/** Who did it: a member (a host, or the member itself), or `null`: an administrator (admin API). */
export type Actor = { sid: number; userId: string | null } | null;

export interface RoomEventEnvelope {
  /** Stable across publishers and retries: deduplicate on it. */
  id: string;
  type: RoomEventType;
  room: string;
  /** Log time of the entry that caused it (ISO 8601, ms). */
  time: string;
  /** Incarnation of the live room (a room that empties and fills again gets a new one) and the room's event number in it. */
  roomEpoch: number;
  seq: number;
  data: Record<string, unknown>;
}

export interface DeriveOptions {
  /** Chat messages and notices too (ROOM_EVENTS_CHAT). */
  chat: boolean;
  /** Log time (ms) of the entry being applied. */
  time: number;
}

function actor(room: RoomRecord, by: SpeakerId): Actor {
  if (by === 0) return null;
  return { sid: by, userId: room.members.get(by)?.userId ?? null };
}

function member(m: MemberInfo): Record<string, unknown> {
  return { ...m };
}

/** The events for other services that one of the state's room events means, in order. */
export function deriveRoomEvents(room: RoomRecord, message: RoomEventMessage, options: DeriveOptions): RoomEventEnvelope[] {
  const out: RoomEventEnvelope[] = [];
  const add = (type: RoomEventType, data: Record<string, unknown>) =>
    out.push({
      id: `${room.id}/${room.epoch}/${message.seq}/${out.length}`,
      type,
      room: room.id,
      time: new Date(options.time).toISOString(),
      roomEpoch: room.epoch,
      seq: message.seq,
      data,
    });
  switch (message.type) {
    case 'member_joined':
      // The join that creates a live room is its first event.
      if (message.seq === 1) add('room.opened.v1', { capacity: room.settings.capacity, seats: room.settings.seats });
      add('member.joined.v1', { member: member(message.member), ...(message.replaces !== undefined ? { replaces: message.replaces } : {}) });
      break;
    case 'member_left': {
      const who = { userId: message.userId, sid: message.sid };
      if (message.reason === 'kicked') add('member.kicked.v1', who);
      if (message.reason === 'banned') add('member.banned.v1', who);
      add('member.left.v1', { ...who, reason: message.reason });
      // The state drops a room with its last member (right after this event).
      if (room.members.size === 0) add('room.closed.v1', { reason: closeReason(message.reason) });
      break;
    }
    case 'members_updated':
      for (const m of message.members) {
        if (message.reason === 'role' || message.reason === 'hand_accepted') {
          add('member.role_changed.v1', {
            member: member(m),
            role: m.role,
            by: actor(room, message.by),
            via: message.reason === 'role' ? 'set_role' : 'hand_accepted',
          });
        } else if (message.reason === 'mute' || message.reason === 'mute_all') {
          add('member.muted.v1', { member: member(m), muted: m.muted, by: actor(room, message.by), all: message.reason === 'mute_all' });
        }
      }
      break;
    case 'room_updated':
      add('room.updated.v1', { capacity: message.settings.capacity, seats: message.settings.seats });
      break;
    case 'chat':
      if (options.chat)
        add('chat.message.v1', {
          sid: message.from,
          userId: message.userId,
          ...(message.name !== undefined ? { name: message.name } : {}),
          text: message.text,
        });
      break;
    case 'notice':
      if (options.chat) add('room.notice.v1', { text: message.text });
      break;
  }
  return out;
}

/** Why a live room ended: an administrator closed or deleted it, or its last member went. */
function closeReason(lastLeave: LeaveReason): 'closed' | 'empty' {
  return lastLeave === 'closed' ? 'closed' : 'empty';
}
