import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { Role, RoomId, UserId } from '@voiceroom/protocol';
import { CloseCode, isRole, parseRoomId, parseUserId } from '@voiceroom/protocol';

/** The audience every join token carries, so no other token signed with the same key is accepted. */
export const JOIN_AUDIENCE = 'voiceroom:join';

export interface JoinClaims {
  userId: UserId;
  room: RoomId;
  role: Role;
  name?: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type VerifyResult =
  | { ok: true; claims: JoinClaims }
  | { ok: false; closeCode: typeof CloseCode.TokenInvalid | typeof CloseCode.TokenExpired; reason: string };

export interface TokenService {
  verify(token: string): VerifyResult;
  sign(claims: { userId: string; room: string; role: Role; name?: string }, ttlSeconds: number): string;
}

/** HS256 join tokens: `sub` user id, `room`, `role`, optional `name`, `aud` = voiceroom:join, `exp` required. */
export function createTokenService(secret: string): TokenService {
  const verifier = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    allowedAud: JOIN_AUDIENCE,
    requiredClaims: ['aud', 'exp', 'sub', 'room', 'role'],
    clockTolerance: 5000,
    cache: 1000,
  });
  const signer = createSigner({ key: secret, algorithm: 'HS256', aud: JOIN_AUDIENCE });

  return {
    verify(token) {
      let payload: Record<string, unknown>;
      try {
        payload = verifier(token) as Record<string, unknown>;
      } catch (error) {
        if (error instanceof TokenError && (error.code === TokenError.codes.expired || error.code === TokenError.codes.inactive)) {
          return { ok: false, closeCode: CloseCode.TokenExpired, reason: 'token expired' };
        }
        return { ok: false, closeCode: CloseCode.TokenInvalid, reason: 'token invalid' };
      }
      const userId = parseUserId(payload.sub);
      const room = parseRoomId(payload.room);
      const role = payload.role;
      const name = payload.name;
      if (!userId || !room || !isRole(role) || typeof payload.exp !== 'number' || (name !== undefined && typeof name !== 'string')) {
        return { ok: false, closeCode: CloseCode.TokenInvalid, reason: 'token claims invalid' };
      }
      const claims: JoinClaims = { userId, room, role, exp: payload.exp };
      if (typeof name === 'string') claims.name = name.slice(0, 64);
      return { ok: true, claims };
    },
    sign(claims, ttlSeconds) {
      const payload: Record<string, unknown> = { sub: claims.userId, room: claims.room, role: claims.role };
      if (claims.name !== undefined) payload.name = claims.name;
      payload.exp = Math.floor(Date.now() / 1000) + ttlSeconds;
      return signer(payload);
    },
  };
}
