import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { MAX_NOTICE_LENGTH, memberInfo } from '@voiceroom/cluster';
import type { RoomId, UserId } from '@voiceroom/protocol';
import { act, audit, type AdminContext } from '../context';
import { ApiError } from '../errors';
import { errors, Member, MemberParams, Ok, Role, RoomIdParam } from '../schemas';
import { findRoom } from './rooms';

export function memberRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['members'];

  api.get(
    '/v1/rooms/:roomId/members',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: "The room's members now, on every gateway (from the cluster's replicated state)",
        params: RoomIdParam,
        response: { 200: Type.Object({ items: Type.Array(Member) }), ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const { roomId } = request.params;
      const live = ctx.cluster.state.rooms.get(roomId as RoomId);
      if (!live) await findRoom(ctx, roomId); // 404 for a room that is neither live nor configured
      const items = [...(live?.members.values() ?? [])].map((m) => ({ ...memberInfo(m), node: m.node ?? null }));
      return { items };
    },
  );

  api.post(
    '/v1/rooms/:roomId/members/:userId/kick',
    {
      config: { role: 'moderator' },
      schema: {
        tags,
        summary:
          'Disconnect a member (close code 4403 on its gateway); its joins of the room are refused (4403) for KICK_REJOIN_BLOCK_SECONDS, then it may join again (ban to prevent that)',
        params: MemberParams,
        response: { 200: Ok, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const { roomId, userId } = request.params;
      await audit(ctx, request, 'member.kick', 'user', userId, { roomId });
      await act(ctx, { t: 'admin', room: roomId as RoomId, action: { type: 'kick', userId: userId as UserId } });
      return { ok: true as const };
    },
  );

  api.post(
    '/v1/rooms/:roomId/members/:userId/mute',
    {
      config: { role: 'moderator' },
      schema: {
        tags,
        summary: 'Mute or unmute a member (its audio is dropped on every node); the mute survives rejoining while the room is live',
        params: MemberParams,
        body: Type.Object({ muted: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: Ok, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const { roomId, userId } = request.params;
      const { muted } = request.body;
      await audit(ctx, request, muted ? 'member.mute' : 'member.unmute', 'user', userId, { roomId });
      await act(ctx, { t: 'admin', room: roomId as RoomId, action: { type: 'mute', userId: userId as UserId, muted } });
      return { ok: true as const };
    },
  );

  api.put(
    '/v1/rooms/:roomId/members/:userId/role',
    {
      config: { role: 'moderator' },
      schema: {
        tags,
        summary: "Change a member's role (speaker needs a free seat: 409 SEATS_FULL)",
        params: MemberParams,
        body: Type.Object({ role: Role }, { additionalProperties: false }),
        response: { 200: Ok, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => {
      const { roomId, userId } = request.params;
      const { role } = request.body;
      await audit(ctx, request, 'member.role', 'user', userId, { roomId, role });
      await act(ctx, { t: 'admin', room: roomId as RoomId, action: { type: 'set_role', userId: userId as UserId, role } });
      return { ok: true as const };
    },
  );

  api.post(
    '/v1/rooms/:roomId/notices',
    {
      config: { role: 'moderator' },
      schema: {
        tags: ['chat'],
        summary: 'Send a notice to everyone in the room (stored in the chat history)',
        params: RoomIdParam,
        body: Type.Object({ text: Type.String({ minLength: 1, maxLength: MAX_NOTICE_LENGTH }) }, { additionalProperties: false }),
        response: { 200: Ok, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => {
      const { roomId } = request.params;
      await findRoom(ctx, roomId);
      const { text } = request.body;
      // The log counts UTF-16 code units (as clients do); JSON Schema counts code points.
      if (text.length > MAX_NOTICE_LENGTH)
        throw new ApiError(400, 'VALIDATION_FAILED', `/body/text is longer than ${MAX_NOTICE_LENGTH} UTF-16 code units`, '/body/text');
      await audit(ctx, request, 'room.notice', 'room', roomId, { text });
      await act(ctx, { t: 'admin', room: roomId as RoomId, action: { type: 'notice', text } }).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'MEMBER_NOT_FOUND')
          throw new ApiError(409, 'ROOM_EMPTY', 'nobody is in the room to receive the notice');
        throw error;
      });
      return { ok: true as const };
    },
  );
}
