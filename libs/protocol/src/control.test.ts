import { decodeClientMessage, MAX_CONTROL_MESSAGE_BYTES } from './control';

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
