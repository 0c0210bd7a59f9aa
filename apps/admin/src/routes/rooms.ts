import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { RoomId } from '@voiceroom/protocol';
import { RoomEntity, isDuplicateKey } from '@voiceroom/persistence';
import { act, audit, type AdminContext } from '../context';
import { ApiError, notFound } from '../errors';
import { errors, iso, Ok, Room, RoomBody, RoomIdParam, RoomList, RoomPatch } from '../schemas';

const MAX_SETTINGS_BYTES = 4096;

export function roomView(ctx: AdminContext, r: RoomEntity): Static<typeof Room> {
  return {
    id: r.id,
    name: r.name,
    capacity: r.capacity,
    seats: r.seats,
    status: r.status,
    settings: r.settings,
    createdAt: iso(r.createdAt)!,
    updatedAt: iso(r.updatedAt)!,
    online: ctx.cluster.state.rooms.get(r.id as RoomId)?.members.size ?? 0,
  };
}

export async function findRoom(ctx: AdminContext, id: string): Promise<RoomEntity> {
  const room = await ctx.ds.getRepository(RoomEntity).findOneBy({ id });
  if (!room) throw notFound('room', id);
  return room;
}

function checkSettings(settings: Record<string, unknown> | undefined): void {
  if (settings !== undefined && Buffer.byteLength(JSON.stringify(settings)) > MAX_SETTINGS_BYTES) {
    throw new ApiError(400, 'VALIDATION_FAILED', `/body/settings is larger than ${MAX_SETTINGS_BYTES} bytes`, '/body/settings');
  }
}

function conflictOnName(error: unknown, name: string): never {
  if (isDuplicateKey(error)) throw new ApiError(409, 'ROOM_EXISTS', `a room named ${JSON.stringify(name)} (or with that id) exists`);
  throw error;
}

/** The room's directory entry in the cluster (what gateways enforce). */
/** The room's directory entry in the cluster (what gateways enforce). False: stored, applied later (202). */
async function publish(ctx: AdminContext, room: RoomEntity | { id: string; deleted: true }): Promise<boolean> {
  const config = 'deleted' in room ? null : { capacity: room.capacity, seats: room.seats, open: room.status === 'open' };
  return act(ctx, { t: 'room', room: room.id as RoomId, config });
}

export function roomRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const repo = () => ctx.ds.getRepository(RoomEntity);
  const tags = ['rooms'];

  api.post(
    '/v1/rooms',
    {
      config: { role: 'admin' },
      schema: { tags, summary: 'Create a room', body: RoomBody, response: { 201: Room, 202: Room, ...errors(400, 401, 403, 409, 503) } },
    },
    async (request, reply) => {
      const body = request.body;
      checkSettings(body.settings);
      const now = Date.now();
      const room = repo().create({
        id: body.id ?? `r_${randomBytes(8).toString('hex')}`,
        name: body.name,
        capacity: body.capacity ?? ctx.config.rooms.capacity,
        seats: body.seats ?? ctx.config.rooms.seats,
        status: 'open',
        settings: body.settings ?? {},
        createdAt: now,
        updatedAt: now,
      });
      await repo()
        .insert(room as never)
        .catch((error: unknown) => conflictOnName(error, body.name));
      await audit(ctx, request, 'room.create', 'room', room.id, { name: room.name, capacity: room.capacity, seats: room.seats });
      const applied = await publish(ctx, room);
      return reply.code(applied ? 201 : 202).send(roomView(ctx, room));
    },
  );

  api.get(
    '/v1/rooms',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'List rooms (paged, by name)',
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
            limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
            offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: RoomList, ...errors(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      const [rows, total] = await repo().findAndCount({
        where: q.status ? { status: q.status } : {},
        order: { name: 'ASC' },
        take: q.limit,
        skip: q.offset,
      });
      return { items: rows.map((r) => roomView(ctx, r)), total, limit: q.limit, offset: q.offset };
    },
  );

  api.get(
    '/v1/rooms/:roomId',
    {
      config: { role: 'viewer' },
      schema: { tags, summary: 'Get a room', params: RoomIdParam, response: { 200: Room, ...errors(400, 401, 403, 404, 503) } },
    },
    async (request) => roomView(ctx, await findRoom(ctx, request.params.roomId)),
  );

  api.patch(
    '/v1/rooms/:roomId',
    {
      config: { role: 'admin' },
      schema: {
        tags,
        summary: 'Change name, capacity, seats or settings',
        params: RoomIdParam,
        body: RoomPatch,
        response: { 200: Room, 202: Room, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      checkSettings(body.settings);
      const room = await findRoom(ctx, request.params.roomId);
      const before = { name: room.name, capacity: room.capacity, seats: room.seats };
      Object.assign(room, body, { updatedAt: Date.now() });
      await repo()
        .save(room)
        .catch((error: unknown) => conflictOnName(error, room.name));
      await audit(ctx, request, 'room.update', 'room', room.id, { before, changes: body });
      const applied = body.capacity !== undefined || body.seats !== undefined ? await publish(ctx, room) : true;
      return reply.code(applied ? 200 : 202).send(roomView(ctx, room));
    },
  );

  for (const [verb, status] of [
    ['close', 'closed'],
    ['open', 'open'],
  ] as const) {
    api.post(
      `/v1/rooms/:roomId/${verb}`,
      {
        config: { role: 'admin' },
        schema: {
          tags,
          summary: verb === 'close' ? 'Close a room: its members are disconnected (4405) on every node; joins are refused' : 'Reopen a closed room',
          params: RoomIdParam,
          response: { 200: Room, 202: Room, ...errors(400, 401, 403, 404, 503) },
        },
      },
      async (request, reply) => {
        const room = await findRoom(ctx, request.params.roomId);
        room.status = status;
        room.updatedAt = Date.now();
        await repo().save(room);
        await audit(ctx, request, `room.${verb}`, 'room', room.id);
        const applied = await publish(ctx, room);
        return reply.code(applied ? 200 : 202).send(roomView(ctx, room));
      },
    );
  }

  api.delete(
    '/v1/rooms/:roomId',
    {
      config: { role: 'admin' },
      schema: {
        tags,
        summary: 'Delete a room (members are disconnected; chat history is kept)',
        params: RoomIdParam,
        response: { 200: Ok, 202: Ok, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const room = await findRoom(ctx, request.params.roomId);
      await repo().delete({ id: room.id });
      await audit(ctx, request, 'room.delete', 'room', room.id, { name: room.name });
      const applied = await publish(ctx, { id: room.id, deleted: true });
      return reply.code(applied ? 200 : 202).send({ ok: true as const });
    },
  );
}
