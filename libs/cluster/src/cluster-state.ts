/**
 * ClusterState: the replicated room state's public face. It owns the data (a StateCore) and
 * `apply`, which skips duplicates, advances log time, dispatches each entry to the module that
 * owns its concern, and then expires what log time ended:
 *   liveness.ts        log time, hellos, beats, byes, node loss, detached members' grace
 *   membership.ts      join, resume, leave, detach, room commands (chat, hand, role, mute, kick)
 *   admin-directory.ts room directory, bans, admin actions, rejoin blocks after kicks
 *   room-history.ts    per-room event history for resumes
 *   snapshot.ts        snapshot / load (the state a syncing node starts from)
 *   state-core.ts      the data and the mutations several concerns share
 *   state-types.ts     records, outcomes, StateListener (re-exported here)
 * Callers (replica.ts, the gateway, the admin API) use only this file's exports.
 */
import type { NodeId, RoomId, UserId } from '@voiceroom/protocol';
import { activeBans, adminAction, ban, bannedUntil, configureRoom, expireKickBlocks, kickBlockedUntil, unban } from './admin-directory';
import { advanceTime, beat, bye, expireDetached, expireNodes } from './liveness';
import type { LogEntry, RoomConfig } from './log-events';
import { command, detach, join, leave, resume } from './membership';
import { missedEvents } from './room-history';
import { loadSnapshot, takeSnapshot } from './snapshot';
import { StateCore } from './state-core';
import type { NodeRecord, RoomRecord, StateListener } from './state-types';

export { kickBlockReason } from './admin-directory';
export { BEATS_BEFORE_LOSS } from './liveness';
export { HISTORY_LENGTH } from './room-history';
export { ADMIN_SID, canSpeak, memberInfo } from './state-types';
export type { JoinOutcome, MemberRecord, NodeRecord, ResumeOutcome, RoomRecord, StateListener } from './state-types';

/**
 * The replicated room state: a deterministic state machine over the event log. Every node
 * applies the same entries in the same order and so holds the same rooms, members, roles, mutes
 * and room event sequences; decisions such as "the room is full" or "this sid is kicked" are made
 * here, the same way everywhere, at the entry's log position. No clocks are read: time is the
 * log's (the entries' birth times, never going backwards).
 */
export class ClusterState {
  readonly rooms: Map<RoomId, RoomRecord>;
  readonly nodes: Map<NodeId, NodeRecord>;
  /** Rooms the admin API configured (listed rooms), live or not. */
  readonly directory: Map<RoomId, RoomConfig>;
  private readonly s: StateCore;
  private readonly onHello: (node: NodeId, inc: string, position: number) => void;

  /**
   * @param onHello called when a hello was applied: the state then is what a snapshot for that
   *   node must hold.
   */
  constructor(listener: StateListener, onHello: (node: NodeId, inc: string, position: number) => void = () => undefined) {
    this.s = new StateCore(listener);
    this.onHello = onHello;
    this.rooms = this.s.rooms;
    this.nodes = this.s.nodes;
    this.directory = this.s.directory;
  }

  /** Position of the last applied entry (-1: none). */
  get position(): number {
    return this.s.position;
  }
  set position(position: number) {
    this.s.position = position;
  }

  /** Log time: the largest birth time applied so far. */
  get time(): number {
    return this.s.time;
  }
  set time(time: number) {
    this.s.time = time;
  }

  /** Entries skipped as duplicates (a retried publish stored twice). */
  get duplicatesSkipped(): number {
    return this.s.duplicatesSkipped;
  }
  set duplicatesSkipped(count: number) {
    this.s.duplicatesSkipped = count;
  }

  get size(): { rooms: number; members: number; nodes: number } {
    return { rooms: this.s.rooms.size, members: this.s.memberCount, nodes: this.s.nodes.size };
  }

  /** Applies one entry. Entries at or before `position` must not be passed (the replica filters them). */
  apply(entry: LogEntry, origin: NodeId, position: number, birth: number): void {
    const s = this.s;
    s.position = position;
    const last = s.lastApplied.get(origin);
    if (last && last.inc === entry.inc && entry.n <= last.n) {
      s.duplicatesSkipped++;
      return;
    }
    s.lastApplied.set(origin, { inc: entry.inc, n: entry.n });
    advanceTime(s, birth);
    switch (entry.t) {
      case 'hello':
        beat(s, origin, entry.inc, false, entry.timeoutMs);
        this.onHello(origin, entry.inc, position);
        break;
      case 'beat':
        beat(s, origin, entry.inc, entry.live, entry.timeoutMs);
        if (entry.url !== undefined) (s.nodes.get(origin) as NodeRecord).url = entry.url;
        break;
      case 'bye':
        bye(s, origin, entry.inc);
        break;
      case 'snapshot':
        break; // for the node that asked (replica.ts)
      case 'join':
        join(s, entry, origin);
        break;
      case 'resume':
        resume(s, entry, origin);
        break;
      case 'leave':
        leave(s, entry, origin);
        break;
      case 'detach':
        detach(s, entry, origin);
        break;
      case 'cmd':
        command(s, entry, origin);
        break;
      case 'room':
        configureRoom(s, entry, origin);
        break;
      case 'ban':
        ban(s, entry, origin);
        break;
      case 'unban':
        unban(s, entry, origin);
        break;
      case 'admin':
        adminAction(s, entry, origin);
        break;
    }
    // After every entry, in this order (part of the deterministic outcome): kick blocks that
    // ended, nodes past their timeout (their members detached), detached members past their grace.
    expireKickBlocks(s);
    expireNodes(s);
    expireDetached(s);
  }

  /** When the user's ban from `room` ends (null: never), or undefined when not banned. */
  bannedUntil(room: RoomId, userId: UserId): number | null | undefined {
    return bannedUntil(this.s, room, userId);
  }

  /**
   * Until when (log time, ms) the user's joins of `room` are refused because it was kicked from
   * it, or undefined when they are not.
   */
  kickBlockedUntil(room: RoomId, userId: UserId): number | undefined {
    return kickBlockedUntil(this.s, room, userId);
  }

  /** Active bans: room (null: every room), user, end (null: none). */
  activeBans(): { room: RoomId | null; userId: UserId; until: number | null }[] {
    return activeBans(this.s);
  }

  /** Room events after `lastSeq`, or undefined when they are no longer all kept. */
  missedEvents(room: RoomRecord, lastSeq: number): string[] | undefined {
    return missedEvents(room, lastSeq);
  }

  snapshot(): string {
    return takeSnapshot(this.s);
  }

  /** Replaces everything with a snapshot taken by another node. Throws on a malformed one. */
  load(text: string): void {
    loadSnapshot(this.s, text);
  }
}
