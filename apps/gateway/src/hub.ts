import type { RoomId, SpeakerId } from '@voiceroom/protocol';
import type { RoomRecord } from '@voiceroom/cluster';
import type { SpeakerVoice } from './speaker-voice';

/** What the hub needs of a connected member. Delivery methods must never throw or block. */
export interface HubMember {
  readonly sid: SpeakerId;
  readonly room: RoomId;
  /** A complete, shared WebSocket frame; the member must not modify it. Returns false if dropped. */
  deliverVoice(wsFrame: Buffer): boolean;
  deliverText(text: string): void;
}

export class HubRoom {
  /** Dense array for the fan-out loop; order is join order. */
  readonly members: HubMember[] = [];
  readonly bySid = new Map<SpeakerId, HubMember>();
  /** sids in the last `speakers` announcement, joined by ',' ('' when nobody spoke). */
  lastSpeakers = '';
  /** When the last `speakers` message went out (ms). */
  lastSpeakersAt = 0;
  /** Voice state of the room's members heard or attached here, by sid (kept by voice-relay.ts). */
  readonly voices = new Map<SpeakerId, SpeakerVoice>();

  constructor(
    readonly id: RoomId,
    /** The replicated room this local room belongs to. */
    public record: RoomRecord,
  ) {}
}

/**
 * Node-local rooms and their connected members. No I/O, no bus: the gateway node decides what
 * reaches the hub, and members decide how bytes reach their sockets.
 */
export class Hub {
  private readonly rooms = new Map<RoomId, HubRoom>();
  private memberCount = 0;

  get size(): { rooms: number; members: number } {
    return { rooms: this.rooms.size, members: this.memberCount };
  }

  room(id: RoomId): HubRoom | undefined {
    return this.rooms.get(id);
  }

  all(): IterableIterator<HubRoom> {
    return this.rooms.values();
  }

  add(member: HubMember, record: RoomRecord): HubRoom {
    let room = this.rooms.get(member.room);
    if (!room) {
      room = new HubRoom(member.room, record);
      this.rooms.set(member.room, room);
    }
    room.record = record;
    room.members.push(member);
    room.bySid.set(member.sid, member);
    this.memberCount++;
    return room;
  }

  /** Returns true if the member was present. Empty rooms are forgotten. */
  remove(member: HubMember): boolean {
    const room = this.rooms.get(member.room);
    if (!room) return false;
    const index = room.members.indexOf(member);
    if (index < 0) return false;
    room.members.splice(index, 1);
    if (room.bySid.get(member.sid) === member) room.bySid.delete(member.sid);
    this.memberCount--;
    if (room.members.length === 0) this.rooms.delete(room.id);
    return true;
  }

  /** Sends one shared frame to every member of the room except `except`. Returns deliveries made. */
  fanOutVoice(room: HubRoom, wsFrame: Buffer, except: HubMember | undefined): number {
    let delivered = 0;
    const members = room.members;
    for (let i = 0; i < members.length; i++) {
      const member = members[i] as HubMember;
      if (member !== except && member.deliverVoice(wsFrame)) delivered++;
    }
    return delivered;
  }

  broadcastText(room: RoomId, text: string, except?: HubMember): void {
    const target = this.rooms.get(room);
    if (!target) return;
    for (const member of target.members) if (member !== except) member.deliverText(text);
  }
}
