import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { Role, RoomId, SpeakerId, UserId } from '@voiceroom/protocol';
import { CloseCode, cutDisplayName, isRole, parseRoomId, parseUserId } from '@voiceroom/protocol';

/** The audience every join token carries, so no other token signed with the same key is accepted. */
export const JOIN_AUDIENCE = 'voiceroom:join';
/** Resume tokens are minted by gateways (any node verifies them: they share the secret). */
export const RESUME_AUDIENCE = 'voiceroom:resume';
/** Resume tokens are checked against the room state too; this only bounds how long one is worth keeping. */
const RESUME_TTL_SECONDS = 24 * 3600;
/** Longest lifetime of a join token when none is given (TOKEN_MAX_TTL_SECONDS's default). */
export const DEFAULT_TOKEN_MAX_TTL_SECONDS = 86_400;
/** Clock tolerance on `exp`, `nbf` and the lifetime checks (seconds). */
const CLOCK_TOLERANCE_SECONDS = 5;

export interface ResumeClaims {
  userId: UserId;
  room: RoomId;
  sid: SpeakerId;
}

export interface JoinClaims {
  userId: UserId;
  room: RoomId;
  role: Role;
  name?: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type VerifyResult =
  { ok: true; claims: JoinClaims } | { ok: false; closeCode: typeof CloseCode.TokenInvalid | typeof CloseCode.TokenExpired; reason: string };

export interface TokenService {
  /**
   * Checks a join token. Besides signature, audience and claims, its lifetime is bounded: a token
   * whose `exp − iat` exceeds `maxTtlSeconds`, or whose `exp` is more than `maxTtlSeconds` (plus
   * the 5 s clock tolerance) from now, with or without `iat`, is refused with 4401.
   */
  verify(token: string, maxTtlSeconds?: number): VerifyResult;
  sign(claims: { userId: string; room: string; role: Role; name?: string }, ttlSeconds: number): string;
  signResume(claims: ResumeClaims): string;
  verifyResume(token: string): { ok: true; claims: ResumeClaims } | { ok: false; reason: string };
}

/** HS256 join tokens: `sub` user id, `room`, `role`, optional `name`, `aud` = voiceroom:join, `exp` required. */
export function createTokenService(secret: string): TokenService {
  const verifier = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    allowedAud: JOIN_AUDIENCE,
    requiredClaims: ['aud', 'exp', 'sub', 'room', 'role'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS * 1000,
    cache: 1000,
  });
  const signer = createSigner({ key: secret, algorithm: 'HS256', aud: JOIN_AUDIENCE });
  const resumeSigner = createSigner({ key: secret, algorithm: 'HS256', aud: RESUME_AUDIENCE, expiresIn: RESUME_TTL_SECONDS * 1000 });
  const resumeVerifier = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    allowedAud: RESUME_AUDIENCE,
    requiredClaims: ['aud', 'exp', 'sub', 'room', 'sid'],
    clockTolerance: 5000,
  });

  return {
    verify(token, maxTtlSeconds = DEFAULT_TOKEN_MAX_TTL_SECONDS) {
      let payload: Record<string, unknown>;
      try {
        payload = verifier(token) as Record<string, unknown>;
      } catch (error) {
        if (error instanceof TokenError && error.code === TokenError.codes.expired) {
          return { ok: false, closeCode: CloseCode.TokenExpired, reason: 'token expired' };
        }
        if (error instanceof TokenError && error.code === TokenError.codes.inactive) {
          return { ok: false, closeCode: CloseCode.TokenExpired, reason: 'token not yet valid' };
        }
        return { ok: false, closeCode: CloseCode.TokenInvalid, reason: 'token invalid' };
      }
      const userId = parseUserId(payload.sub);
      const room = parseRoomId(payload.room);
      const role = payload.role;
      const name = payload.name;
      const { exp, iat } = payload;
      if (
        !userId ||
        !room ||
        !isRole(role) ||
        typeof exp !== 'number' ||
        (iat !== undefined && typeof iat !== 'number') ||
        (name !== undefined && typeof name !== 'string')
      ) {
        return { ok: false, closeCode: CloseCode.TokenInvalid, reason: 'token claims invalid' };
      }
      // No token lives longer than the maximum: `exp: 1e308` is no way around expiry.
      const now = Date.now() / 1000;
      if ((typeof iat === 'number' && exp - iat > maxTtlSeconds) || exp - now > maxTtlSeconds + CLOCK_TOLERANCE_SECONDS) {
        return { ok: false, closeCode: CloseCode.TokenInvalid, reason: `token lifetime over the maximum (${maxTtlSeconds} s)` };
      }
      const claims: JoinClaims = { userId, room, role, exp };
      // One rule with the admin API: at most 64 code points, a longer name cut, never inside a pair.
      if (typeof name === 'string') claims.name = cutDisplayName(name);
      return { ok: true, claims };
    },
    signResume(claims) {
      return resumeSigner({ sub: claims.userId, room: claims.room, sid: claims.sid });
    },
    verifyResume(token) {
      let payload: Record<string, unknown>;
      try {
        payload = resumeVerifier(token) as Record<string, unknown>;
      } catch (error) {
        const expired = error instanceof TokenError && error.code === TokenError.codes.expired;
        return { ok: false, reason: expired ? 'resume token expired' : 'resume token invalid' };
      }
      const userId = parseUserId(payload.sub);
      const room = parseRoomId(payload.room);
      const sid = payload.sid;
      if (!userId || !room || typeof sid !== 'number' || !Number.isInteger(sid) || sid < 1 || sid > 0xffffffff) {
        return { ok: false, reason: 'resume token claims invalid' };
      }
      return { ok: true, claims: { userId, room, sid: sid as SpeakerId } };
    },
    sign(claims, ttlSeconds) {
      const payload: Record<string, unknown> = { sub: claims.userId, room: claims.room, role: claims.role };
      if (claims.name !== undefined) payload.name = claims.name;
      payload.exp = Math.floor(Date.now() / 1000) + ttlSeconds;
      return signer(payload);
    },
  };
}
