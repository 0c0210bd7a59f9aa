import { decodeClientMessage, MAX_CHAT_LENGTH } from '@voiceroom/protocol';
import { parseLogEntry } from './log-events';

describe('log entries', () => {
  const join = (name: string) =>
    JSON.stringify({
      t: 'join',
      inc: 'i',
      n: 1,
      req: 'r',
      room: 'r1',
      userId: 'u1',
      role: 'speaker',
      name,
      settings: { capacity: 5, seats: 1 },
      graceMs: 1000,
    });

  it('take a display name of up to 64 code points (64 emoji are 128 UTF-16 code units), not more', () => {
    expect(parseLogEntry(join('😀'.repeat(64)))).toMatchObject({ t: 'join', name: '😀'.repeat(64) });
    expect(parseLogEntry(join('a'.repeat(64)))).toMatchObject({ t: 'join' });
    expect(parseLogEntry(join('😀'.repeat(65)))).toBeUndefined();
    expect(parseLogEntry(join('a'.repeat(65)))).toBeUndefined();
  });
});

describe('command entries', () => {
  const cmd = (command: unknown) => JSON.stringify({ t: 'cmd', inc: 'i', n: 1, req: 'r', room: 'r1', by: 3, cmd: command });

  it('take a command the gateway accepts, keeping only its fields', () => {
    expect(parseLogEntry(cmd({ type: 'chat', text: 'hello' }))).toEqual({
      t: 'cmd',
      inc: 'i',
      n: 1,
      req: 'r',
      room: 'r1',
      by: 3,
      cmd: { type: 'chat', text: 'hello' },
    });
    expect(parseLogEntry(cmd({ type: 'kick', sid: 9, pad: 'x' }))).toEqual({
      t: 'cmd',
      inc: 'i',
      n: 1,
      req: 'r',
      room: 'r1',
      by: 3,
      cmd: { type: 'kick', sid: 9 },
    });
  });

  // Each is refused at the edge (decodeClientMessage, close 4400); the log refuses the same.
  it.each([
    ['an empty chat text', { type: 'chat', text: '' }],
    ['a whitespace-only chat text', { type: 'chat', text: '   ' }],
    ['a chat text over 500 code units', { type: 'chat', text: 'x'.repeat(MAX_CHAT_LENGTH + 1) }],
    ['a ref of 65 characters', { type: 'raise_hand', raised: true, ref: 'x'.repeat(65) }],
    ['a sid over 32 bits', { type: 'kick', sid: 2 ** 32 }],
    ['an unknown type', { type: 'launch' }],
  ])('refuse %s, as the gateway does', (_name, command) => {
    expect(decodeClientMessage(JSON.stringify(command))).toMatchObject({ ok: false });
    expect(parseLogEntry(cmd(command))).toBeUndefined();
  });
});
