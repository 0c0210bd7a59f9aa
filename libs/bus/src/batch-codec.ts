/**
 * The body of one bus message: a batch of entries (room + bytes) from one origin node.
 * Layout (big-endian), documented in docs/architecture.md:
 *   u8 version (1) | u8 origin length | origin (latin1) | f64 birth ms (epoch) | u16 count |
 *   count × ( u8 room length | room (latin1) | u16 entry length | entry bytes )
 * Ids are ASCII by construction (libs/protocol ID_PATTERN), so latin1 is exact.
 */
import type { NodeId, RoomId } from '@voiceroom/protocol';
import { ID_MAX_LENGTH } from '@voiceroom/protocol';

export const BATCH_VERSION = 1;
export const MAX_ENTRY_BYTES = 0xffff;

/** Accumulates entries in one reusable buffer; `take()` copies the finished body out. */
export class BatchWriter {
  private readonly buffer: Buffer;
  private readonly headerBytes: number;
  private offset: number;
  private count = 0;
  /** Birth time (epoch ms) of the first entry, 0 when empty. */
  birth = 0;

  constructor(
    origin: NodeId,
    readonly capacity: number,
  ) {
    this.buffer = Buffer.allocUnsafe(capacity);
    this.buffer[0] = BATCH_VERSION;
    this.buffer[1] = origin.length;
    this.buffer.write(origin, 2, 'latin1');
    this.headerBytes = 2 + origin.length + 8 + 2;
    this.offset = this.headerBytes;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes an entry would add. */
  static entryBytes(room: RoomId, length: number): number {
    return 1 + room.length + 2 + length;
  }

  /** Appends an entry; returns false (and appends nothing) when it does not fit. */
  append(room: RoomId, bytes: Uint8Array, now: number): boolean {
    const needed = BatchWriter.entryBytes(room, bytes.length);
    if (this.offset + needed > this.capacity || this.count === 0xffff || bytes.length > MAX_ENTRY_BYTES) return false;
    if (this.count === 0) this.birth = now;
    const b = this.buffer;
    let o = this.offset;
    b[o++] = room.length;
    o += b.write(room, o, 'latin1');
    b.writeUInt16BE(bytes.length, o);
    o += 2;
    b.set(bytes, o);
    this.offset = o + bytes.length;
    this.count++;
    return true;
  }

  /** Returns a copy of the finished body and empties the writer. */
  take(): Buffer {
    const b = this.buffer;
    const countAt = this.headerBytes - 2;
    b.writeDoubleBE(this.birth, countAt - 8);
    b.writeUInt16BE(this.count, countAt);
    const body = Buffer.from(b.subarray(0, this.offset));
    this.clear();
    return body;
  }

  clear(): void {
    this.offset = this.headerBytes;
    this.count = 0;
    this.birth = 0;
  }
}

export interface BatchHeader {
  origin: NodeId;
  birth: number;
  count: number;
  /** Offset of the first entry. */
  offset: number;
}

/** Reads the header; undefined when the body is not a batch of this version. Never throws. */
export function readBatchHeader(body: Buffer): BatchHeader | undefined {
  if (body.length < 12 || body[0] !== BATCH_VERSION) return undefined;
  const originLength = body[1] as number;
  if (originLength === 0 || originLength > ID_MAX_LENGTH || body.length < 2 + originLength + 10) return undefined;
  const origin = body.toString('latin1', 2, 2 + originLength) as NodeId;
  const birth = body.readDoubleBE(2 + originLength);
  const count = body.readUInt16BE(2 + originLength + 8);
  if (!Number.isFinite(birth)) return undefined;
  return { origin, birth, count, offset: 2 + originLength + 10 };
}

/**
 * Calls `visit` for each entry; the bytes are views into `body`. Returns false if the body
 * is truncated or malformed (entries before the fault have been visited).
 */
export function forEachEntry(body: Buffer, header: BatchHeader, visit: (room: RoomId, bytes: Buffer) => void): boolean {
  let o = header.offset;
  for (let i = 0; i < header.count; i++) {
    if (o + 1 > body.length) return false;
    const roomLength = body[o++] as number;
    if (roomLength === 0 || o + roomLength + 2 > body.length) return false;
    const room = body.toString('latin1', o, o + roomLength) as RoomId;
    o += roomLength;
    const length = body.readUInt16BE(o);
    o += 2;
    if (o + length > body.length) return false;
    visit(room, body.subarray(o, o + length));
    o += length;
  }
  return o === body.length;
}
