import { Type } from '@sinclair/typebox';

/** Ids on the wire: 1-64 characters of [A-Za-z0-9_.:-] (libs/protocol). */
export const Id = (description: string) => Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', description });
export const RoomIdParam = Type.Object({ roomId: Id('Room id') });
export const MemberParams = Type.Object({ roomId: Id('Room id'), userId: Id('User id') });
export const Role = Type.Union([Type.Literal('host'), Type.Literal('speaker'), Type.Literal('listener')]);
export const Iso = Type.String({ format: 'date-time' });
const Settings = Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form room settings (JSON object, at most 4 KiB)' });

export const RoomBody = Type.Object(
  {
    id: Type.Optional(Id('Room id used by clients (generated when omitted)')),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    capacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Most members at once (default ROOM_CAPACITY)' })),
    seats: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Most speakers at once, hosts not counted (default ROOM_SEATS)' })),
    settings: Type.Optional(Settings),
  },
  { additionalProperties: false },
);
export const RoomPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    capacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    seats: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    settings: Type.Optional(Settings),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const Room = Type.Object({
  id: Type.String(),
  name: Type.String(),
  capacity: Type.Integer(),
  seats: Type.Integer(),
  status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  settings: Settings,
  createdAt: Iso,
  updatedAt: Iso,
  online: Type.Integer({ description: 'Members in the room now, across the cluster' }),
});
export const RoomList = Type.Object({
  items: Type.Array(Room),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
export const Member = Type.Object({
  userId: Type.String(),
  sid: Type.Integer(),
  name: Type.Optional(Type.String()),
  role: Role,
  muted: Type.Boolean(),
  handRaised: Type.Boolean(),
  node: Type.Union([Type.String(), Type.Null()], { description: 'Gateway holding the connection; null while it may resume' }),
});
export const Ban = Type.Object({
  id: Type.Integer(),
  userId: Type.String(),
  roomId: Type.Union([Type.String(), Type.Null()], { description: 'null: every room' }),
  reason: Type.String(),
  expiresAt: Type.Union([Iso, Type.Null()], { description: 'null: no end' }),
  createdAt: Iso,
  createdBy: Type.String(),
  revokedAt: Type.Union([Iso, Type.Null()]),
  active: Type.Boolean(),
});
export const ChatItem = Type.Object({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('chat'), Type.Literal('notice')]),
  userId: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  text: Type.String(),
  sentAt: Iso,
});
export const Ok = Type.Object({ ok: Type.Literal(true) });
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, { $ref: 'Error#' }]));
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
