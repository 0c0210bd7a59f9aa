/**
 * What the admin API decides, applied from its log entries: the room directory (`room`: listed
 * rooms, their capacity and seats, closing and deleting), bans (`ban`, `unban`), administrator
 * actions on live rooms (`admin`: kick, mute, set_role, notice), and the rejoin block after a
 * kick (by a host or an administrator), with its expiry in log time. Plain functions over
 * StateCore; membership.ts asks here whether a join is banned or blocked.
 */
import { CloseCode, ErrorCode, type LeaveReason, type NodeId, type RoomId, type UserId } from '@voiceroom/protocol';
import type { AdminEntry, BanEntry, RoomConfigEntry, UnbanEntry } from './log-events';
import type { StateCore } from './state-core';
import type { MemberRecord, RoomRecord } from './state-types';

/** Key of `bans` and `kickBlocks`: `room user`, `* user` for every room. */
function banKey(room: RoomId | null, userId: UserId): string {
  return `${room ?? '*'} ${userId}`;
}

/** The close reason of a join refused because the user was kicked from the room a moment ago. */
export function kickBlockReason(until: number): string {
  return `kicked from this room; you may join it again after ${new Date(until).toISOString()}`;
}

// ---- bans and kick blocks ---------------------------------------------------------------------

/** When the user's ban from `room` ends (null: never), or undefined when not banned. Forgets expired bans. */
export function bannedUntil(s: StateCore, room: RoomId, userId: UserId): number | null | undefined {
  for (const key of [banKey(room, userId), banKey(null, userId)]) {
    if (!s.bans.has(key)) continue;
    const until = s.bans.get(key) as number | null;
    if (until === null || until > s.time) return until;
    s.bans.delete(key); // expired
  }
  return undefined;
}

/**
 * Until when (log time, ms) the user's joins of `room` are refused because it was kicked from
 * it, or undefined when they are not.
 */
export function kickBlockedUntil(s: StateCore, room: RoomId, userId: UserId): number | undefined {
  const until = s.kickBlocks.get(banKey(room, userId));
  return until !== undefined && until > s.time ? until : undefined;
}

/** After a kick (by a host or an administrator): the room's rejoin block starts now, in log time. */
export function blockRejoin(s: StateCore, room: RoomRecord, userId: UserId): void {
  if (room.kickBlockMs <= 0) return;
  const until = s.time + room.kickBlockMs;
  const key = banKey(room.id, userId);
  s.kickBlocks.set(key, Math.max(until, s.kickBlocks.get(key) ?? 0));
  s.nextKickUnblock = Math.min(s.nextKickUnblock, until);
}

/** Forgets the kick blocks that ended (after every entry; costs nothing before the earliest end). */
export function expireKickBlocks(s: StateCore): void {
  if (s.time >= s.nextKickUnblock) {
    s.nextKickUnblock = Infinity;
    for (const [key, until] of s.kickBlocks) {
      if (until <= s.time) s.kickBlocks.delete(key);
      else s.nextKickUnblock = Math.min(s.nextKickUnblock, until);
    }
  }
}

/** Active bans: room (null: every room), user, end (null: none). */
export function activeBans(s: StateCore): { room: RoomId | null; userId: UserId; until: number | null }[] {
  const out: { room: RoomId | null; userId: UserId; until: number | null }[] = [];
  for (const [key, until] of s.bans) {
    if (until !== null && until <= s.time) continue;
    const cut = key.indexOf(' ');
    const room = key.slice(0, cut);
    out.push({ room: room === '*' ? null : (room as RoomId), userId: key.slice(cut + 1) as UserId, until });
  }
  return out;
}

// ---- entries published by the admin API -------------------------------------------------------

export function configureRoom(s: StateCore, entry: RoomConfigEntry, origin: NodeId): void {
  const config = entry.config;
  if (config) s.directory.set(entry.room, { capacity: config.capacity, seats: config.seats, open: config.open });
  else s.directory.delete(entry.room);
  const room = s.rooms.get(entry.room);
  if (room) {
    if (!config || !config.open) {
      const why = config ? 'the room was closed' : 'the room was deleted';
      for (const member of [...room.members.values()]) removeForAdmin(s, member, 'closed', CloseCode.RoomClosed, why);
    } else if (config.capacity !== room.settings.capacity || config.seats !== room.settings.seats) {
      room.settings = { capacity: config.capacity, seats: config.seats };
      s.emit(room, { type: 'room_updated', room: room.id, seq: 0, settings: { ...room.settings } });
    }
  }
  s.listener.commandDone(origin, entry.req);
}

export function ban(s: StateCore, entry: BanEntry, origin: NodeId): void {
  const expired = entry.until !== null && entry.until <= s.time;
  if (!expired) {
    s.bans.set(banKey(entry.room, entry.userId), entry.until);
    const rooms = entry.room === null ? [...s.rooms.values()] : [s.rooms.get(entry.room)].filter((r) => r !== undefined);
    for (const room of rooms) {
      const member = room.byUser.get(entry.userId);
      if (member) removeForAdmin(s, member, 'banned', CloseCode.Banned, 'banned from the room by an administrator');
    }
  }
  s.listener.commandDone(origin, entry.req);
}

export function unban(s: StateCore, entry: UnbanEntry, origin: NodeId): void {
  s.bans.delete(banKey(entry.room, entry.userId));
  s.listener.commandDone(origin, entry.req);
}

function removeForAdmin(s: StateCore, member: MemberRecord, reason: LeaveReason, closeCode: number, why: string): void {
  const node = member.node;
  s.removeMember(member, reason);
  if (node !== undefined) s.listener.sessionEnded(member, node, closeCode, why);
}

export function adminAction(s: StateCore, entry: AdminEntry, origin: NodeId): void {
  const done = (error?: { code: ErrorCode; message: string }) => s.listener.commandDone(origin, entry.req, error);
  const room = s.rooms.get(entry.room);
  const action = entry.action;
  if (action.type === 'notice') {
    if (room) s.emit(room, { type: 'notice', room: room.id, seq: 0, text: action.text, at: s.time });
    done(room ? undefined : { code: ErrorCode.UnknownMember, message: 'nobody is in the room' });
    return;
  }
  const target = room?.byUser.get(action.userId);
  if (!room || !target) {
    done({ code: ErrorCode.UnknownMember, message: `user ${action.userId} is not in the room` });
    return;
  }
  switch (action.type) {
    case 'kick':
      removeForAdmin(s, target, 'kicked', CloseCode.Kicked, 'removed from the room by an administrator');
      blockRejoin(s, room, target.userId);
      break;
    case 'mute':
      if (action.muted) room.mutedUsers.add(target.userId);
      else room.mutedUsers.delete(target.userId);
      if (target.muted !== action.muted) {
        target.muted = action.muted;
        s.updated(room, [target], 'mute', undefined);
      }
      break;
    case 'set_role':
      if (target.role === action.role) break;
      if (action.role === 'speaker' && s.speakerCount(room, target) >= room.settings.seats) {
        done({ code: ErrorCode.SeatsFull, message: `all ${room.settings.seats} seats are taken` });
        return;
      }
      target.role = action.role;
      target.handRaised = false;
      if (action.role === 'host') target.muted = false;
      room.roleGrants.set(target.userId, action.role);
      s.updated(room, [target], 'role', undefined);
      break;
  }
  done();
}
