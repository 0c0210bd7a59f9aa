import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { GatewayConfig } from '@voiceroom/config';
import { isValidId, MAX_NAME_LENGTH, type Role, type RoomId } from '@voiceroom/protocol';
import type { TokenService } from '@voiceroom/tokens';
import type { GatewayNode } from './gateway-node';
import { errorBody } from './http-errors';
import { KeyedTokenBuckets } from './token-bucket';

/** apps/web/dist, from this file in src/ or in dist/. */
const DEFAULT_WEB_ROOT = resolve(__dirname, '../../web/dist');

/** Where the built page is, or undefined when none is to be served. */
export function webRoot(config: GatewayConfig): string | undefined {
  if (config.webRoot === 'off') return undefined;
  const root = config.webRoot === '' ? DEFAULT_WEB_ROOT : resolve(config.webRoot);
  return existsSync(join(root, 'index.html')) ? root : undefined;
}

/** Serves the voice-room page (static files) at `/`. Returns the directory, or undefined. */
export async function serveWebPage(app: FastifyInstance, config: GatewayConfig): Promise<string | undefined> {
  const root = webRoot(config);
  if (!root) {
    if (config.webRoot !== 'off' && config.webRoot !== '') app.log.warn({ webRoot: config.webRoot }, 'WEB_ROOT has no index.html: the page is not served');
    return undefined;
  }
  await app.register(fastifyStatic, { root, prefix: '/', index: 'index.html', decorateReply: false, cacheControl: true, maxAge: 60_000 });
  return root;
}

/** A user id from a display name: its id-safe characters and a random suffix. */
function userIdFor(name: string): string {
  const stem =
    name
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'user';
  return `${stem}-${randomBytes(3).toString('hex')}`;
}

/**
 * Development only (DEV_TOKENS=true, refused in production): `POST /dev/token` hands a join token
 * to anyone for a name and a room, so the page works with no backend. A token asked for a room
 * with no host in it now is a host's (so two asked before anyone joined are both hosts); the
 * others are speakers (listeners when every seat is taken). At most DEV_TOKENS_PER_MINUTE per
 * client address (429 RATE_LIMITED), none for a room an administrator closed (409 ROOM_CLOSED).
 * Errors in the documented shape: register it where gatewayErrorHandler applies.
 */
export function devTokenRoute(app: FastifyInstance, node: GatewayNode, tokens: TokenService): void {
  const perMinute = node.config.devTokensPerMinute;
  const limiter = new KeyedTokenBuckets(perMinute / 60, perMinute);
  app.post(
    '/dev/token',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'room'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH },
            room: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' },
          },
        },
      },
    },
    async (request, reply) => {
      const { name, room } = request.body as { name: string; room: string };
      if (!isValidId(room)) return reply.code(400).send(errorBody('VALIDATION_FAILED', 'room: 1-64 characters of [A-Za-z0-9_.:-]', '/body/room'));
      if (!limiter.take(request.ip)) {
        const seconds = Math.max(1, Math.ceil(limiter.msUntilNext(request.ip) / 1000));
        return reply
          .code(429)
          .header('retry-after', String(seconds))
          .send(errorBody('RATE_LIMITED', `more than ${perMinute} tokens a minute from your address; retry in ${seconds} s`));
      }
      if (node.state.directory.get(room as RoomId)?.open === false) {
        return reply.code(409).send(errorBody('ROOM_CLOSED', `the room ${room} is closed`));
      }
      const live = node.state.rooms.get(room as RoomId);
      const hasHost = !!live && [...live.members.values()].some((m) => m.role === 'host');
      const role: Role = hasHost ? 'speaker' : 'host';
      const userId = userIdFor(name);
      const token = tokens.sign({ userId, room, role, name: name.trim() }, Math.min(3600, node.config.tokenMaxTtlSeconds));
      return { token, userId, room, role };
    },
  );
}
