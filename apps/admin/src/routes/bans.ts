import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { IsNull, LessThanOrEqual, MoreThan, Not, type FindOptionsWhere } from 'typeorm';
import type { RoomId, UserId } from '@voiceroom/protocol';
import { BanEntity } from '@voiceroom/persistence';
import { act, audit, type AdminContext } from '../context';
import { ApiError, notFound } from '../errors';
import { Ban, errors, Id, iso } from '../schemas';
import { findRoom } from './rooms';

function banView(b: BanEntity, now: number): Static<typeof Ban> {
  return {
    id: b.id,
    userId: b.userId,
    roomId: b.roomId,
    reason: b.reason,
    expiresAt: iso(b.expiresAt),
    createdAt: iso(b.createdAt)!,
    createdBy: b.createdBy,
    revokedAt: iso(b.revokedAt),
    active: b.revokedAt === null && (b.expiresAt === null || b.expiresAt > now),
  };
}

const BanBody = Type.Object(
  {
    userId: Id('User to ban'),
    roomId: Type.Optional(Type.Union([Id('Room (omit or null: every room)'), Type.Null()])),
    durationSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400, description: 'Ban length; omit for no end' })),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export function banRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const repo = () => ctx.ds.getRepository(BanEntity);
  const tags = ['bans'];

  api.post(
    '/v1/bans',
    {
      config: { role: 'moderator' },
      schema: {
        tags,
        summary: 'Ban a user from a room, or from every room; members in it are disconnected (4407) and cannot join on any node until the ban ends',
        body: BanBody,
        response: { 201: Ban, 202: Ban, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const roomId = body.roomId ?? null;
      if (roomId !== null) await findRoom(ctx, roomId);
      const now = Date.now();
      const ban = repo().create({
        userId: body.userId,
        roomId,
        reason: body.reason ?? '',
        expiresAt: body.durationSeconds === undefined ? null : now + body.durationSeconds * 1000,
        createdAt: now,
        createdBy: request.principal?.actor ?? 'anonymous',
        revokedAt: null,
      });
      await repo().save(ban);
      await audit(ctx, request, 'ban.create', 'user', ban.userId, { banId: ban.id, roomId, expiresAt: ban.expiresAt, reason: ban.reason });
      const applied = await act(ctx, { t: 'ban', room: roomId as RoomId | null, userId: ban.userId as UserId, until: ban.expiresAt });
      return reply.code(applied ? 201 : 202).send(banView(ban, now));
    },
  );

  api.get(
    '/v1/bans',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'List bans, newest first',
        querystring: Type.Object(
          {
            userId: Type.Optional(Id('Only this user')),
            roomId: Type.Optional(Id('Only bans of this room')),
            active: Type.Optional(Type.Boolean({ description: 'true: only bans in force now; false: only lifted or expired ones' })),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(Ban) }), ...errors(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      const base: FindOptionsWhere<BanEntity> = {};
      if (q.userId) base.userId = q.userId;
      if (q.roomId) base.roomId = q.roomId;
      const now = Date.now();
      // Alternatives are OR-ed: in force = not lifted and (no end or ends later); else lifted or ended.
      const where: FindOptionsWhere<BanEntity>[] =
        q.active === undefined
          ? [base]
          : q.active
            ? [
                { ...base, revokedAt: IsNull(), expiresAt: IsNull() },
                { ...base, revokedAt: IsNull(), expiresAt: MoreThan(now) },
              ]
            : [
                { ...base, revokedAt: Not(IsNull()) },
                { ...base, expiresAt: LessThanOrEqual(now) },
              ];
      const rows = await repo().find({ where, order: { id: 'DESC' }, take: q.limit });
      return { items: rows.map((b) => banView(b, now)) };
    },
  );

  api.delete(
    '/v1/bans/:banId',
    {
      config: { role: 'moderator' },
      schema: {
        tags,
        summary: 'Lift a ban (the row is kept, with revokedAt)',
        params: Type.Object({ banId: Type.Integer({ minimum: 1 }) }),
        response: { 200: Ban, 202: Ban, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const { banId } = request.params;
      const ban = await repo().findOneBy({ id: banId });
      if (!ban) throw notFound('ban', banId);
      if (ban.revokedAt !== null) throw new ApiError(409, 'BAN_ALREADY_LIFTED', `ban ${banId} was lifted already`);
      const now = Date.now();
      ban.revokedAt = now;
      await repo().save(ban);
      await audit(ctx, request, 'ban.lift', 'user', ban.userId, { banId, roomId: ban.roomId });
      // Another ban of the same user and room may still hold: the cluster keeps the longest.
      const others = (await repo().findBy({ userId: ban.userId, roomId: ban.roomId === null ? IsNull() : ban.roomId, revokedAt: IsNull() })).filter(
        (b) => b.expiresAt === null || b.expiresAt > now,
      );
      let applied: boolean;
      if (others.length === 0) {
        applied = await act(ctx, { t: 'unban', room: ban.roomId as RoomId | null, userId: ban.userId as UserId });
      } else {
        const until = others.some((b) => b.expiresAt === null) ? null : Math.max(...others.map((b) => b.expiresAt as number));
        applied = await act(ctx, { t: 'ban', room: ban.roomId as RoomId | null, userId: ban.userId as UserId, until });
      }
      return reply.code(applied ? 200 : 202).send(banView(ban, now));
    },
  );
}

/** The ban in force for a user and room (room or global), if any. */
export async function activeBan(ctx: AdminContext, userId: string, roomId: string): Promise<BanEntity | undefined> {
  const now = Date.now();
  const rows = await ctx.ds.getRepository(BanEntity).find({
    where: [
      { userId, roomId, revokedAt: IsNull() },
      { userId, roomId: IsNull(), revokedAt: IsNull() },
    ],
  });
  return rows.find((b) => b.expiresAt === null || b.expiresAt > now);
}
