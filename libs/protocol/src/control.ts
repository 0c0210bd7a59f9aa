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

// ---- client to server ----------------------------------------------------------------

export interface JoinMessage {
  type: 'join';
  token: string;
}

export interface PingMessage {
  type: 'ping';
  /** Echoed back untouched in `pong`. */
  t?: number;
}

export type ClientMessage = JoinMessage | PingMessage;

// ---- server to client ----------------------------------------------------------------

export interface MemberInfo {
  userId: UserId;
  sid: SpeakerId;
  role: Role;
  name?: string;
}

export interface JoinedMessage {
  type: 'joined';
  room: RoomId;
  self: MemberInfo;
  members: MemberInfo[];
  node: string;
  limits: { maxPayloadBytes: number; maxFramesPerSecond: number };
}

export interface MemberJoinedMessage {
  type: 'member_joined';
  room: RoomId;
  member: MemberInfo;
}

export interface MemberLeftMessage {
  type: 'member_left';
  room: RoomId;
  userId: UserId;
  sid: SpeakerId;
}

export interface PongMessage {
  type: 'pong';
  t?: number;
}

export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
}

export type ServerMessage = JoinedMessage | MemberJoinedMessage | MemberLeftMessage | PongMessage | ErrorMessage;

/** Stable codes of `error` messages (non-fatal; fatal errors close the socket with a close code). */
export const ErrorCode = {
  VoiceFrameInvalid: 'VOICE_FRAME_INVALID',
  VoiceFrameTooLarge: 'VOICE_FRAME_TOO_LARGE',
  VoiceRateLimited: 'VOICE_RATE_LIMITED',
  NotAllowedToSpeak: 'NOT_ALLOWED_TO_SPEAK',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses and validates one client text message. Never throws. */
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
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'join':
      if (typeof message.token !== 'string' || message.token.length === 0) {
        return { ok: false, reason: 'join.token must be a non-empty string' };
      }
      return { ok: true, value: { type: 'join', token: message.token } };
    case 'ping':
      if (message.t !== undefined && typeof message.t !== 'number') {
        return { ok: false, reason: 'ping.t must be a number' };
      }
      return { ok: true, value: message.t === undefined ? { type: 'ping' } : { type: 'ping', t: message.t } };
    default:
      return { ok: false, reason: 'unknown message type' };
  }
}

export function isMemberInfo(value: unknown): value is MemberInfo {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    isValidId(m.userId) &&
    typeof m.sid === 'number' &&
    Number.isInteger(m.sid) &&
    isRole(m.role) &&
    (m.name === undefined || typeof m.name === 'string')
  );
}
