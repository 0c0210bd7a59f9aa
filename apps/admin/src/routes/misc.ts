import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LessThan, type FindOptionsWhere } from 'typeorm';
import { isDisplayNameLength, MAX_NAME_LENGTH, type NodeId } from '@voiceroom/protocol';
import { ApiKeyEntity, AuditEntryEntity, ChatMessageEntity, RoomEntity, UserEntity } from '@voiceroom/persistence';
import { BOOTSTRAP_KEY_ID, isAdminRole, newApiKey, ROLES } from '../auth';
import { audit, type AdminContext } from '../context';
import { ApiError, notFound } from '../errors';
import { ChatItem, errors, Id, iso, Ok, Role, RoomIdParam } from '../schemas';
import { readHistory } from '../chat-archive';
import { activeBan } from './bans';
import { findRoom } from './rooms';

const TokenBody = Type.Object(
  {
    userId: Id('The user the token is for (the member id in the room)'),
    role: Type.Optional(Role),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'Display name shown to the room: 1-64 Unicode code points' })),
    ttlSeconds: Type.Optional(
      Type.Integer({ minimum: 10, description: 'Lifetime (default 3600 or TOKEN_MAX_TTL_SECONDS if lower; at most TOKEN_MAX_TTL_SECONDS)' }),
    ),
  },
  { additionalProperties: false },
);

export function miscRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  // ---- tokens ----------------------------------------------------------------------------
  api.post(
    '/v1/rooms/:roomId/tokens',
    {
      config: { role: 'moderator' },
      schema: {
        tags: ['tokens'],
        summary: 'Issue a join token (what a client sends in `join`) for an open room and a user who is not banned',
        params: RoomIdParam,
        body: TokenBody,
        response: {
          201: Type.Object({ token: Type.String(), roomId: Type.String(), userId: Type.String(), role: Role, expiresAt: Type.String({ format: 'date-time' }) }),
          ...errors(400, 401, 403, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const { roomId } = request.params;
      const body = request.body;
      // The schema's maxLength counts code points too; this is the rule the gateway applies (libs/protocol).
      if (body.name !== undefined && !isDisplayNameLength(body.name)) {
        throw new ApiError(400, 'VALIDATION_FAILED', `/body/name must NOT have more than ${MAX_NAME_LENGTH} characters (code points)`, '/body/name');
      }
      const ttl = body.ttlSeconds ?? Math.min(3600, ctx.config.tokenMaxTtlSeconds);
      if (ttl > ctx.config.tokenMaxTtlSeconds) {
        throw new ApiError(400, 'VALIDATION_FAILED', `/body/ttlSeconds must be at most ${ctx.config.tokenMaxTtlSeconds}`, '/body/ttlSeconds');
      }
      const room = await findRoom(ctx, roomId);
      if (room.status !== 'open') throw new ApiError(409, 'ROOM_CLOSED', `room ${roomId} is closed`);
      const ban = await activeBan(ctx, body.userId, roomId);
      if (ban) throw new ApiError(409, 'USER_BANNED', `user ${body.userId} is banned from this room${ban.expiresAt ? ` until ${iso(ban.expiresAt)}` : ''}`);
      const role = body.role ?? 'speaker';
      const now = Date.now();
      // Users are recorded as tokens are issued: created once, the name kept up to date when given.
      const users = ctx.ds.getRepository(UserEntity);
      await users
        .createQueryBuilder()
        .insert()
        .values({ id: body.userId, name: body.name ?? null, createdAt: now, updatedAt: now })
        .orIgnore()
        .execute();
      if (body.name !== undefined) await users.update({ id: body.userId }, { name: body.name, updatedAt: now });
      const token = ctx.tokens.sign({ userId: body.userId, room: roomId, role, ...(body.name ? { name: body.name } : {}) }, ttl);
      await audit(ctx, request, 'token.issue', 'user', body.userId, { roomId, role, ttlSeconds: ttl });
      return reply.code(201).send({ token, roomId, userId: body.userId, role, expiresAt: new Date(now + ttl * 1000).toISOString() });
    },
  );

  // ---- chat history ----------------------------------------------------------------------
  api.get(
    '/v1/rooms/:roomId/messages',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['chat'],
        summary: 'Chat history, newest first; pass `before` = the last id you got for the next page',
        params: RoomIdParam,
        querystring: Type.Object(
          {
            before: Type.Optional(Type.Integer({ minimum: 1, description: 'Only messages with a smaller id' })),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(ChatItem), nextBefore: Type.Union([Type.Integer(), Type.Null()]) }),
          ...errors(400, 401, 403, 404, 503),
        },
      },
    },
    async (request) => {
      const { roomId } = request.params;
      const q = request.query;
      const page = await readHistory(ctx.ds, roomId, q.limit, q.before);
      if (page.items.length === 0 && q.before === undefined) await findRoom(ctx, roomId); // 404 for an unknown room
      return page;
    },
  );

  // ---- stats -----------------------------------------------------------------------------
  const NodeStats = Type.Object({ id: Type.String(), live: Type.Boolean(), members: Type.Integer() });
  api.get(
    '/v1/stats',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['stats'],
        summary: 'Rooms, members online and per node',
        response: {
          200: Type.Object({
            rooms: Type.Object({ configured: Type.Integer(), open: Type.Integer(), live: Type.Integer() }),
            membersOnline: Type.Integer(),
            nodes: Type.Array(NodeStats),
          }),
          ...errors(401, 403, 503),
        },
      },
    },
    async () => {
      const repo = ctx.ds.getRepository(RoomEntity);
      const [configured, open] = await Promise.all([repo.count(), repo.countBy({ status: 'open' })]);
      const state = ctx.cluster.state;
      const perNode = new Map<NodeId, number>();
      let online = 0;
      for (const room of state.rooms.values()) {
        for (const m of room.members.values()) {
          if (m.node === undefined) continue;
          online++;
          perNode.set(m.node, (perNode.get(m.node) ?? 0) + 1);
        }
      }
      const nodes = [...state.nodes.values()].map((n) => ({ id: n.id, live: n.live, members: perNode.get(n.id) ?? 0 }));
      return { rooms: { configured, open, live: state.rooms.size }, membersOnline: online, nodes };
    },
  );

  api.get(
    '/v1/rooms/:roomId/stats',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['stats'],
        summary: "A room's members by role and node, and its stored messages",
        params: RoomIdParam,
        response: {
          200: Type.Object({
            roomId: Type.String(),
            members: Type.Integer(),
            hosts: Type.Integer(),
            speakers: Type.Integer(),
            listeners: Type.Integer(),
            muted: Type.Integer(),
            byNode: Type.Record(Type.String(), Type.Integer()),
            messages: Type.Integer(),
          }),
          ...errors(400, 401, 403, 404, 503),
        },
      },
    },
    async (request) => {
      const { roomId } = request.params;
      await findRoom(ctx, roomId);
      const live = ctx.cluster.state.rooms.get(roomId as never);
      const out = { roomId, members: 0, hosts: 0, speakers: 0, listeners: 0, muted: 0, byNode: {} as Record<string, number>, messages: 0 };
      for (const m of live?.members.values() ?? []) {
        out.members++;
        if (m.role === 'host') out.hosts++;
        else if (m.role === 'speaker') out.speakers++;
        else out.listeners++;
        if (m.muted) out.muted++;
        const node = m.node ?? 'detached';
        out.byNode[node] = (out.byNode[node] ?? 0) + 1;
      }
      out.messages = await ctx.ds.getRepository(ChatMessageEntity).countBy({ roomId });
      return out;
    },
  );

  // ---- API keys --------------------------------------------------------------------------
  const KeyView = Type.Object({
    id: Type.String(),
    name: Type.String(),
    role: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Updated at most once a minute' }),
    revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  });
  const keyView = (k: ApiKeyEntity) => ({
    id: k.id,
    name: k.name,
    role: k.role,
    createdAt: iso(k.createdAt)!,
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
  });
  api.post(
    '/v1/api-keys',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Create an API key; the key is in this response only (the server keeps its hash)',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 128 }), role: Type.Union(ROLES.map((r) => Type.Literal(r))) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Composite([KeyView, Type.Object({ key: Type.String() })]), ...errors(400, 401, 403, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!isAdminRole(body.role)) throw new ApiError(400, 'VALIDATION_FAILED', '/body/role is invalid', '/body/role');
      const { id, key, hash } = newApiKey();
      const row = ctx.ds
        .getRepository(ApiKeyEntity)
        .create({ id, name: body.name, role: body.role, hash, createdAt: Date.now(), lastUsedAt: null, revokedAt: null });
      await ctx.ds.getRepository(ApiKeyEntity).insert(row);
      await audit(ctx, request, 'apikey.create', 'apikey', id, { name: body.name, role: body.role });
      return reply.code(201).send({ ...keyView(row), key });
    },
  );
  api.get(
    '/v1/api-keys',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'List API keys (never the keys themselves)',
        response: { 200: Type.Object({ items: Type.Array(KeyView) }), ...errors(401, 403, 503) },
      },
    },
    async () => ({ items: (await ctx.ds.getRepository(ApiKeyEntity).find({ order: { createdAt: 'ASC' } })).map(keyView) }),
  );
  api.delete(
    '/v1/api-keys/:keyId',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Revoke an API key',
        params: Type.Object({ keyId: Type.String({ maxLength: 32 }) }),
        response: { 200: Ok, ...errors(401, 403, 404, 409, 503) },
      },
    },
    async (request) => {
      const { keyId } = request.params;
      const repo = ctx.ds.getRepository(ApiKeyEntity);
      if (keyId === BOOTSTRAP_KEY_ID)
        throw new ApiError(409, 'BOOTSTRAP_KEY', 'the bootstrap key comes from ADMIN_BOOTSTRAP_KEY: unset or change it there to retire it');
      const row = await repo.findOneBy({ id: keyId });
      if (!row || row.revokedAt !== null) throw notFound('api key', keyId);
      row.revokedAt = Date.now();
      await repo.save(row);
      await audit(ctx, request, 'apikey.revoke', 'apikey', keyId);
      return { ok: true as const };
    },
  );

  // ---- audit log -------------------------------------------------------------------------
  api.get(
    '/v1/audit',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['audit'],
        summary: 'Admin and moderation actions, newest first',
        querystring: Type.Object(
          {
            targetType: Type.Optional(Type.String({ maxLength: 32 })),
            targetId: Type.Optional(Type.String({ maxLength: 128 })),
            before: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Type.Integer(),
                actor: Type.String(),
                action: Type.String(),
                targetType: Type.String(),
                targetId: Type.Union([Type.String(), Type.Null()]),
                details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
                at: Type.String({ format: 'date-time' }),
              }),
            ),
          }),
          ...errors(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const where: FindOptionsWhere<AuditEntryEntity> = {};
      if (q.targetType) where.targetType = q.targetType;
      if (q.targetId) where.targetId = q.targetId;
      if (q.before) where.id = LessThan(q.before);
      const rows = await ctx.ds.getRepository(AuditEntryEntity).find({ where, order: { id: 'DESC' }, take: q.limit });
      return {
        items: rows.map((r) => ({
          id: r.id,
          actor: r.actor,
          action: r.action,
          targetType: r.targetType,
          targetId: r.targetId,
          details: r.details,
          at: iso(r.at)!,
        })),
      };
    },
  );
}
