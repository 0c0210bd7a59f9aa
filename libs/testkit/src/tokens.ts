import { createSigner } from 'fast-jwt';

export const TEST_JWT_SECRET = 'test-secret-for-the-suite-only-0123456789';
const AUDIENCE = 'voiceroom:join';

export type TestRole = 'host' | 'speaker' | 'listener';

/** A join token as the admin API will issue it. */
export function joinToken(userId: string, room: string, role: TestRole = 'speaker', options: { ttlSeconds?: number; secret?: string } = {}): string {
  const sign = createSigner({ key: options.secret ?? TEST_JWT_SECRET, algorithm: 'HS256', aud: AUDIENCE });
  return sign({ sub: userId, room, role, exp: Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 3600) });
}

/** An unsigned token (`alg: none`) with valid-looking claims. */
export function unsignedToken(userId: string, room: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: userId, room, role: 'host', aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}
