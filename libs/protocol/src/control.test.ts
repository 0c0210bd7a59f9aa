import { decodeClientMessage, decodeRoomCommand, MAX_CHAT_LENGTH, MAX_CONTROL_MESSAGE_BYTES } from './control';

describe('client control messages', () => {
  it('accepts join and ping', () => {
    expect(decodeClientMessage('{"type":"join","token":"abc"}')).toEqual({ ok: true, value: { type: 'join', token: 'abc' } });
    expect(decodeClientMessage('{"type":"ping","t":5}')).toEqual({ ok: true, value: { type: 'ping', t: 5 } });
  });

  it('accepts every room command, keeping a ref', () => {
    const ok = (text: string) => decodeClientMessage(text);
    expect(ok('{"type":"resume","token":"t","lastSeq":7}')).toEqual({ ok: true, value: { type: 'resume', token: 't', lastSeq: 7 } });
    expect(ok('{"type":"leave"}')).toEqual({ ok: true, value: { type: 'leave' } });
    expect(ok('{"type":"raise_hand","raised":true,"ref":"r1"}')).toEqual({ ok: true, value: { type: 'raise_hand', raised: true, ref: 'r1' } });
    expect(ok('{"type":"answer_hand","sid":9,"accept":false}')).toEqual({ ok: true, value: { type: 'answer_hand', sid: 9, accept: false } });
    expect(ok('{"type":"set_role","sid":9,"role":"listener","ref":3}')).toEqual({ ok: true, value: { type: 'set_role', sid: 9, role: 'listener', ref: 3 } });
    expect(ok('{"type":"mute","sid":9,"muted":true}')).toEqual({ ok: true, value: { type: 'mute', sid: 9, muted: true } });
    expect(ok('{"type":"mute_all","muted":false}')).toEqual({ ok: true, value: { type: 'mute_all', muted: false } });
    expect(ok('{"type":"kick","sid":4294967295}')).toEqual({ ok: true, value: { type: 'kick', sid: 4294967295 } });
    expect(ok('{"type":"chat","text":"héllo"}')).toEqual({ ok: true, value: { type: 'chat', text: 'héllo' } });
  });

  it.each([
    ['a sid of 0', '{"type":"kick","sid":0}'],
    ['a sid over 32 bits', '{"type":"kick","sid":4294967296}'],
    ['a fractional lastSeq', '{"type":"resume","token":"t","lastSeq":1.5}'],
    ['a mute without muted', '{"type":"mute","sid":3}'],
    ['a ref of 65 characters', JSON.stringify({ type: 'leave', ref: 'x'.repeat(65) })],
    ['not JSON', '{'],
    ['an array', '[1]'],
    ['null', 'null'],
    ['a join without token', '{"type":"join"}'],
    ['a join with an empty token', '{"type":"join","token":""}'],
    ['a ping with a string t', '{"type":"ping","t":"x"}'],
    ['an unknown type', '{"type":"launch"}'],
    ['an overlong message', JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX_CONTROL_MESSAGE_BYTES) })],
  ])('refuses %s with a reason', (_name, text) => {
    const result = decodeClientMessage(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
  });
});

describe('room commands (decodeRoomCommand: the one rule for the gateway and the event log)', () => {
  it('accepts each command, keeping only its fields and a valid ref', () => {
    expect(decodeRoomCommand({ type: 'chat', text: 'hi', ref: 'r', extra: 1 })).toEqual({ ok: true, value: { type: 'chat', text: 'hi', ref: 'r' } });
    expect(decodeRoomCommand({ type: 'chat', text: 'x'.repeat(MAX_CHAT_LENGTH) })).toMatchObject({ ok: true });
    expect(decodeRoomCommand({ type: 'kick', sid: 7 })).toEqual({ ok: true, value: { type: 'kick', sid: 7 } });
    expect(decodeRoomCommand({ type: 'mute_all', muted: true, ref: 4 })).toEqual({ ok: true, value: { type: 'mute_all', muted: true, ref: 4 } });
  });

  it('refuses messages that are not room commands (join, resume, leave, ping)', () => {
    for (const type of ['join', 'resume', 'leave', 'ping']) expect(decodeRoomCommand({ type, token: 't', lastSeq: 0 })).toMatchObject({ ok: false });
  });

  it.each([
    ['an empty chat text', { type: 'chat', text: '' }],
    ['a whitespace-only chat text', { type: 'chat', text: ' \n\t ' }],
    ['a chat text over 500 code units', { type: 'chat', text: 'x'.repeat(MAX_CHAT_LENGTH + 1) }],
    ['a ref of 65 characters', { type: 'raise_hand', raised: true, ref: 'x'.repeat(65) }],
    ['a null ref', { type: 'raise_hand', raised: true, ref: null }],
    ['a set_role to host', { type: 'set_role', sid: 3, role: 'host' }],
    ['a sid of 0', { type: 'mute', sid: 0, muted: true }],
    ['an unknown type', { type: 'launch' }],
    ['an array', [{ type: 'kick', sid: 1 }]],
    ['null', null],
  ])('refuses %s, as decodeClientMessage does', (_name, value) => {
    expect(decodeRoomCommand(value)).toMatchObject({ ok: false });
    expect(decodeClientMessage(JSON.stringify(value))).toMatchObject({ ok: false });
  });
});
