/**
 * JSON control messages on WebSocket text frames. docs/protocol.md is the contract; this file
 * is its typed form and the validating decoder for what clients send.
 */
import type { RoomId, SpeakerId, UserId } from './ids';
import { isValidId } from './ids';

export type Role = 'host' | 'speaker' | 'listener';

export function isRole(value: unknown): value is Role {
  return value === 'host' || value === 'speaker' || value === 'listener';
}

/** Largest text message a client may send. */
export const MAX_CONTROL_MESSAGE_BYTES = 4096;
/** Longest chat text, in UTF-16 code units (JavaScript string length). */
export const MAX_CHAT_LENGTH = 500;
/** Longest display name, in Unicode code points (names.ts: the admin API refuses longer ones, the gateway cuts them). */
export const MAX_NAME_LENGTH = 64;

// ---- client to server ----------------------------------------------------------------

/** Optional on every command: echoed as `ref` in an `error` the command causes. */
export type Ref = string | number;

export interface JoinMessage {
  type: 'join';
  token: string;
}

export interface ResumeMessage {
  type: 'resume';
  /** `resumeToken` from the last `joined` or `resumed`. */
  token: string;
  /** Highest room event `seq` the client has applied. */
  lastSeq: number;
}

export interface LeaveMessage {
  type: 'leave';
}

export interface PingMessage {
  type: 'ping';
  /** Echoed back untouched in `pong`. */
  t?: number;
}

export interface RaiseHandMessage {
  type: 'raise_hand';
  raised: boolean;
  ref?: Ref;
}

export interface AnswerHandMessage {
  type: 'answer_hand';
  sid: SpeakerId;
  accept: boolean;
  ref?: Ref;
}

export interface SetRoleMessage {
  type: 'set_role';
  sid: SpeakerId;
  role: 'speaker' | 'listener';
  ref?: Ref;
}

export interface MuteMessage {
  type: 'mute';
  sid: SpeakerId;
  muted: boolean;
  ref?: Ref;
}

export interface MuteAllMessage {
  type: 'mute_all';
  muted: boolean;
  ref?: Ref;
}

export interface KickMessage {
  type: 'kick';
  sid: SpeakerId;
  ref?: Ref;
}

export interface ChatMessage {
  type: 'chat';
  text: string;
  ref?: Ref;
}

/** Commands act on the room once joined; they go through the cluster's event log. */
export type RoomCommand = RaiseHandMessage | AnswerHandMessage | SetRoleMessage | MuteMessage | MuteAllMessage | KickMessage | ChatMessage;

export type ClientMessage = JoinMessage | ResumeMessage | LeaveMessage | PingMessage | RoomCommand;

// ---- server to client ----------------------------------------------------------------

export interface MemberInfo {
  userId: UserId;
  sid: SpeakerId;
  role: Role;
  name?: string;
  /** Muted by a host: the gateway drops this member's audio. */
  muted: boolean;
  handRaised: boolean;
}

export interface SpeakerLevel {
  sid: SpeakerId;
  /** Loudest recent level, 0 … 127 = −dBov (0 loudest), as in the voice frame header. */
  level: number;
}

export interface Limits {
  maxPayloadBytes: number;
  maxFramesPerSecond: number;
}

export interface RoomSettings {
  /** Most members the room holds, across the cluster. */
  capacity: number;
  /** Most members with role `speaker` at once (hosts are not counted). */
  seats: number;
}

/** What `joined` and `resumed` share: the member, the room's state and how to come back. */
export interface RoomWelcome {
  type: 'joined' | 'resumed';
  room: RoomId;
  self: MemberInfo;
  /** Room event sequence this state is at; the next room event has seq + 1. */
  seq: number;
  speakers: SpeakerLevel[];
  settings: RoomSettings;
  resumeToken: string;
  /** How long, after a connection drops, the member may resume (ms). */
  resumeGraceMs: number;
  node: string;
  limits: Limits;
}

export interface JoinedMessage extends RoomWelcome {
  type: 'joined';
  /** Everyone else in the room, on every node. */
  members: MemberInfo[];
}

export interface ResumedMessage extends RoomWelcome {
  type: 'resumed';
  /**
   * Present when the missed events could not be replayed: the full roster at `seq` (replace
   * yours). Absent: the missed events follow this message, in order, from `lastSeq + 1` to `seq`.
   */
  members?: MemberInfo[];
}

export interface MemberJoinedMessage {
  type: 'member_joined';
  room: RoomId;
  seq: number;
  member: MemberInfo;
  /** The same user's older session that this one replaces: remove that sid first. */
  replaces?: SpeakerId;
}

/**
 * Why a member left: `left` on its own, `timeout` (connection lost and not resumed in time),
 * `kicked` (by a host or an administrator), `banned` (an administrator banned the user),
 * `closed` (an administrator closed or deleted the room: everyone leaves with this reason).
 */
export type LeaveReason = 'left' | 'timeout' | 'kicked' | 'banned' | 'closed';

export interface MemberLeftMessage {
  type: 'member_left';
  room: RoomId;
  seq: number;
  userId: UserId;
  sid: SpeakerId;
  reason: LeaveReason;
}

export type UpdateReason = 'hand' | 'hand_accepted' | 'hand_declined' | 'role' | 'mute' | 'mute_all';

export interface MembersUpdatedMessage {
  type: 'members_updated';
  room: RoomId;
  seq: number;
  /** New state of each changed member (replace the old entries). */
  members: MemberInfo[];
  reason: UpdateReason;
  /** sid of the member who caused it (a host, or the member itself); 0: an administrator. */
  by: SpeakerId;
}

export interface ChatEventMessage {
  type: 'chat';
  room: RoomId;
  seq: number;
  from: SpeakerId;
  userId: UserId;
  name?: string;
  text: string;
  /** Cluster time the message was sent at (ms since the epoch). */
  at: number;
}

/** A notice from the room's administrators (admin API), shown to everyone in the room. */
export interface NoticeMessage {
  type: 'notice';
  room: RoomId;
  seq: number;
  text: string;
  /** Cluster time it was sent at (ms since the epoch). */
  at: number;
}

/** An administrator changed the room's capacity or seats. Members already in stay. */
export interface RoomUpdatedMessage {
  type: 'room_updated';
  room: RoomId;
  seq: number;
  settings: RoomSettings;
}

export interface SpeakersMessage {
  type: 'speakers';
  room: RoomId;
  speakers: SpeakerLevel[];
}

export interface GoAwayMessage {
  type: 'goaway';
  /** draining: the gateway is shutting down; isolated: it lost the event log while other gateways did not. */
  reason: 'draining' | 'isolated';
  /** Resume within this many ms (the grace period) on any node. */
  resumeWithinMs: number;
}

export interface PongMessage {
  type: 'pong';
  t?: number;
}

export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
  /** The `ref` of the command that caused it, when it had one. */
  ref?: Ref;
}

/** Room events carry `seq`: consecutive per room, identical on every node. */
export type RoomEventMessage = MemberJoinedMessage | MemberLeftMessage | MembersUpdatedMessage | ChatEventMessage | NoticeMessage | RoomUpdatedMessage;

export type ServerMessage = JoinedMessage | ResumedMessage | RoomEventMessage | SpeakersMessage | GoAwayMessage | PongMessage | ErrorMessage;

/** Stable codes of `error` messages (non-fatal; fatal errors close the socket with a close code). */
export const ErrorCode = {
  VoiceFrameInvalid: 'VOICE_FRAME_INVALID',
  VoiceFrameTooLarge: 'VOICE_FRAME_TOO_LARGE',
  VoiceRateLimited: 'VOICE_RATE_LIMITED',
  NotAllowedToSpeak: 'NOT_ALLOWED_TO_SPEAK',
  /** A host-only command from a member who is not a host. */
  NotHost: 'NOT_HOST',
  /** The command names a sid that is not in the room. */
  UnknownMember: 'UNKNOWN_MEMBER',
  /** Promoting to speaker while every seat is taken. */
  SeatsFull: 'SEATS_FULL',
  /** The command does not apply (e.g. a host raising a hand, changing a host's role, answering a hand that is down). */
  InvalidCommand: 'INVALID_COMMAND',
  /** Too many commands or chat messages per second. */
  CommandRateLimited: 'COMMAND_RATE_LIMITED',
  /** The cluster could not take the command now (event log unavailable); retry later. */
  Unavailable: 'UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

function isSid(value: unknown): value is SpeakerId {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 0xffffffff;
}

function isRef(value: unknown): value is Ref {
  return (typeof value === 'string' && value.length <= 64) || (typeof value === 'number' && Number.isFinite(value));
}

const REF_REASON = 'ref must be a string of at most 64 characters or a number';

/** Parses and validates one client text message (room commands: decodeRoomCommand). Never throws. */
export function decodeClientMessage(text: string): DecodeResult<ClientMessage> {
  if (text.length > MAX_CONTROL_MESSAGE_BYTES) return { ok: false, reason: 'message too long' }; // callers check bytes first
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const m = value as Record<string, unknown>;
  if (m.ref !== undefined && !isRef(m.ref)) return { ok: false, reason: REF_REASON };
  switch (m.type) {
    case 'join':
      if (typeof m.token !== 'string' || m.token.length === 0) return { ok: false, reason: 'join.token must be a non-empty string' };
      return { ok: true, value: { type: 'join', token: m.token } };
    case 'resume':
      if (typeof m.token !== 'string' || m.token.length === 0) return { ok: false, reason: 'resume.token must be a non-empty string' };
      if (typeof m.lastSeq !== 'number' || !Number.isInteger(m.lastSeq) || m.lastSeq < 0) {
        return { ok: false, reason: 'resume.lastSeq must be an integer >= 0' };
      }
      return { ok: true, value: { type: 'resume', token: m.token, lastSeq: m.lastSeq } };
    case 'leave':
      return { ok: true, value: { type: 'leave' } };
    case 'ping':
      if (m.t !== undefined && typeof m.t !== 'number') return { ok: false, reason: 'ping.t must be a number' };
      return { ok: true, value: m.t === undefined ? { type: 'ping' } : { type: 'ping', t: m.t } };
    default:
      return decodeRoomCommand(m);
  }
}

/**
 * Validates one room command (docs/protocol.md §4.1.5, §4.3, §7.4), already parsed from JSON: the
 * single rule for room commands, used by the gateway for what a client sends (decodeClientMessage)
 * and by the cluster for the `cmd` of a log entry. Returns a fresh object with only the command's
 * fields (extra fields are dropped; `ref` is kept when present and valid). Never throws.
 */
export function decodeRoomCommand(value: unknown): DecodeResult<RoomCommand> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  const m = value as Record<string, unknown>;
  if (m.ref !== undefined && !isRef(m.ref)) return { ok: false, reason: REF_REASON };
  const ref = m.ref === undefined ? {} : { ref: m.ref };
  const bool = (field: string): boolean | undefined => (typeof m[field] === 'boolean' ? m[field] : undefined);
  switch (m.type) {
    case 'raise_hand': {
      const raised = bool('raised');
      if (raised === undefined) return { ok: false, reason: 'raise_hand.raised must be a boolean' };
      return { ok: true, value: { type: 'raise_hand', raised, ...ref } };
    }
    case 'answer_hand': {
      const accept = bool('accept');
      if (!isSid(m.sid)) return { ok: false, reason: 'answer_hand.sid must be a speaker id' };
      if (accept === undefined) return { ok: false, reason: 'answer_hand.accept must be a boolean' };
      return { ok: true, value: { type: 'answer_hand', sid: m.sid, accept, ...ref } };
    }
    case 'set_role':
      if (!isSid(m.sid)) return { ok: false, reason: 'set_role.sid must be a speaker id' };
      if (m.role !== 'speaker' && m.role !== 'listener') return { ok: false, reason: 'set_role.role must be "speaker" or "listener"' };
      return { ok: true, value: { type: 'set_role', sid: m.sid, role: m.role, ...ref } };
    case 'mute': {
      const muted = bool('muted');
      if (!isSid(m.sid)) return { ok: false, reason: 'mute.sid must be a speaker id' };
      if (muted === undefined) return { ok: false, reason: 'mute.muted must be a boolean' };
      return { ok: true, value: { type: 'mute', sid: m.sid, muted, ...ref } };
    }
    case 'mute_all': {
      const muted = bool('muted');
      if (muted === undefined) return { ok: false, reason: 'mute_all.muted must be a boolean' };
      return { ok: true, value: { type: 'mute_all', muted, ...ref } };
    }
    case 'kick':
      if (!isSid(m.sid)) return { ok: false, reason: 'kick.sid must be a speaker id' };
      return { ok: true, value: { type: 'kick', sid: m.sid, ...ref } };
    case 'chat':
      if (typeof m.text !== 'string' || m.text.trim().length === 0) return { ok: false, reason: 'chat.text must be a non-empty string' };
      if (m.text.length > MAX_CHAT_LENGTH) return { ok: false, reason: `chat.text is longer than ${MAX_CHAT_LENGTH} characters` };
      return { ok: true, value: { type: 'chat', text: m.text, ...ref } };
    default:
      return { ok: false, reason: 'unknown message type' };
  }
}

export function isMemberInfo(value: unknown): value is MemberInfo {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    isValidId(m.userId) &&
    isSid(m.sid) &&
    isRole(m.role) &&
    (m.name === undefined || typeof m.name === 'string') &&
    typeof m.muted === 'boolean' &&
    typeof m.handRaised === 'boolean'
  );
}
