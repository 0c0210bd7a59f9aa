import type { RoomRecord } from '@voiceroom/cluster';
import type { MemberInfo, RoomEventMessage, RoomId, SpeakerId, UserId } from '@voiceroom/protocol';
import { deriveRoomEvents } from './room-event';
import { signWebhook, verifyWebhook } from './signature';

const T = Date.UTC(2026, 11, 4, 12, 0, 0);

function room(members: { sid: number; userId: string }[] = []): RoomRecord {
  const map = new Map(members.map((m) => [m.sid as SpeakerId, { sid: m.sid, userId: m.userId }]));
  return { id: 'lobby' as RoomId, epoch: 42, settings: { capacity: 10, seats: 3 }, members: map } as unknown as RoomRecord;
}

const info = (userId: string, sid: number, more: Partial<MemberInfo> = {}): MemberInfo => ({
  userId: userId as UserId,
  sid: sid as SpeakerId,
  role: 'speaker',
  muted: false,
  handRaised: false,
  ...more,
});

function derive(r: RoomRecord, message: RoomEventMessage, chat = false) {
  return deriveRoomEvents(r, message, { chat, time: T });
}

describe('deriveRoomEvents', () => {
  it('opens a room with its first join; ids are room/epoch/seq/index', () => {
    const events = derive(room([{ sid: 1, userId: 'ann' }]), {
      type: 'member_joined',
      room: 'lobby' as RoomId,
      seq: 1,
      member: info('ann', 1, { role: 'host' }),
    });
    expect(events.map((e) => [e.id, e.type])).toEqual([
      ['lobby/42/1/0', 'room.opened.v1'],
      ['lobby/42/1/1', 'member.joined.v1'],
    ]);
    expect(events[0]).toMatchObject({ room: 'lobby', roomEpoch: 42, seq: 1, time: new Date(T).toISOString(), data: { capacity: 10, seats: 3 } });
    expect(events[1]!.data).toEqual({ member: info('ann', 1, { role: 'host' }) });
    const later = derive(room(), { type: 'member_joined', room: 'lobby' as RoomId, seq: 5, member: info('bob', 2), replaces: 7 as SpeakerId });
    expect(later.map((e) => [e.type, e.data.replaces])).toEqual([['member.joined.v1', 7]]);
  });

  it('a kick is kicked then left, and the last member closes the room', () => {
    const events = derive(room(), { type: 'member_left', room: 'lobby' as RoomId, seq: 9, userId: 'bob' as UserId, sid: 2 as SpeakerId, reason: 'kicked' });
    expect(events.map((e) => `${e.id} ${e.type} ${JSON.stringify(e.data)}`)).toEqual([
      'lobby/42/9/0 member.kicked.v1 {"userId":"bob","sid":2}',
      'lobby/42/9/1 member.left.v1 {"userId":"bob","sid":2,"reason":"kicked"}',
      'lobby/42/9/2 room.closed.v1 {"reason":"empty"}',
    ]);
    const banned = derive(room([{ sid: 1, userId: 'ann' }]), {
      type: 'member_left',
      room: 'lobby' as RoomId,
      seq: 3,
      userId: 'bob' as UserId,
      sid: 2 as SpeakerId,
      reason: 'banned',
    });
    expect(banned.map((e) => e.type)).toEqual(['member.banned.v1', 'member.left.v1']);
    const closed = derive(room(), { type: 'member_left', room: 'lobby' as RoomId, seq: 3, userId: 'ann' as UserId, sid: 1 as SpeakerId, reason: 'closed' });
    expect(closed.map((e) => [e.type, e.data.reason])).toEqual([
      ['member.left.v1', 'closed'],
      ['room.closed.v1', 'closed'],
    ]);
  });

  it('role and mute changes name who did it (null: an administrator); hands are not events', () => {
    const r = room([{ sid: 1, userId: 'ann' }]);
    const muted = derive(r, {
      type: 'members_updated',
      room: 'lobby' as RoomId,
      seq: 4,
      members: [info('bob', 2, { muted: true }), info('cid', 3, { muted: true })],
      reason: 'mute_all',
      by: 1 as SpeakerId,
    });
    expect(muted.map((e) => [e.id, e.type, e.data.muted, e.data.all, e.data.by])).toEqual([
      ['lobby/42/4/0', 'member.muted.v1', true, true, { sid: 1, userId: 'ann' }],
      ['lobby/42/4/1', 'member.muted.v1', true, true, { sid: 1, userId: 'ann' }],
    ]);
    const role = derive(r, {
      type: 'members_updated',
      room: 'lobby' as RoomId,
      seq: 5,
      members: [info('bob', 2, { role: 'listener' })],
      reason: 'role',
      by: 0 as SpeakerId,
    });
    expect(role.map((e) => [e.type, e.data.role, e.data.by, e.data.via])).toEqual([['member.role_changed.v1', 'listener', null, 'set_role']]);
    const accepted = derive(r, {
      type: 'members_updated',
      room: 'lobby' as RoomId,
      seq: 6,
      members: [info('bob', 2)],
      reason: 'hand_accepted',
      by: 1 as SpeakerId,
    });
    expect(accepted.map((e) => [e.type, e.data.via])).toEqual([['member.role_changed.v1', 'hand_accepted']]);
    expect(derive(r, { type: 'members_updated', room: 'lobby' as RoomId, seq: 7, members: [info('bob', 2)], reason: 'hand', by: 2 as SpeakerId })).toEqual([]);
  });

  it('chat and notices only when asked for', () => {
    const chat: RoomEventMessage = {
      type: 'chat',
      room: 'lobby' as RoomId,
      seq: 8,
      from: 1 as SpeakerId,
      userId: 'ann' as UserId,
      name: 'Ann',
      text: 'hi',
      at: T,
    };
    expect(derive(room(), chat)).toEqual([]);
    expect(derive(room(), chat, true).map((e) => [e.type, e.data])).toEqual([['chat.message.v1', { sid: 1, userId: 'ann', name: 'Ann', text: 'hi' }]]);
    const notice: RoomEventMessage = { type: 'notice', room: 'lobby' as RoomId, seq: 9, text: 'maintenance', at: T };
    expect(derive(room(), notice)).toEqual([]);
    expect(derive(room(), notice, true).map((e) => e.type)).toEqual(['room.notice.v1']);
  });
});

describe('webhook signatures', () => {
  const secret = 's'.repeat(40);
  const body = '{"id":"lobby/42/1/0"}';
  const now = 1_800_000_000;

  it('verifies what it signed, within the tolerance', () => {
    const header = signWebhook(secret, body, now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, body, header, now + 10)).toBe(true);
    expect(verifyWebhook(secret, body, header, now + 301)).toBe(false);
  });

  it('refuses another body, another secret, another timestamp and garbage', () => {
    const header = signWebhook(secret, body, now);
    expect(verifyWebhook(secret, `${body} `, header, now)).toBe(false);
    expect(verifyWebhook('t'.repeat(40), body, header, now)).toBe(false);
    expect(verifyWebhook(secret, body, header.replace('t=1800000000', 't=1800000001'), now)).toBe(false);
    expect(verifyWebhook(secret, body, undefined, now)).toBe(false);
    expect(verifyWebhook(secret, body, 'v1=abc', now)).toBe(false);
  });
});
