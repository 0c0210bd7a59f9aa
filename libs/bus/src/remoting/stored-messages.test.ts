import { forEachStoredMessage, type StoredMessage } from './stored-messages';

/** One message in the broker's store format (what a PULL_MESSAGE answer carries). */
function stored(options: { offset: number; born: number; body: string; v2?: boolean; v6?: boolean; compressed?: boolean }): Buffer {
  const body = Buffer.from(options.body);
  const topic = Buffer.from('voiceroom-voice');
  const properties = Buffer.from('vr_origin\u0001gw-1\u0002');
  const host = options.v6 ? 20 : 8;
  const sysFlag = (options.compressed ? 1 : 0) | (options.v6 ? (1 << 4) | (1 << 5) : 0);
  const size = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + host + 8 + host + 4 + 8 + 4 + body.length + (options.v2 ? 2 : 1) + topic.length + 2 + properties.length;
  const b = Buffer.alloc(size);
  let o = b.writeInt32BE(size, 0);
  o = b.writeInt32BE(options.v2 ? 0xdaa320ab | 0 : 0xdaa320a7 | 0, o);
  o = b.writeInt32BE(0, o); // body CRC
  o = b.writeInt32BE(0, o); // queue id
  o = b.writeInt32BE(0, o); // flag
  o = b.writeBigInt64BE(BigInt(options.offset), o);
  o = b.writeBigInt64BE(123456n, o); // physical offset
  o = b.writeInt32BE(sysFlag, o);
  o = b.writeBigInt64BE(BigInt(options.born), o);
  o += host; // born host
  o = b.writeBigInt64BE(BigInt(options.born + 1), o);
  o += host; // store host
  o = b.writeInt32BE(0, o); // reconsume times
  o = b.writeBigInt64BE(0n, o); // prepared transaction offset
  o = b.writeInt32BE(body.length, o);
  o += body.copy(b, o);
  o = options.v2 ? b.writeInt16BE(topic.length, o) : b.writeInt8(topic.length, o);
  o += topic.copy(b, o);
  o = b.writeInt16BE(properties.length, o);
  properties.copy(b, o);
  return b;
}

describe('stored messages (pull answers)', () => {
  it('reads offset, born time and body of back-to-back messages in every layout', () => {
    const buffer = Buffer.concat([
      stored({ offset: 7, born: 1_700_000_000_000, body: 'first' }),
      stored({ offset: 8, born: 1_700_000_000_001, body: 'second', v2: true }),
      stored({ offset: 9, born: 1_700_000_000_002, body: 'third', v6: true }),
    ]);
    const seen: StoredMessage[] = [];
    expect(forEachStoredMessage(buffer, (m) => seen.push(m))).toBe(true);
    expect(seen.map((m) => [m.queueOffset, m.bornTimestamp, m.body.toString()])).toEqual([
      [7, 1_700_000_000_000, 'first'],
      [8, 1_700_000_000_001, 'second'],
      [9, 1_700_000_000_002, 'third'],
    ]);
  });

  it('flags compressed bodies and reports a truncated buffer after the messages before it', () => {
    const whole = Buffer.concat([stored({ offset: 1, born: 1, body: 'kept' }), stored({ offset: 2, born: 2, body: 'zipped', compressed: true })]);
    const seen: [number, boolean][] = [];
    expect(forEachStoredMessage(whole, (m) => seen.push([m.queueOffset, m.compressed]))).toBe(true);
    expect(seen).toEqual([
      [1, false],
      [2, true],
    ]);
    const truncated = Buffer.concat([stored({ offset: 1, born: 1, body: 'kept' }), stored({ offset: 2, born: 2, body: 'cut' }).subarray(0, 30)]);
    const before: string[] = [];
    expect(forEachStoredMessage(truncated, (m) => before.push(m.body.toString()))).toBe(false);
    expect(before).toEqual(['kept']);
    expect(forEachStoredMessage(Buffer.from('not a message at all'), () => undefined)).toBe(false);
  });
});
