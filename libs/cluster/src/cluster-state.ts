import {
  CloseCode,
  ErrorCode,
  type LeaveReason,
  type MemberInfo,
  type MembersUpdatedMessage,
  type NodeId,
  type Role,
  type RoomCommand,
  type RoomEventMessage,
  type RoomId,
  type RoomSettings,
  type SpeakerId,
  type UpdateReason,
  type UserId,
} from '@voiceroom/protocol';
import type {
  AdminEntry,
  BanEntry,
  CommandEntry,
  DetachEntry,
  JoinEntry,
  LeaveEntry,
  LogEntry,
  ResumeEntry,
  RoomConfig,
  RoomConfigEntry,
  UnbanEntry,
} from './log-events';

/** Room events kept per room for resumes (consecutive seqs). */
export const HISTORY_LENGTH = 256;
const MAX_SID = 0xffffffff;

/** One member of a room, wherever it is connected. The voice fields are node-local, never replicated. */
export interface MemberRecord {
  readonly room: RoomRecord;
  readonly userId: UserId;
  readonly sid: SpeakerId;
  readonly name: string | undefined;
  role: Role;
  muted: boolean;
  handRaised: boolean;
  /** Node holding its connection; undefined while detached. */
  node: NodeId | undefined;
  /**
   * The node it was attached to when that node was declared lost (undefined otherwise). Such a
   * node may still be running with the member connected: its leaves and commands for the member
   * keep counting until the member resumes somewhere (or the grace ends).
   */
  lostNode: NodeId | undefined;
  /** Log time after which a detached member has left; 0 while attached. */
  detachedUntil: number;
  // ---- node-local voice state ----
  /** Last voice sequence relayed from this member (-1: none yet). */
  lastSeq: number;
  /** Loudest level since the last speakers announcement (0 loudest … 127 silence). */
  level: number;
  /** Local time of the last frame with a level under the speaking threshold. */
  lastVoiceAt: number;
}

export interface RoomRecord {
  readonly id: RoomId;
  /** Capacity and seats: from the directory (admin API) if listed there, else from the creating join. */
  settings: RoomSettings;
  /**
   * Log position of the join that created this live room: with `seq`, it names a room event
   * uniquely (a room that empties and fills again starts a new epoch, with seq from 1).
   */
  readonly epoch: number;
  /** How long members detached by a lost node may resume (from the join that created the room). */
  readonly graceMs: number;
  /** How long a user kicked from the room is refused when joining it again, ms (from the join that created the room; 0: not at all). */
  readonly kickBlockMs: number;
  /** Seq of the last room event. */
  seq: number;
  readonly members: Map<SpeakerId, MemberRecord>;
  readonly byUser: Map<UserId, MemberRecord>;
  /** Users a host muted; survives their leaving and joining again while the room exists. */
  readonly mutedUsers: Set<UserId>;
  /** Roles a host gave (speaker/listener); survive rejoining while the room exists. */
  readonly roleGrants: Map<UserId, Role>;
  /** Last room events, oldest first, consecutive seqs. */
  readonly history: { seq: number; text: string }[];
}

export interface NodeRecord {
  readonly id: NodeId;
  inc: string;
  live: boolean;
  timeoutMs: number;
  /** Log time of its last hello or beat. */
  lastBeat: number;
  /** Beats applied from each other node since this node's last beat. */
  beatsSeen: Record<string, number>;
  /** Its NODE_URL, from its last beat (other nodes ask it whether the log flows). */
  url?: string;
}

/**
 * A node is lost only when, besides its timeout having passed in log time, another node has
 * beaten this many times since its last beat. Entries queued while the broker was away arrive
 * with old birth times and can make log time advance in small steps; a node queues at most one
 * beat, so this many beats of another node mean the log really was flowing without it.
 */
export const BEATS_BEFORE_LOSS = 3;

export type JoinOutcome =
  | { ok: true; member: MemberRecord }
  | { ok: false; closeCode: number; reason: string };

export type ResumeOutcome = { ok: true; member: MemberRecord } | { ok: false; reason: string };

/** What applying an entry means to the node applying it. All calls happen during `apply`. */
export interface StateListener {
  /** A room event: deliver `text` to this node's members of the room. */
  roomEvent(room: RoomRecord, message: RoomEventMessage, text: string): void;
  joinDecided(origin: NodeId, req: string, outcome: JoinOutcome): void;
  resumeDecided(origin: NodeId, req: string, outcome: ResumeOutcome): void;
  /** A command was applied; `error` says why it had no effect, if it was refused. */
  commandDone(origin: NodeId, req: string, error?: { code: ErrorCode; message: string }): void;
  /** The member's session on `node` must end (kicked, replaced, or it resumed elsewhere). */
  sessionEnded(member: MemberRecord, node: NodeId, closeCode: number, reason: string): void;
  /** Role or mute changed: whether it may send audio may have changed. */
  memberChanged(member: MemberRecord): void;
  /** A node stopped beating (or said bye); its members are detached. */
  nodeLost(node: NodeId, why: 'timeout' | 'bye'): void;
}

/** The sid that `members_updated.by` names when an administrator acted. */
export const ADMIN_SID = 0 as SpeakerId;

function banKey(room: RoomId | null, userId: UserId): string {
  return `${room ?? '*'} ${userId}`;
}

/** The close reason of a join refused because the user was kicked from the room a moment ago. */
export function kickBlockReason(until: number): string {
  return `kicked from this room; you may join it again after ${new Date(until).toISOString()}`;
}

export function memberInfo(m: MemberRecord): MemberInfo {
  const info: MemberInfo = { userId: m.userId, sid: m.sid, role: m.role, muted: m.muted, handRaised: m.handRaised };
  if (m.name !== undefined) info.name = m.name;
  return info;
}

/** Whether `node` speaks for the member: it holds its connection, or held it when it was declared lost. */
function heldBy(m: MemberRecord, node: NodeId): boolean {
  return m.node === node || (m.node === undefined && m.lostNode === node);
}

export function canSpeak(m: MemberRecord): boolean {
  return m.role !== 'listener' && !m.muted;
}

interface SnapshotV1 {
  v: 1;
  position: number;
  time: number;
  nextSid: number;
  nodes: NodeRecord[];
  lastApplied: [NodeId, { inc: string; n: number }][];
  directory?: [RoomId, RoomConfig][];
  bans?: [string, number | null][];
  kickBlocks?: [string, number][];
  rooms: {
    id: RoomId;
    epoch?: number;
    settings: RoomSettings;
    graceMs: number;
    kickBlockMs?: number;
    seq: number;
    mutedUsers: UserId[];
    roleGrants: [UserId, Role][];
    members: {
      userId: UserId;
      sid: SpeakerId;
      name?: string;
      role: Role;
      muted: boolean;
      handRaised: boolean;
      node: NodeId | null;
      lostNode?: NodeId;
      detachedUntil: number;
    }[];
  }[];
}

/**
 * The replicated room state: a deterministic state machine over the event log. Every node
 * applies the same entries in the same order and so holds the same rooms, members, roles, mutes
 * and room event sequences; decisions such as "the room is full" or "this sid is kicked" are made
 * here, the same way everywhere, at the entry's log position. No clocks are read: time is the
 * log's (the entries' birth times, never going backwards).
 */
export class ClusterState {
  readonly rooms = new Map<RoomId, RoomRecord>();
  readonly nodes = new Map<NodeId, NodeRecord>();
  /** Rooms the admin API configured (listed rooms), live or not. */
  readonly directory = new Map<RoomId, RoomConfig>();
  /** Active bans by `room user` (`* user` for every room): end time in ms, null for no end. */
  private readonly bans = new Map<string, number | null>();
  /**
   * Users kicked from a room a moment ago, by `room user`: the log time until which their joins of
   * that room are refused (4403). Outlives the room (a kick of its last other member empties it).
   */
  private readonly kickBlocks = new Map<string, number>();
  /** Earliest end in `kickBlocks` (Infinity: none), so that expiry costs nothing meanwhile. */
  private nextKickUnblock = Infinity;
  /** Position of the last applied entry (-1: none). */
  position = -1;
  /** Log time: the largest birth time applied so far. */
  time = 0;
  /** Next speaker id to hand out. */
  private nextSid = 1;
  private readonly detached = new Set<MemberRecord>();
  private memberCount = 0;
  /** Per origin: incarnation and counter of its last applied entry (duplicates are skipped). */
  private readonly lastApplied = new Map<NodeId, { inc: string; n: number }>();
  /** Entries skipped as duplicates (a retried publish stored twice). */
  duplicatesSkipped = 0;

  /**
   * @param onHello called when a hello was applied: the state then is what a snapshot for that
   *   node must hold.
   */
  constructor(
    private readonly listener: StateListener,
    private readonly onHello: (node: NodeId, inc: string, position: number) => void = () => undefined,
  ) {}

  get size(): { rooms: number; members: number; nodes: number } {
    return { rooms: this.rooms.size, members: this.memberCount, nodes: this.nodes.size };
  }

  /** Applies one entry. Entries at or before `position` must not be passed (the replica filters them). */
  apply(entry: LogEntry, origin: NodeId, position: number, birth: number): void {
    this.position = position;
    const last = this.lastApplied.get(origin);
    if (last && last.inc === entry.inc && entry.n <= last.n) {
      this.duplicatesSkipped++;
      return;
    }
    this.lastApplied.set(origin, { inc: entry.inc, n: entry.n });
    this.advanceTime(birth);
    switch (entry.t) {
      case 'hello':
        this.beat(origin, entry.inc, false, entry.timeoutMs);
        this.onHello(origin, entry.inc, position);
        break;
      case 'beat':
        this.beat(origin, entry.inc, entry.live, entry.timeoutMs);
        if (entry.url !== undefined) (this.nodes.get(origin) as NodeRecord).url = entry.url;
        break;
      case 'bye': {
        const node = this.nodes.get(origin);
        if (node && node.inc === entry.inc) this.loseNode(node, 'bye');
        break;
      }
      case 'snapshot':
        break; // for the node that asked (replica.ts)
      case 'join':
        this.join(entry, origin);
        break;
      case 'resume':
        this.resume(entry, origin);
        break;
      case 'leave':
        this.leave(entry, origin);
        break;
      case 'detach':
        this.detach(entry, origin);
        break;
      case 'cmd':
        this.command(entry, origin);
        break;
      case 'room':
        this.configureRoom(entry, origin);
        break;
      case 'ban':
        this.ban(entry, origin);
        break;
      case 'unban':
        this.bans.delete(banKey(entry.room, entry.userId));
        this.listener.commandDone(origin, entry.req);
        break;
      case 'admin':
        this.admin(entry, origin);
        break;
    }
    this.expire();
  }

  // ---- time, nodes, expiry ----------------------------------------------------------------

  private advanceTime(birth: number): void {
    if (this.time === 0) {
      this.time = birth;
      return;
    }
    if (birth <= this.time) return;
    if (birth - this.time > this.silenceMs()) {
      // Nothing was appended for a while: the log (broker) was away, not every node. Nobody is
      // declared dead for that silence; every node gets its full timeout again from now.
      for (const node of this.nodes.values()) node.lastBeat = birth;
    }
    this.time = birth;
  }

  /** Half the shortest node timeout: live nodes beat several times within it. */
  private silenceMs(): number {
    let min = Infinity;
    for (const node of this.nodes.values()) min = Math.min(min, node.timeoutMs);
    return min === Infinity ? 5000 : min / 2;
  }

  private beat(id: NodeId, inc: string, live: boolean, timeoutMs: number): void {
    let node = this.nodes.get(id);
    if (node && node.inc !== inc) {
      // The node restarted: what its previous life held is detached (its clients may resume).
      this.loseNode(node, 'timeout');
      node = undefined;
    }
    if (!node) {
      node = { id, inc, live, timeoutMs, lastBeat: this.time, beatsSeen: {} };
      this.nodes.set(id, node);
    }
    node.live = live;
    node.timeoutMs = timeoutMs;
    node.lastBeat = this.time;
    node.beatsSeen = {};
    for (const other of this.nodes.values()) {
      if (other !== node) other.beatsSeen[id] = (other.beatsSeen[id] ?? 0) + 1;
    }
  }

  private loseNode(node: NodeRecord, why: 'timeout' | 'bye'): void {
    this.nodes.delete(node.id);
    for (const room of this.rooms.values()) {
      for (const member of room.members.values()) {
        if (member.node === node.id) {
          this.markDetached(member, this.time + room.graceMs);
          member.lostNode = node.id;
        }
      }
    }
    this.listener.nodeLost(node.id, why);
  }

  private markDetached(member: MemberRecord, until: number): void {
    member.node = undefined;
    member.lostNode = undefined;
    member.detachedUntil = until;
    this.detached.add(member);
  }

  private expire(): void {
    if (this.time >= this.nextKickUnblock) {
      this.nextKickUnblock = Infinity;
      for (const [key, until] of this.kickBlocks) {
        if (until <= this.time) this.kickBlocks.delete(key);
        else this.nextKickUnblock = Math.min(this.nextKickUnblock, until);
      }
    }
    for (const node of [...this.nodes.values()]) {
      if (this.time - node.lastBeat > node.timeoutMs && Object.values(node.beatsSeen).some((n) => n >= BEATS_BEFORE_LOSS)) {
        this.loseNode(node, 'timeout');
      }
    }
    if (this.detached.size === 0) return;
    for (const member of [...this.detached]) {
      if (member.node === undefined && member.detachedUntil <= this.time) this.removeMember(member, 'timeout');
    }
  }

  // ---- room entries -------------------------------------------------------------------------

  private join(entry: JoinEntry, origin: NodeId): void {
    const listed = this.directory.get(entry.room);
    if (listed && !listed.open) {
      this.listener.joinDecided(origin, entry.req, { ok: false, closeCode: CloseCode.RoomClosed, reason: 'the room is closed' });
      return;
    }
    const until = this.bannedUntil(entry.room, entry.userId);
    if (until !== undefined) {
      const reason = until === null ? 'banned from this room' : `banned from this room until ${new Date(until).toISOString()}`;
      this.listener.joinDecided(origin, entry.req, { ok: false, closeCode: CloseCode.Banned, reason });
      return;
    }
    const unblocked = this.kickBlockedUntil(entry.room, entry.userId);
    if (unblocked !== undefined) {
      this.listener.joinDecided(origin, entry.req, { ok: false, closeCode: CloseCode.Kicked, reason: kickBlockReason(unblocked) });
      return;
    }
    let room = this.rooms.get(entry.room);
    const existing = room?.byUser.get(entry.userId);
    if (room && room.members.size - (existing ? 1 : 0) >= room.settings.capacity) {
      this.listener.joinDecided(origin, entry.req, {
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
        epoch: this.position,
        graceMs: entry.graceMs,
        kickBlockMs: entry.kickBlockMs ?? 0,
        seq: 0,
        members: new Map(),
        byUser: new Map(),
        mutedUsers: new Set(),
        roleGrants: new Map(),
        history: [],
      };
      this.rooms.set(room.id, room);
    }
    let role: Role = entry.role;
    if (role !== 'host') role = room.roleGrants.get(entry.userId) ?? role;
    if (role === 'speaker' && this.speakerCount(room, existing) >= room.settings.seats) role = 'listener';
    if (existing) this.dropMember(existing);
    const member: MemberRecord = {
      room,
      userId: entry.userId,
      sid: this.newSid(room),
      name: entry.name,
      role,
      muted: role !== 'host' && room.mutedUsers.has(entry.userId),
      handRaised: false,
      node: origin,
      lostNode: undefined,
      detachedUntil: 0,
      lastSeq: -1,
      level: 127,
      lastVoiceAt: 0,
    };
    room.members.set(member.sid, member);
    room.byUser.set(member.userId, member);
    this.memberCount++;
    if (existing?.node !== undefined) {
      this.listener.sessionEnded(existing, existing.node, CloseCode.Replaced, 'the same user joined again');
    }
    const event: RoomEventMessage = existing
      ? { type: 'member_joined', room: room.id, seq: 0, member: memberInfo(member), replaces: existing.sid }
      : { type: 'member_joined', room: room.id, seq: 0, member: memberInfo(member) };
    this.emit(room, event);
    this.listener.joinDecided(origin, entry.req, { ok: true, member });
  }

  private resume(entry: ResumeEntry, origin: NodeId): void {
    const member = this.rooms.get(entry.room)?.members.get(entry.sid);
    if (!member || member.userId !== entry.userId) {
      this.listener.resumeDecided(origin, entry.req, { ok: false, reason: 'no such member any more' });
      return;
    }
    const previous = member.node;
    member.node = origin;
    member.lostNode = undefined;
    member.detachedUntil = 0;
    this.detached.delete(member);
    if (previous !== undefined) this.listener.sessionEnded(member, previous, CloseCode.Replaced, 'resumed on another connection');
    this.listener.resumeDecided(origin, entry.req, { ok: true, member });
  }

  private leave(entry: LeaveEntry, origin: NodeId): void {
    const member = this.rooms.get(entry.room)?.members.get(entry.sid);
    if (member && heldBy(member, origin)) this.removeMember(member, 'left');
  }

  private detach(entry: DetachEntry, origin: NodeId): void {
    const member = this.rooms.get(entry.room)?.members.get(entry.sid);
    if (member && heldBy(member, origin)) this.markDetached(member, this.time + entry.graceMs);
  }

  private command(entry: CommandEntry, origin: NodeId): void {
    const room = this.rooms.get(entry.room);
    const by = room?.members.get(entry.by);
    if (!room || !by || !heldBy(by, origin)) {
      // The requester is gone or moved; its node only forgets the request.
      this.listener.commandDone(origin, entry.req, { code: ErrorCode.InvalidCommand, message: 'not in the room any more' });
      return;
    }
    const error = this.runCommand(room, by, entry.cmd);
    this.listener.commandDone(origin, entry.req, error);
  }

  /** Returns the refusal, or undefined when the command was applied (or changed nothing). */
  private runCommand(room: RoomRecord, by: MemberRecord, cmd: RoomCommand): { code: ErrorCode; message: string } | undefined {
    const refuse = (code: ErrorCode, message: string) => ({ code, message });
    if (cmd.type === 'chat') {
      const message: RoomEventMessage = { type: 'chat', room: room.id, seq: 0, from: by.sid, userId: by.userId, text: cmd.text, at: this.time };
      if (by.name !== undefined) message.name = by.name;
      this.emit(room, message);
      return undefined;
    }
    if (cmd.type === 'raise_hand') {
      if (by.role !== 'listener') return refuse(ErrorCode.InvalidCommand, 'only listeners raise a hand');
      if (by.handRaised === cmd.raised) return undefined;
      by.handRaised = cmd.raised;
      this.updated(room, [by], 'hand', by);
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
      if (changed.length > 0) this.updated(room, changed, 'mute_all', by);
      return undefined;
    }
    const target = room.members.get(cmd.sid);
    if (!target) return refuse(ErrorCode.UnknownMember, `no member with sid ${cmd.sid} in the room`);
    if (target.role === 'host') return refuse(ErrorCode.InvalidCommand, `${cmd.type} does not apply to a host`);
    switch (cmd.type) {
      case 'answer_hand':
        if (!target.handRaised) return refuse(ErrorCode.InvalidCommand, 'that member has no hand raised');
        if (cmd.accept) {
          if (this.speakerCount(room, target) >= room.settings.seats) return refuse(ErrorCode.SeatsFull, `all ${room.settings.seats} seats are taken`);
          target.role = 'speaker';
          room.roleGrants.set(target.userId, 'speaker');
        }
        target.handRaised = false;
        this.updated(room, [target], cmd.accept ? 'hand_accepted' : 'hand_declined', by);
        return undefined;
      case 'set_role':
        if (target.role === cmd.role) return undefined;
        if (cmd.role === 'speaker' && this.speakerCount(room, target) >= room.settings.seats) {
          return refuse(ErrorCode.SeatsFull, `all ${room.settings.seats} seats are taken`);
        }
        target.role = cmd.role;
        target.handRaised = false;
        room.roleGrants.set(target.userId, cmd.role);
        this.updated(room, [target], 'role', by);
        return undefined;
      case 'mute':
        if (cmd.muted) room.mutedUsers.add(target.userId);
        else room.mutedUsers.delete(target.userId);
        if (target.muted === cmd.muted) return undefined;
        target.muted = cmd.muted;
        this.updated(room, [target], 'mute', by);
        return undefined;
      case 'kick': {
        const node = target.node;
        this.removeMember(target, 'kicked');
        this.blockRejoin(room, target.userId);
        if (node !== undefined) this.listener.sessionEnded(target, node, CloseCode.Kicked, 'removed from the room by a host');
        return undefined;
      }
    }
  }

  // ---- administration (entries published by the admin API) -----------------------------------

  /** When the user's ban from `room` ends (null: never), or undefined when not banned. */
  bannedUntil(room: RoomId, userId: UserId): number | null | undefined {
    for (const key of [banKey(room, userId), banKey(null, userId)]) {
      if (!this.bans.has(key)) continue;
      const until = this.bans.get(key) as number | null;
      if (until === null || until > this.time) return until;
      this.bans.delete(key); // expired
    }
    return undefined;
  }

  /**
   * Until when (log time, ms) the user's joins of `room` are refused because it was kicked from
   * it, or undefined when they are not.
   */
  kickBlockedUntil(room: RoomId, userId: UserId): number | undefined {
    const until = this.kickBlocks.get(banKey(room, userId));
    return until !== undefined && until > this.time ? until : undefined;
  }

  /** After a kick (by a host or an administrator): the room's rejoin block starts now, in log time. */
  private blockRejoin(room: RoomRecord, userId: UserId): void {
    if (room.kickBlockMs <= 0) return;
    const until = this.time + room.kickBlockMs;
    const key = banKey(room.id, userId);
    this.kickBlocks.set(key, Math.max(until, this.kickBlocks.get(key) ?? 0));
    this.nextKickUnblock = Math.min(this.nextKickUnblock, until);
  }

  /** Active bans: room (null: every room), user, end (null: none). */
  activeBans(): { room: RoomId | null; userId: UserId; until: number | null }[] {
    const out: { room: RoomId | null; userId: UserId; until: number | null }[] = [];
    for (const [key, until] of this.bans) {
      if (until !== null && until <= this.time) continue;
      const cut = key.indexOf(' ');
      const room = key.slice(0, cut);
      out.push({ room: room === '*' ? null : (room as RoomId), userId: key.slice(cut + 1) as UserId, until });
    }
    return out;
  }

  private configureRoom(entry: RoomConfigEntry, origin: NodeId): void {
    const config = entry.config;
    if (config) this.directory.set(entry.room, { capacity: config.capacity, seats: config.seats, open: config.open });
    else this.directory.delete(entry.room);
    const room = this.rooms.get(entry.room);
    if (room) {
      if (!config || !config.open) {
        const why = config ? 'the room was closed' : 'the room was deleted';
        for (const member of [...room.members.values()]) this.removeForAdmin(member, 'closed', CloseCode.RoomClosed, why);
      } else if (config.capacity !== room.settings.capacity || config.seats !== room.settings.seats) {
        room.settings = { capacity: config.capacity, seats: config.seats };
        this.emit(room, { type: 'room_updated', room: room.id, seq: 0, settings: { ...room.settings } });
      }
    }
    this.listener.commandDone(origin, entry.req);
  }

  private ban(entry: BanEntry, origin: NodeId): void {
    const expired = entry.until !== null && entry.until <= this.time;
    if (!expired) {
      this.bans.set(banKey(entry.room, entry.userId), entry.until);
      const rooms = entry.room === null ? [...this.rooms.values()] : [this.rooms.get(entry.room)].filter((r) => r !== undefined);
      for (const room of rooms) {
        const member = room.byUser.get(entry.userId);
        if (member) this.removeForAdmin(member, 'banned', CloseCode.Banned, 'banned from the room by an administrator');
      }
    }
    this.listener.commandDone(origin, entry.req);
  }

  private removeForAdmin(member: MemberRecord, reason: LeaveReason, closeCode: number, why: string): void {
    const node = member.node;
    this.removeMember(member, reason);
    if (node !== undefined) this.listener.sessionEnded(member, node, closeCode, why);
  }

  private admin(entry: AdminEntry, origin: NodeId): void {
    const done = (error?: { code: ErrorCode; message: string }) => this.listener.commandDone(origin, entry.req, error);
    const room = this.rooms.get(entry.room);
    const action = entry.action;
    if (action.type === 'notice') {
      if (room) this.emit(room, { type: 'notice', room: room.id, seq: 0, text: action.text, at: this.time });
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
        this.removeForAdmin(target, 'kicked', CloseCode.Kicked, 'removed from the room by an administrator');
        this.blockRejoin(room, target.userId);
        break;
      case 'mute':
        if (action.muted) room.mutedUsers.add(target.userId);
        else room.mutedUsers.delete(target.userId);
        if (target.muted !== action.muted) {
          target.muted = action.muted;
          this.updated(room, [target], 'mute', undefined);
        }
        break;
      case 'set_role':
        if (target.role === action.role) break;
        if (action.role === 'speaker' && this.speakerCount(room, target) >= room.settings.seats) {
          done({ code: ErrorCode.SeatsFull, message: `all ${room.settings.seats} seats are taken` });
          return;
        }
        target.role = action.role;
        target.handRaised = false;
        if (action.role === 'host') target.muted = false;
        room.roleGrants.set(target.userId, action.role);
        this.updated(room, [target], 'role', undefined);
        break;
    }
    done();
  }

  // ---- helpers --------------------------------------------------------------------------------

  private speakerCount(room: RoomRecord, except: MemberRecord | undefined): number {
    let count = 0;
    for (const m of room.members.values()) if (m !== except && m.role === 'speaker') count++;
    return count;
  }

  /** Cluster-wide counter (replicated): sids are unique across rooms until it wraps at 2^32. */
  private newSid(room: RoomRecord): SpeakerId {
    let sid = this.nextSid;
    while (room.members.has(sid as SpeakerId)) sid = (sid % MAX_SID) + 1;
    this.nextSid = (sid % MAX_SID) + 1;
    return sid as SpeakerId;
  }

  /** `by` undefined: an administrator. */
  private updated(room: RoomRecord, members: MemberRecord[], reason: UpdateReason, by: MemberRecord | undefined): void {
    const message: MembersUpdatedMessage = { type: 'members_updated', room: room.id, seq: 0, members: members.map(memberInfo), reason, by: by?.sid ?? ADMIN_SID };
    this.emit(room, message);
    for (const m of members) this.listener.memberChanged(m);
  }

  /** Removes a member without a room event (it is being replaced). */
  private dropMember(member: MemberRecord): void {
    const room = member.room;
    room.members.delete(member.sid);
    if (room.byUser.get(member.userId) === member) room.byUser.delete(member.userId);
    this.detached.delete(member);
    this.memberCount--;
  }

  private removeMember(member: MemberRecord, reason: LeaveReason): void {
    const room = member.room;
    if (room.members.get(member.sid) !== member) return;
    this.dropMember(member);
    this.emit(room, { type: 'member_left', room: room.id, seq: 0, userId: member.userId, sid: member.sid, reason });
    if (room.members.size === 0) this.rooms.delete(room.id);
  }

  private emit(room: RoomRecord, message: RoomEventMessage): void {
    message.seq = ++room.seq;
    const text = JSON.stringify(message);
    room.history.push({ seq: message.seq, text });
    if (room.history.length > HISTORY_LENGTH) room.history.shift();
    this.listener.roomEvent(room, message, text);
  }

  /** Room events after `lastSeq`, or undefined when they are no longer all kept. */
  missedEvents(room: RoomRecord, lastSeq: number): string[] | undefined {
    if (lastSeq > room.seq) return undefined;
    if (lastSeq === room.seq) return [];
    const first = room.history[0];
    if (!first || first.seq > lastSeq + 1) return undefined;
    return room.history.slice(lastSeq + 1 - first.seq).map((h) => h.text);
  }

  // ---- snapshots ----------------------------------------------------------------------------

  snapshot(): string {
    const data: SnapshotV1 = {
      v: 1,
      position: this.position,
      time: this.time,
      nextSid: this.nextSid,
      nodes: [...this.nodes.values()].map((n) => ({ ...n, beatsSeen: { ...n.beatsSeen } })),
      lastApplied: [...this.lastApplied],
      directory: [...this.directory].map(([id, c]) => [id, { ...c }]),
      bans: [...this.bans].filter(([, until]) => until === null || until > this.time),
      kickBlocks: [...this.kickBlocks].filter(([, until]) => until > this.time),
      rooms: [...this.rooms.values()].map((r) => ({
        id: r.id,
        epoch: r.epoch,
        settings: r.settings,
        graceMs: r.graceMs,
        kickBlockMs: r.kickBlockMs,
        seq: r.seq,
        mutedUsers: [...r.mutedUsers],
        roleGrants: [...r.roleGrants],
        members: [...r.members.values()].map((m) => {
          const out: SnapshotV1['rooms'][number]['members'][number] = {
            userId: m.userId,
            sid: m.sid,
            role: m.role,
            muted: m.muted,
            handRaised: m.handRaised,
            node: m.node ?? null,
            detachedUntil: m.detachedUntil,
          };
          if (m.name !== undefined) out.name = m.name;
          if (m.lostNode !== undefined) out.lostNode = m.lostNode;
          return out;
        }),
      })),
    };
    return JSON.stringify(data);
  }

  /** Replaces everything with a snapshot taken by another node. Throws on a malformed one. */
  load(text: string): void {
    const data = JSON.parse(text) as SnapshotV1;
    if (data.v !== 1 || !Array.isArray(data.rooms) || !Array.isArray(data.nodes)) throw new Error('unknown snapshot format');
    this.rooms.clear();
    this.nodes.clear();
    this.detached.clear();
    this.memberCount = 0;
    this.position = data.position;
    this.time = data.time;
    this.nextSid = data.nextSid;
    for (const n of data.nodes) this.nodes.set(n.id, { ...n, beatsSeen: { ...n.beatsSeen } });
    this.lastApplied.clear();
    for (const [node, last] of data.lastApplied) this.lastApplied.set(node, { ...last });
    this.directory.clear();
    for (const [id, config] of data.directory ?? []) this.directory.set(id, { ...config });
    this.bans.clear();
    for (const [key, until] of data.bans ?? []) this.bans.set(key, until);
    this.kickBlocks.clear();
    this.nextKickUnblock = Infinity;
    for (const [key, until] of data.kickBlocks ?? []) {
      this.kickBlocks.set(key, until);
      this.nextKickUnblock = Math.min(this.nextKickUnblock, until);
    }
    for (const r of data.rooms) {
      const room: RoomRecord = {
        id: r.id,
        settings: r.settings,
        epoch: r.epoch ?? 0,
        graceMs: r.graceMs,
        kickBlockMs: r.kickBlockMs ?? 0,
        seq: r.seq,
        members: new Map(),
        byUser: new Map(),
        mutedUsers: new Set(r.mutedUsers),
        roleGrants: new Map(r.roleGrants),
        history: [],
      };
      for (const m of r.members) {
        const member: MemberRecord = {
          room,
          userId: m.userId,
          sid: m.sid,
          name: m.name,
          role: m.role,
          muted: m.muted,
          handRaised: m.handRaised,
          node: m.node ?? undefined,
          lostNode: m.lostNode,
          detachedUntil: m.detachedUntil,
          lastSeq: -1,
          level: 127,
          lastVoiceAt: 0,
        };
        room.members.set(member.sid, member);
        room.byUser.set(member.userId, member);
        if (member.node === undefined) this.detached.add(member);
        this.memberCount++;
      }
      this.rooms.set(room.id, room);
    }
  }
}
