import {
  decodeRoomCommand,
  isDisplayNameLength,
  isRole,
  isValidId,
  type NodeId,
  type Role,
  type RoomCommand,
  type RoomId,
  type RoomSettings,
  type SpeakerId,
  type UserId,
} from '@voiceroom/protocol';

/**
 * Entries of the cluster's event log (the event lane). Every node applies every entry, in log
 * order, to its replica of the room state (cluster-state.ts); entries are requests, and their
 * outcome is decided when they are applied, identically on every node. The publishing node is
 * the entry's origin (given by the bus, not by the entry).
 *
 * Wire form: one JSON object per bus event. Unknown `t` values are ignored (forward compatible).
 */
export type LogEntry =
  | HelloEntry
  | BeatEntry
  | ByeEntry
  | SnapshotEntry
  | JoinEntry
  | ResumeEntry
  | LeaveEntry
  | DetachEntry
  | CommandEntry
  | RoomConfigEntry
  | BanEntry
  | UnbanEntry
  | AdminEntry;

/**
 * On every entry: the publishing node's incarnation (a random id per process start) and a
 * counter that grows by one per entry it publishes. A retried publish that the broker had
 * stored after all shows up twice; the second copy has a counter already seen and is skipped.
 */
export interface EntryBase {
  inc: string;
  n: number;
}

/** A node starting (or resyncing) asks for the state. */
export interface HelloEntry extends EntryBase {
  t: 'hello';
  /** Heartbeat timeout other nodes apply to this node (ms). */
  timeoutMs: number;
}

export interface BeatEntry extends EntryBase {
  t: 'beat';
  /** True once the node holds the state (it can answer a hello). */
  live: boolean;
  timeoutMs: number;
  /** How other nodes reach this one over HTTP (NODE_URL), when set: see isolation checks. */
  url?: string;
}

/** A node leaving on purpose (after its drain). Its remaining members get the resume grace. */
export interface ByeEntry extends EntryBase {
  t: 'bye';
}

/** The state as it was right after applying the hello at `at`, in `parts` pieces. */
export interface SnapshotEntry extends EntryBase {
  t: 'snapshot';
  for: NodeId;
  /** Incarnation of the node it is for. */
  forInc: string;
  at: number;
  part: number;
  parts: number;
  data: string;
}

export interface JoinEntry extends EntryBase {
  t: 'join';
  req: string;
  room: RoomId;
  userId: UserId;
  role: Role;
  name?: string;
  /** Settings for the room if this join creates it. */
  settings: RoomSettings;
  graceMs: number;
  /**
   * If this join creates the room: how long (ms) a user kicked from it is refused when joining
   * it again (the joining gateway's KICK_REJOIN_BLOCK_SECONDS). Absent (older nodes): 0, none.
   */
  kickBlockMs?: number;
}

export interface ResumeEntry extends EntryBase {
  t: 'resume';
  req: string;
  room: RoomId;
  userId: UserId;
  sid: SpeakerId;
}

export interface LeaveEntry extends EntryBase {
  t: 'leave';
  room: RoomId;
  sid: SpeakerId;
}

/** The member's connection is gone without a leave: it may resume until `graceMs` has passed. */
export interface DetachEntry extends EntryBase {
  t: 'detach';
  room: RoomId;
  sid: SpeakerId;
  graceMs: number;
}

export interface CommandEntry extends EntryBase {
  t: 'cmd';
  req: string;
  room: RoomId;
  by: SpeakerId;
  cmd: RoomCommand;
}

/** A room as the admin API configured it. `open: false` means closed: nobody may be in it. */
export interface RoomConfig {
  capacity: number;
  seats: number;
  open: boolean;
}

/**
 * The admin API sets (or, with `config: null`, removes: the room was deleted) a room's entry in
 * the directory. Closing or deleting a room removes its members; a new capacity or seat count
 * applies to later joins and promotions.
 */
export interface RoomConfigEntry extends EntryBase {
  t: 'room';
  req: string;
  room: RoomId;
  config: RoomConfig | null;
}

/** A ban of `userId` from `room` (null: from every room) until `until` (ms since the epoch; null: no end). */
export interface BanEntry extends EntryBase {
  t: 'ban';
  req: string;
  room: RoomId | null;
  userId: UserId;
  until: number | null;
}

export interface UnbanEntry extends EntryBase {
  t: 'unban';
  req: string;
  room: RoomId | null;
  userId: UserId;
}

/** What an administrator can do to a live room (the admin API names members by user id). */
export type AdminAction =
  | { type: 'kick'; userId: UserId }
  | { type: 'mute'; userId: UserId; muted: boolean }
  | { type: 'set_role'; userId: UserId; role: Role }
  | { type: 'notice'; text: string };

export interface AdminEntry extends EntryBase {
  t: 'admin';
  req: string;
  room: RoomId;
  action: AdminAction;
}

/** Longest admin notice (characters). */
export const MAX_NOTICE_LENGTH = 1000;

function isSid(v: unknown): v is SpeakerId {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffffffff;
}
function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
function isShortString(v: unknown, max = 128): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}
function isSettings(v: unknown): v is RoomSettings {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return isPositiveInt(s.capacity) && s.capacity >= 1 && isPositiveInt(s.seats);
}

function isRoomConfig(v: unknown): v is RoomConfig {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return isPositiveInt(c.capacity) && c.capacity >= 1 && isPositiveInt(c.seats) && typeof c.open === 'boolean';
}

function isAdminAction(v: unknown): v is AdminAction {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  switch (a.type) {
    case 'kick':
      return isValidId(a.userId);
    case 'mute':
      return isValidId(a.userId) && typeof a.muted === 'boolean';
    case 'set_role':
      return isValidId(a.userId) && isRole(a.role);
    case 'notice':
      return typeof a.text === 'string' && a.text.length > 0 && a.text.length <= MAX_NOTICE_LENGTH;
    default:
      return false;
  }
}

/** Parses one log entry; undefined for anything malformed or unknown (never throws). */
export function parseLogEntry(text: string): LogEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (!isShortString(e.inc, 64) || !isPositiveInt(e.n)) return undefined;
  switch (e.t) {
    case 'hello':
      return isPositiveInt(e.timeoutMs) ? (e as unknown as HelloEntry) : undefined;
    case 'beat':
      return typeof e.live === 'boolean' && isPositiveInt(e.timeoutMs) && (e.url === undefined || isShortString(e.url, 256))
        ? (e as unknown as BeatEntry)
        : undefined;
    case 'bye':
      return e as unknown as ByeEntry;
    case 'snapshot':
      return isValidId(e.for) &&
        isShortString(e.forInc, 64) &&
        isPositiveInt(e.at) &&
        isPositiveInt(e.part) &&
        isPositiveInt(e.parts) &&
        e.part < e.parts &&
        typeof e.data === 'string'
        ? (e as unknown as SnapshotEntry)
        : undefined;
    case 'join':
      return isShortString(e.req) &&
        isValidId(e.room) &&
        isValidId(e.userId) &&
        isRole(e.role) &&
        (e.name === undefined || (typeof e.name === 'string' && isDisplayNameLength(e.name))) &&
        isSettings(e.settings) &&
        isPositiveInt(e.graceMs) &&
        (e.kickBlockMs === undefined || isPositiveInt(e.kickBlockMs))
        ? (e as unknown as JoinEntry)
        : undefined;
    case 'resume':
      return isShortString(e.req) && isValidId(e.room) && isValidId(e.userId) && isSid(e.sid) ? (e as unknown as ResumeEntry) : undefined;
    case 'leave':
      return isValidId(e.room) && isSid(e.sid) ? (e as unknown as LeaveEntry) : undefined;
    case 'detach':
      return isValidId(e.room) && isSid(e.sid) && isPositiveInt(e.graceMs) ? (e as unknown as DetachEntry) : undefined;
    case 'cmd': {
      // The command itself: the same rule the gateway applies to what a client sends (docs/protocol.md §4.1.5).
      if (!isShortString(e.req) || !isValidId(e.room) || !isSid(e.by)) return undefined;
      const cmd = decodeRoomCommand(e.cmd);
      return cmd.ok ? ({ ...e, cmd: cmd.value } as unknown as CommandEntry) : undefined;
    }
    case 'room':
      return isShortString(e.req) && isValidId(e.room) && (e.config === null || isRoomConfig(e.config)) ? (e as unknown as RoomConfigEntry) : undefined;
    case 'ban':
      return isShortString(e.req) && (e.room === null || isValidId(e.room)) && isValidId(e.userId) && (e.until === null || isPositiveInt(e.until))
        ? (e as unknown as BanEntry)
        : undefined;
    case 'unban':
      return isShortString(e.req) && (e.room === null || isValidId(e.room)) && isValidId(e.userId) ? (e as unknown as UnbanEntry) : undefined;
    case 'admin':
      return isShortString(e.req) && isValidId(e.room) && isAdminAction(e.action) ? (e as unknown as AdminEntry) : undefined;
    default:
      return undefined;
  }
}
