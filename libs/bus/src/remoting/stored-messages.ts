/**
 * The body of a PULL_MESSAGE response: messages back to back in the broker's store format
 * (MessageDecoder in RocketMQ). We read only what the voice lane uses: queue offset, born
 * timestamp and body. Layout (big-endian), magic V1 (1-byte topic length) or V2 (2 bytes):
 *   i32 totalSize | i32 magic | i32 bodyCRC | i32 queueId | i32 flag | i64 queueOffset |
 *   i64 physicalOffset | i32 sysFlag | i64 bornTimestamp | bornHost (4|16 + 4) |
 *   i64 storeTimestamp | storeHost (4|16 + 4) | i32 reconsumeTimes | i64 preparedTxOffset |
 *   i32 bodyLength | body | topic length (u8|u16) | topic | i16 propertiesLength | properties
 */

const MAGIC_V1 = 0xdaa320a7 | 0;
const MAGIC_V2 = 0xdaa320ab | 0;
const FLAG_COMPRESSED = 0x1;
const FLAG_BORNHOST_V6 = 0x1 << 4;
const FLAG_STOREHOST_V6 = 0x1 << 5;

export interface StoredMessage {
  queueOffset: number;
  bornTimestamp: number;
  /** A view into the response body. */
  body: Buffer;
  /** The body is zlib-compressed (a producer did it; ours never do): readers treat it as unreadable. */
  compressed: boolean;
}

/**
 * Calls `visit` for each message; returns false when the buffer is malformed (messages before
 * the bad one were visited).
 */
export function forEachStoredMessage(buffer: Buffer, visit: (message: StoredMessage) => void): boolean {
  let offset = 0;
  while (offset < buffer.length) {
    if (buffer.length - offset < 4) return false;
    const totalSize = buffer.readInt32BE(offset);
    if (totalSize <= 0 || offset + totalSize > buffer.length) return false;
    const magic = buffer.readInt32BE(offset + 4);
    if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return false;
    const queueOffset = Number(buffer.readBigInt64BE(offset + 20));
    const sysFlag = buffer.readInt32BE(offset + 36);
    const bornTimestamp = Number(buffer.readBigInt64BE(offset + 40));
    let o = offset + 48 + ((sysFlag & FLAG_BORNHOST_V6) !== 0 ? 20 : 8);
    o += 8 + ((sysFlag & FLAG_STOREHOST_V6) !== 0 ? 20 : 8); // store timestamp, store host
    o += 4 + 8; // reconsume times, prepared transaction offset
    const bodyLength = buffer.readInt32BE(o);
    o += 4;
    if (bodyLength < 0 || o + bodyLength > offset + totalSize) return false;
    visit({ queueOffset, bornTimestamp, body: buffer.subarray(o, o + bodyLength), compressed: (sysFlag & FLAG_COMPRESSED) !== 0 });
    offset += totalSize;
  }
  return true;
}
