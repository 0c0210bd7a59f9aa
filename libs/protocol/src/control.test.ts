import { decodeClientMessage, MAX_CONTROL_MESSAGE_BYTES } from './control';

describe('client control messages', () => {
  it('accepts join and ping', () => {
    expect(decodeClientMessage('{"type":"join","token":"abc"}')).toEqual({ ok: true, value: { type: 'join', token: 'abc' } });
    expect(decodeClientMessage('{"type":"ping","t":5}')).toEqual({ ok: true, value: { type: 'ping', t: 5 } });
  });

  it.each([
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
