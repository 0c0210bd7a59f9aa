import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createVerifier } from 'fast-jwt';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, isMigrated } from '@voiceroom/persistence';
import { ApiError } from './errors';

/** Roles, each including the ones before it: viewer reads; moderator acts on members, bans, tokens, notices; admin manages rooms and keys. */
export const ROLES = ['viewer', 'moderator', 'admin'] as const;
export type AdminRole = (typeof ROLES)[number];
export const ADMIN_AUDIENCE = 'voiceroom:admin';

export interface Principal {
  /** `key:<id>` or `jwt:<sub>`: written to the audit log as the actor. */
  actor: string;
  role: AdminRole;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Least role a route needs; routes without it (health, docs) are public. */
    role?: AdminRole;
  }
}

export function isAdminRole(v: unknown): v is AdminRole {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

const KEY_PREFIX = 'vrk_';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new API key: `vrk_<id>_<secret>`. Only the hash of the secret is stored. */
export function newApiKey(): { id: string; key: string; hash: string } {
  const id = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x');
  const secret = randomBytes(24).toString('base64url');
  return { id, key: `${KEY_PREFIX}${id}_${secret}`, hash: hashSecret(secret) };
}

/**
 * The bootstrap key from the environment (any string of 24+ characters) is listed as key id
 * `bootstrap`. That row is a record only: the key is checked against ADMIN_BOOTSTRAP_KEY in memory.
 */
export const BOOTSTRAP_KEY_ID = 'bootstrap';

function parseKey(key: string): { id: string; secret: string } | undefined {
  if (key.startsWith(KEY_PREFIX)) {
    const rest = key.slice(KEY_PREFIX.length);
    const cut = rest.indexOf('_');
    if (cut > 0) return { id: rest.slice(0, cut), secret: rest.slice(cut + 1) };
  }
  return undefined;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/**
 * Authentication on every route that declares `config.role`: `Authorization: Bearer <API key or
 * admin JWT>` or `X-API-Key: <API key>`. Missing or wrong credentials → 401; a role below the
 * route's → 403.
 */
export function installAuth(app: FastifyInstance, ds: DataSource, options: { adminJwtSecret: string | undefined; bootstrapKey: string | undefined }): void {
  const verify: ((token: string) => unknown) | undefined = options.adminJwtSecret
    ? (createVerifier({
        key: options.adminJwtSecret,
        algorithms: ['HS256'],
        allowedAud: ADMIN_AUDIENCE,
        requiredClaims: ['aud', 'exp', 'sub', 'role'],
        clockTolerance: 5000,
      }) as (token: string) => unknown)
    : undefined;
  const bootstrapHash = options.bootstrapKey ? hashSecret(options.bootstrapKey) : undefined;

  async function authenticate(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    const apiKeyHeader = request.headers['x-api-key'];
    let credential: string | undefined;
    if (typeof header === 'string' && /^bearer\s+/i.test(header)) credential = header.replace(/^bearer\s+/i, '').trim();
    else if (typeof apiKeyHeader === 'string') credential = apiKeyHeader.trim();
    if (!credential) throw new ApiError(401, 'UNAUTHENTICATED', 'credentials required: Authorization: Bearer <API key or admin JWT>');
    // The bootstrap key is checked without the database, so an operator can act while it is down.
    if (bootstrapHash && sameHash(hashSecret(credential), bootstrapHash)) return { actor: `key:${BOOTSTRAP_KEY_ID}`, role: 'admin' };
    const key = parseKey(credential);
    if (key?.id === BOOTSTRAP_KEY_ID) {
      // `vrk_bootstrap_<key>` is the same key, so the same in-memory check decides, never the
      // `bootstrap` row: that row may still hold a retired key (another process, an older start).
      if (bootstrapHash && sameHash(hashSecret(key.secret), bootstrapHash)) return { actor: `key:${BOOTSTRAP_KEY_ID}`, role: 'admin' };
      throw new ApiError(401, 'INVALID_CREDENTIALS', 'the API key is not valid (unknown, revoked or wrong)');
    }
    if (key) {
      const row = await ds.getRepository(ApiKeyEntity).findOneBy({ id: key.id });
      if (!row || row.revokedAt !== null || !sameHash(hashSecret(key.secret), row.hash) || !isAdminRole(row.role)) {
        throw new ApiError(401, 'INVALID_CREDENTIALS', 'the API key is not valid (unknown, revoked or wrong)');
      }
      const now = Date.now();
      if (row.lastUsedAt === null || now - row.lastUsedAt > 60_000) {
        // At most one write a minute per key; a failure here must not fail the request.
        void ds
          .getRepository(ApiKeyEntity)
          .update({ id: row.id }, { lastUsedAt: now })
          .catch(() => undefined);
      }
      return { actor: `key:${row.id}`, role: row.role };
    }
    if (verify && credential.split('.').length === 3) {
      let payload: Record<string, unknown>;
      try {
        payload = verify(credential) as Record<string, unknown>;
      } catch (error) {
        const expired = (error as { code?: string }).code === 'FAST_JWT_EXPIRED';
        throw new ApiError(401, expired ? 'TOKEN_EXPIRED' : 'INVALID_CREDENTIALS', expired ? 'the admin token has expired' : 'the admin token is not valid');
      }
      if (!isAdminRole(payload.role) || typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 120) {
        throw new ApiError(401, 'INVALID_CREDENTIALS', 'the admin token has no valid sub and role claims');
      }
      return { actor: `jwt:${payload.sub}`, role: payload.role };
    }
    throw new ApiError(401, 'INVALID_CREDENTIALS', 'the credential is neither a known API key nor a valid admin token');
  }

  app.addHook('onRequest', async (request) => {
    const needed = request.routeOptions.config.role;
    if (!needed) return;
    // Until the first connection and migration succeeded, TypeORM has no metadata or tables to work with.
    if (!isMigrated(ds)) throw new ApiError(503, 'DATABASE_UNAVAILABLE', 'the database is not connected yet; retry later');
    const principal = await authenticate(request);
    if (ROLES.indexOf(principal.role) < ROLES.indexOf(needed)) {
      throw new ApiError(403, 'FORBIDDEN', `this needs the ${needed} role; the credential has ${principal.role}`);
    }
    request.principal = principal;
  });
}
