/**
 * Membership and room commands: joins (directory, ban, kick-block, capacity and seat checks;
 * replacing the same user's older membership), resumes, leaves and detaches, and the commands
 * members send (chat, raise_hand, and the host's answer_hand, set_role, mute, mute_all, kick).
 * Plain functions over StateCore, called by ClusterState.apply; bans and kick blocks are asked
 * of admin-directory.ts.
 */
import { CloseCode, ErrorCode, type NodeId, type Role, type RoomCommand, type RoomEventMessage } from '@voiceroom/protocol';
import { bannedUntil, blockRejoin, kickBlockedUntil, kickBlockReason } from './admin-directory';
import type { CommandEntry, DetachEntry, JoinEntry, LeaveEntry, ResumeEntry } from './log-events';
import type { StateCore } from './state-core';
import { memberInfo, type MemberRecord, type RoomRecord } from './state-types';

/** Whether `node` speaks for the member: it holds its connection, or held it when it was declared lost. */
function heldBy(m: MemberRecord, node: NodeId): boolean {
  return m.node === node || (m.node === undefined && m.lostNode === node);
}

export function join(s: StateCore, entry: JoinEntry, origin: NodeId): void {
  const listed = s.directory.get(entry.room);
  if (listed && !listed.open) {
    s.listener.joinDecided(origin, entry.req, { ok: false, closeCode: CloseCode.RoomClosed, reason: 'the room is closed' });
    return;
  }
  const until = bannedUntil(s, entry.room, entry.userId);
  if (until !== undefined) {
    const reason = until === null ? 'banned from this room' : `banned from this room until ${new Date(until).toISOString()}`;
    s.listener.joinDecided(origin, entry.req, { ok: false, closeCode: CloseCode.Banned, reason });
    return;
  }
  const unblocked = kickBlockedUntil(s, entry.room, entry.userId);
  if (unblocked !== undefined) {
    s.listener.joinDecided(origin, entry.req, { ok: false, closeCode: CloseCode.Kicked, reason: kickBlockReason(unblocked) });
    return;
  }
  let room = s.rooms.get(entry.room);
  const existing = room?.byUser.get(entry.userId);
  if (room && room.members.size - (existing ? 1 : 0) >= room.settings.capacity) {
    s.listener.joinDecided(origin, entry.req, {
      ok: false,
      closeCode: CloseCode.RoomFull,
      reason: `room is full (${room.settings.capacity} members)`,
    });
    return;
  }
  if (!room) {
    const settings = listed ?? entry.settings;
    room = {
      id: entry.room,
      settings: { capacity: settings.capacity, seats: settings.seats },
      epoch: s.position,
      graceMs: entry.graceMs,
      kickBlockMs: entry.kickBlockMs ?? 0,
      seq: 0,
      members: new Map(),
      byUser: new Map(),
      mutedUsers: new Set(),
      roleGrants: new Map(),
      history: [],
    };
    s.rooms.set(room.id, room);
  }
  let role: Role = entry.role;
  if (role !== 'host') role = room.roleGrants.get(entry.userId) ?? role;
  if (role === 'speaker' && s.speakerCount(room, existing) >= room.settings.seats) role = 'listener';
  if (existing) s.dropMember(existing);
  const member: MemberRecord = {
    room,
    userId: entry.userId,
    sid: s.newSid(room),
    name: entry.name,
    role,
    muted: role !== 'host' && room.mutedUsers.has(entry.userId),
    handRaised: false,
    node: origin,
    lostNode: undefined,
    detachedUntil: 0,
  };
  room.members.set(member.sid, member);
  room.byUser.set(member.userId, member);
  s.memberCount++;
  if (existing?.node !== undefined) {
    s.listener.sessionEnded(existing, existing.node, CloseCode.Replaced, 'the same user joined again');
  }
  const event: RoomEventMessage = existing
    ? { type: 'member_joined', room: room.id, seq: 0, member: memberInfo(member), replaces: existing.sid }
    : { type: 'member_joined', room: room.id, seq: 0, member: memberInfo(member) };
  s.emit(room, event);
  s.listener.joinDecided(origin, entry.req, { ok: true, member });
}

export function resume(s: StateCore, entry: ResumeEntry, origin: NodeId): void {
  const member = s.rooms.get(entry.room)?.members.get(entry.sid);
  if (!member || member.userId !== entry.userId) {
    s.listener.resumeDecided(origin, entry.req, { ok: false, reason: 'no such member any more' });
    return;
  }
  const previous = member.node;
  member.node = origin;
  member.lostNode = undefined;
  member.detachedUntil = 0;
  s.detached.delete(member);
  if (previous !== undefined) s.listener.sessionEnded(member, previous, CloseCode.Replaced, 'resumed on another connection');
  s.listener.resumeDecided(origin, entry.req, { ok: true, member });
}

export function leave(s: StateCore, entry: LeaveEntry, origin: NodeId): void {
  const member = s.rooms.get(entry.room)?.members.get(entry.sid);
  if (member && heldBy(member, origin)) s.removeMember(member, 'left');
}

export function detach(s: StateCore, entry: DetachEntry, origin: NodeId): void {
  const member = s.rooms.get(entry.room)?.members.get(entry.sid);
  if (member && heldBy(member, origin)) s.markDetached(member, s.time + entry.graceMs);
}

export function command(s: StateCore, entry: CommandEntry, origin: NodeId): void {
  const room = s.rooms.get(entry.room);
  const by = room?.members.get(entry.by);
  if (!room || !by || !heldBy(by, origin)) {
    // The requester is gone or moved; its node only forgets the request.
    s.listener.commandDone(origin, entry.req, { code: ErrorCode.InvalidCommand, message: 'not in the room any more' });
    return;
  }
  const error = runCommand(s, room, by, entry.cmd);
  s.listener.commandDone(origin, entry.req, error);
}

/** Returns the refusal, or undefined when the command was applied (or changed nothing). */
function runCommand(s: StateCore, room: RoomRecord, by: MemberRecord, cmd: RoomCommand): { code: ErrorCode; message: string } | undefined {
  const refuse = (code: ErrorCode, message: string) => ({ code, message });
  if (cmd.type === 'chat') {
    const message: RoomEventMessage = { type: 'chat', room: room.id, seq: 0, from: by.sid, userId: by.userId, text: cmd.text, at: s.time };
    if (by.name !== undefined) message.name = by.name;
    s.emit(room, message);
    return undefined;
  }
  if (cmd.type === 'raise_hand') {
    if (by.role !== 'listener') return refuse(ErrorCode.InvalidCommand, 'only listeners raise a hand');
    if (by.handRaised === cmd.raised) return undefined;
    by.handRaised = cmd.raised;
    s.updated(room, [by], 'hand', by);
    return undefined;
  }
  if (by.role !== 'host') return refuse(ErrorCode.NotHost, `${cmd.type} is for hosts`);
  if (cmd.type === 'mute_all') {
    const changed: MemberRecord[] = [];
    for (const m of room.members.values()) {
      if (m.role === 'host') continue;
      if (cmd.muted) room.mutedUsers.add(m.userId);
      else room.mutedUsers.delete(m.userId);
      if (m.muted !== cmd.muted) {
        m.muted = cmd.muted;
        changed.push(m);
      }
    }
    if (changed.length > 0) s.updated(room, changed, 'mute_all', by);
    return undefined;
  }
  const target = room.members.get(cmd.sid);
  if (!target) return refuse(ErrorCode.UnknownMember, `no member with sid ${cmd.sid} in the room`);
  if (target.role === 'host') return refuse(ErrorCode.InvalidCommand, `${cmd.type} does not apply to a host`);
  switch (cmd.type) {
    case 'answer_hand':
      if (!target.handRaised) return refuse(ErrorCode.InvalidCommand, 'that member has no hand raised');
      if (cmd.accept) {
        if (s.speakerCount(room, target) >= room.settings.seats) return refuse(ErrorCode.SeatsFull, `all ${room.settings.seats} seats are taken`);
        target.role = 'speaker';
        room.roleGrants.set(target.userId, 'speaker');
      }
      target.handRaised = false;
      s.updated(room, [target], cmd.accept ? 'hand_accepted' : 'hand_declined', by);
      return undefined;
    case 'set_role':
      if (target.role === cmd.role) return undefined;
      if (cmd.role === 'speaker' && s.speakerCount(room, target) >= room.settings.seats) {
        return refuse(ErrorCode.SeatsFull, `all ${room.settings.seats} seats are taken`);
      }
      target.role = cmd.role;
      target.handRaised = false;
      room.roleGrants.set(target.userId, cmd.role);
      s.updated(room, [target], 'role', by);
      return undefined;
    case 'mute':
      if (cmd.muted) room.mutedUsers.add(target.userId);
      else room.mutedUsers.delete(target.userId);
      if (target.muted === cmd.muted) return undefined;
      target.muted = cmd.muted;
      s.updated(room, [target], 'mute', by);
      return undefined;
    case 'kick': {
      const node = target.node;
      s.removeMember(target, 'kicked');
      blockRejoin(s, room, target.userId);
      if (node !== undefined) s.listener.sessionEnded(target, node, CloseCode.Kicked, 'removed from the room by a host');
      return undefined;
    }
  }
}
