import { parseLogEntry } from './log-events';

describe('log entries', () => {
  const join = (name: string) =>
    JSON.stringify({ t: 'join', inc: 'i', n: 1, req: 'r', room: 'r1', userId: 'u1', role: 'speaker', name, settings: { capacity: 5, seats: 1 }, graceMs: 1000 });

  it('take a display name of up to 64 code points (64 emoji are 128 UTF-16 code units), not more', () => {
    expect(parseLogEntry(join('😀'.repeat(64)))).toMatchObject({ t: 'join', name: '😀'.repeat(64) });
    expect(parseLogEntry(join('a'.repeat(64)))).toMatchObject({ t: 'join' });
    expect(parseLogEntry(join('😀'.repeat(65)))).toBeUndefined();
    expect(parseLogEntry(join('a'.repeat(65)))).toBeUndefined();
  });
});
