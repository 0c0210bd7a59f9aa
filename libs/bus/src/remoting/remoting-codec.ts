/**
 * RocketMQ's remoting protocol, the TCP protocol that every RocketMQ broker speaks besides the
 * proxy's gRPC. Only what the voice lane needs.
 *
 * Frame (big-endian): u32 length (of everything after it) | u8 serialize type | u24 header
 * length | header | body. The header is a RemotingCommand `{code, language, version, opaque,
 * flag, remark, extFields}`; flag bit 0 marks a response, bit 1 a one-way request; a response
 * carries its request's `opaque` and the request's serialize type. We send the binary type
 * (ROCKETMQ, 1): the broker decodes it without a JSON parser, and so do we. We read JSON (0) too.
 *   binary header: i16 code | u8 language | i16 version | i32 opaque | i32 flag |
 *                  i32 remark length | remark | i32 fields length | (i16 key length | key | i32 value length | value)*
 */

export const RequestCode = {
  SEND_MESSAGE_V2: 310,
  PULL_MESSAGE: 11,
  GET_MAX_OFFSET: 30,
  GET_ROUTEINFO_BY_TOPIC: 105,
  /** A broker's subscription (consumer) groups, as JSON: `{ subscriptionGroupTable: { name: config } }`. */
  GET_ALL_SUBSCRIPTIONGROUP_CONFIG: 201,
} as const;

export const ResponseCode = {
  SUCCESS: 0,
  SYSTEM_ERROR: 1,
  SYSTEM_BUSY: 2,
  TOPIC_NOT_EXIST: 17,
  PULL_NOT_FOUND: 19,
  PULL_RETRY_IMMEDIATELY: 20,
  PULL_OFFSET_MOVED: 21,
} as const;

/** The client version we announce: RocketMQ 5.3.3's MQVersion.CURRENT_VERSION. */
export const CLIENT_VERSION = 479;
const FLAG_RESPONSE = 1;
const PREFIX_BYTES = 8;
/** Larger frames are refused as a protocol error (a pull response is a few MB at most). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export interface RemotingCommand {
  code: number;
  opaque: number;
  /** True for a response. */
  response: boolean;
  remark?: string | null;
  extFields: Record<string, string>;
  body: Buffer | undefined;
}

const SERIALIZE_JSON = 0;
const SERIALIZE_ROCKETMQ = 1;
/** LanguageCode.OTHER */
const LANGUAGE_OTHER = 7;

/** One request frame, ready to write, in the binary serialize type. Ext field keys and values are ASCII. */
export function encodeRequest(code: number, opaque: number, extFields: Record<string, string | number | boolean>, body?: Uint8Array): Buffer {
  const keys = Object.keys(extFields);
  const values: string[] = new Array<string>(keys.length);
  let fieldsBytes = 0;
  for (let i = 0; i < keys.length; i++) {
    const value = String(extFields[keys[i] as string]);
    values[i] = value;
    fieldsBytes += 2 + (keys[i] as string).length + 4 + Buffer.byteLength(value, 'utf8');
  }
  const headerBytes = 2 + 1 + 2 + 4 + 4 + 4 + 4 + fieldsBytes;
  const bodyBytes = body ? body.length : 0;
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + headerBytes + bodyBytes);
  frame.writeUInt32BE(4 + headerBytes + bodyBytes, 0);
  frame.writeUInt32BE(((SERIALIZE_ROCKETMQ << 24) | headerBytes) >>> 0, 4);
  let o = PREFIX_BYTES;
  o = frame.writeInt16BE(code, o);
  o = frame.writeUInt8(LANGUAGE_OTHER, o);
  o = frame.writeInt16BE(CLIENT_VERSION, o);
  o = frame.writeInt32BE(opaque, o);
  o = frame.writeInt32BE(0, o); // flag: a request
  o = frame.writeInt32BE(0, o); // no remark
  o = frame.writeInt32BE(fieldsBytes, o);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    o = frame.writeInt16BE(key.length, o);
    o += frame.write(key, o, 'latin1');
    const valueAt = o;
    o += 4;
    const written = frame.write(values[i] as string, o, 'utf8');
    frame.writeInt32BE(written, valueAt);
    o += written;
  }
  if (body) frame.set(body, o);
  return frame;
}

export class RemotingProtocolError extends Error {
  readonly code = 'REMOTING_PROTOCOL';
}

/**
 * Splits a byte stream into commands. Feed it every chunk the socket reads; it calls `onCommand`
 * for each whole frame (the body is a copy-free view that stays valid: chunks are not reused).
 */
export class FrameDecoder {
  private pending: Buffer | undefined;

  constructor(private readonly onCommand: (command: RemotingCommand) => void) {}

  push(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32BE(offset);
      if (length < 4 || length > MAX_FRAME_BYTES) throw new RemotingProtocolError(`bad frame length ${length}`);
      if (data.length - offset < 4 + length) break;
      this.onCommand(decodeFrame(data.subarray(offset + 4, offset + 4 + length)));
      offset += 4 + length;
    }
    if (offset < data.length) {
      data = data.subarray(offset);
      this.pending = data;
    }
  }
}

/** A frame without its u32 length prefix. */
function decodeFrame(frame: Buffer): RemotingCommand {
  const mark = frame.readUInt32BE(0);
  const serializeType = mark >>> 24;
  const headerLength = mark & 0xffffff;
  if (4 + headerLength > frame.length) throw new RemotingProtocolError('header longer than the frame');
  const bodyStart = 4 + headerLength;
  const body = bodyStart < frame.length ? frame.subarray(bodyStart) : undefined;
  if (serializeType === SERIALIZE_ROCKETMQ) return decodeBinaryHeader(frame, 4, bodyStart, body);
  if (serializeType !== SERIALIZE_JSON) throw new RemotingProtocolError(`unsupported serialize type ${serializeType}`);
  const header = JSON.parse(frame.toString('utf8', 4, bodyStart)) as {
    code?: number;
    opaque?: number;
    flag?: number;
    remark?: string | null;
    extFields?: Record<string, string> | null;
  };
  return {
    code: header.code ?? -1,
    opaque: header.opaque ?? -1,
    response: ((header.flag ?? 0) & FLAG_RESPONSE) !== 0,
    remark: header.remark ?? null,
    extFields: header.extFields ?? {},
    body,
  };
}

function decodeBinaryHeader(frame: Buffer, start: number, end: number, body: Buffer | undefined): RemotingCommand {
  if (end - start < 21) throw new RemotingProtocolError('binary header too short');
  const code = frame.readInt16BE(start);
  const opaque = frame.readInt32BE(start + 5);
  const flag = frame.readInt32BE(start + 9);
  let o = start + 13;
  const remarkLength = frame.readInt32BE(o);
  o += 4;
  if (remarkLength < 0 || o + remarkLength > end) throw new RemotingProtocolError('bad remark length');
  const remark = remarkLength > 0 ? frame.toString('utf8', o, o + remarkLength) : null;
  o += remarkLength;
  const fieldsLength = frame.readInt32BE(o);
  o += 4;
  const fieldsEnd = o + fieldsLength;
  if (fieldsLength < 0 || fieldsEnd > end) throw new RemotingProtocolError('bad ext fields length');
  const extFields: Record<string, string> = {};
  while (o < fieldsEnd) {
    const keyLength = frame.readInt16BE(o);
    o += 2;
    const key = frame.toString('utf8', o, o + keyLength);
    o += keyLength;
    const valueLength = frame.readInt32BE(o);
    o += 4;
    if (keyLength < 0 || valueLength < 0 || o + valueLength > fieldsEnd) throw new RemotingProtocolError('bad ext field');
    extFields[key] = frame.toString('utf8', o, o + valueLength);
    o += valueLength;
  }
  return { code, opaque, response: (flag & FLAG_RESPONSE) !== 0, remark, extFields, body };
}

/**
 * Topic route bodies are fastjson output: maps with integer keys come unquoted
 * (`"brokerAddrs":{0:"host:port"}`), which JSON.parse refuses. Quote them first.
 */
export function parseLenientJson<T>(text: string): T {
  return JSON.parse(text.replace(/([{,])\s*(-?\d+)\s*:/g, '$1"$2":')) as T;
}
