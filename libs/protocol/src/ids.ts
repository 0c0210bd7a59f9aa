/**
 * Branded identifiers. A brand costs nothing at run time; it stops a room id from being
 * passed where a user id is expected. Values enter the system only through the parse
 * functions below (token claims, config, bus messages).
 */
export type RoomId = string & { readonly __brand: 'RoomId' };
export type UserId = string & { readonly __brand: 'UserId' };
export type NodeId = string & { readonly __brand: 'NodeId' };
/** A member's speaker id: 32-bit unsigned, never 0, unique within its room; kept across resumes. */
export type SpeakerId = number & { readonly __brand: 'SpeakerId' };

/** Room, user and node ids: 1–64 characters of [A-Za-z0-9_.:-]. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const ID_MAX_LENGTH = 64;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function parseRoomId(value: unknown): RoomId | undefined {
  return isValidId(value) ? (value as RoomId) : undefined;
}

export function parseUserId(value: unknown): UserId | undefined {
  return isValidId(value) ? (value as UserId) : undefined;
}
