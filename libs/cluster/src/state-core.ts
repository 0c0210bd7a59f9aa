/**
 * The data of the replicated room state, in one place, and the few mutations that more than one
 * concern needs (removing, dropping and detaching a member, handing out sids, counting seats,
 * emitting room events). ClusterState (cluster-state.ts) owns one StateCore and passes it to the
 * concern modules (liveness.ts, membership.ts, admin-directory.ts, snapshot.ts), which are plain
 * functions over it; the public surface stays on ClusterState. Reads no clock: time is `time`.
 */
import type { LeaveReason, MembersUpdatedMessage, NodeId, RoomEventMessage, RoomId, SpeakerId, UpdateReason } from '@voiceroom/protocol';
import type { RoomConfig } from './log-events';
import { appendRoomEvent } from './room-history';
import { ADMIN_SID, memberInfo, type MemberRecord, type NodeRecord, type RoomRecord, type StateListener } from './state-types';

const MAX_SID = 0xffffffff;

export class StateCore {
  readonly rooms = new Map<RoomId, RoomRecord>();
  readonly nodes = new Map<NodeId, NodeRecord>();
  /** Rooms the admin API configured (listed rooms), live or not. */
  readonly directory = new Map<RoomId, RoomConfig>();
  /** Active bans by `room user` (`* user` for every room): end time in ms, null for no end. */
  readonly bans = new Map<string, number | null>();
  /**
   * Users kicked from a room a moment ago, by `room user`: the log time until which their joins of
   * that room are refused (4403). Outlives the room (a kick of its last other member empties it).
   */
  readonly kickBlocks = new Map<string, number>();
  /** Earliest end in `kickBlocks` (Infinity: none), so that expiry costs nothing meanwhile. */
  nextKickUnblock = Infinity;
  /** Position of the last applied entry (-1: none). */
  position = -1;
  /** Log time: the largest birth time applied so far. */
  time = 0;
  /** Next speaker id to hand out. */
  nextSid = 1;
  /** Members without a connection, waiting for a resume until their `detachedUntil`. */
  readonly detached = new Set<MemberRecord>();
  memberCount = 0;
  /** Per origin: incarnation and counter of its last applied entry (duplicates are skipped). */
  readonly lastApplied = new Map<NodeId, { inc: string; n: number }>();
  /** Entries skipped as duplicates (a retried publish stored twice). */
  duplicatesSkipped = 0;

  constructor(readonly listener: StateListener) {}

  /** Cluster-wide counter (replicated): sids are unique across rooms until it wraps at 2^32. */
  newSid(room: RoomRecord): SpeakerId {
    let sid = this.nextSid;
    while (room.members.has(sid as SpeakerId)) sid = (sid % MAX_SID) + 1;
    this.nextSid = (sid % MAX_SID) + 1;
    return sid as SpeakerId;
  }

  speakerCount(room: RoomRecord, except: MemberRecord | undefined): number {
    let count = 0;
    for (const m of room.members.values()) if (m !== except && m.role === 'speaker') count++;
    return count;
  }

  /** A room event: numbered, kept for resumes (room-history.ts), then given to the listener. */
  emit(room: RoomRecord, message: RoomEventMessage): void {
    const text = appendRoomEvent(room, message);
    this.listener.roomEvent(room, message, text);
  }

  /** `by` undefined: an administrator. */
  updated(room: RoomRecord, members: MemberRecord[], reason: UpdateReason, by: MemberRecord | undefined): void {
    const message: MembersUpdatedMessage = {
      type: 'members_updated',
      room: room.id,
      seq: 0,
      members: members.map(memberInfo),
      reason,
      by: by?.sid ?? ADMIN_SID,
    };
    this.emit(room, message);
    for (const m of members) this.listener.memberChanged(m);
  }

  /** Removes a member without a room event (it is being replaced). */
  dropMember(member: MemberRecord): void {
    const room = member.room;
    room.members.delete(member.sid);
    if (room.byUser.get(member.userId) === member) room.byUser.delete(member.userId);
    this.detached.delete(member);
    this.memberCount--;
  }

  removeMember(member: MemberRecord, reason: LeaveReason): void {
    const room = member.room;
    if (room.members.get(member.sid) !== member) return;
    this.dropMember(member);
    this.emit(room, { type: 'member_left', room: room.id, seq: 0, userId: member.userId, sid: member.sid, reason });
    if (room.members.size === 0) this.rooms.delete(room.id);
  }

  markDetached(member: MemberRecord, until: number): void {
    member.node = undefined;
    member.lostNode = undefined;
    member.detachedUntil = until;
    this.detached.add(member);
  }
}
