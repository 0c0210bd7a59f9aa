import { BatchWriter, forEachEntry, readBatchHeader } from './batch-codec';
import type { NodeId, RoomId } from '@voiceroom/protocol';

const origin = 'gw-1' as NodeId;
const room = (id: string) => id as RoomId;

describe('batch codec', () => {
  it('round-trips entries with rooms, bytes, origin and birth time', () => {
    const writer = new BatchWriter(origin, 4096);
    expect(writer.append(room('a'), Buffer.from('first'), 1000)).toBe(true);
    expect(writer.append(room('room-b'), Buffer.from('second'), 1005)).toBe(true);
    const body = writer.take();
    const header = readBatchHeader(body);
    expect(header).toMatchObject({ origin, birth: 1000, count: 2 });
    const seen: string[] = [];
    expect(forEachEntry(body, header!, (r, bytes) => seen.push(`${r}=${bytes.toString()}`))).toBe(true);
    expect(seen).toEqual(['a=first', 'room-b=second']);
    expect(writer.size).toBe(0);
  });

  it('refuses an entry that does not fit and keeps what it has', () => {
    const writer = new BatchWriter(origin, 64);
    expect(writer.append(room('a'), Buffer.alloc(30), 1)).toBe(true);
    expect(writer.append(room('a'), Buffer.alloc(30), 1)).toBe(false);
    expect(writer.size).toBe(1);
  });

  it('rejects foreign, truncated and corrupted bodies without throwing', () => {
    expect(readBatchHeader(Buffer.from('hello world, not a batch'))).toBeUndefined();
    expect(readBatchHeader(Buffer.alloc(3))).toBeUndefined();
    const writer = new BatchWriter(origin, 4096);
    writer.append(room('a'), Buffer.from('payload'), 1);
    const body = writer.take();
    const truncated = body.subarray(0, body.length - 3);
    const header = readBatchHeader(truncated)!;
    expect(forEachEntry(truncated, header, () => undefined)).toBe(false);
    const inflated = Buffer.from(body);
    inflated.writeUInt16BE(9, header.offset - 2); // claims 9 entries, has 1
    expect(forEachEntry(inflated, readBatchHeader(inflated)!, () => undefined)).toBe(false);
  });
});
