/**
 * RocketMQ's remoting protocol, the TCP protocol that every RocketMQ broker and proxy speaks
 * besides gRPC (the proxy's "remoting" port). Only what the voice lane needs: JSON headers.
 *
 * Frame (big-endian): u32 length (of everything after it) | u8 serialize type (0 = JSON) |
 * u24 header length | header (JSON) | body. The header is a RemotingCommand:
 * `{code, language, version, opaque, flag, remark?, extFields?}`; flag bit 0 marks a response,
 * bit 1 a one-way request. A response carries the request's `opaque`.
 */

export const RequestCode = {
  SEND_MESSAGE_V2: 310,
  PULL_MESSAGE: 11,
  GET_MAX_OFFSET: 30,
  GET_ROUTEINFO_BY_TOPIC: 105,
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

/** One request frame, ready to write. `extFields` values become strings as the protocol wants. */
export function encodeRequest(code: number, opaque: number, extFields: Record<string, string | number | boolean>, body?: Uint8Array): Buffer {
  const fields: Record<string, string> = {};
  for (const key of Object.keys(extFields)) fields[key] = String(extFields[key]);
  const header = Buffer.from(
    JSON.stringify({ code, language: 'OTHER', version: CLIENT_VERSION, opaque, flag: 0, extFields: fields, serializeTypeCurrentRPC: 'JSON' }),
    'utf8',
  );
  const bodyLength = body ? body.length : 0;
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + header.length + bodyLength);
  frame.writeUInt32BE(4 + header.length + bodyLength, 0);
  frame.writeUInt32BE(header.length & 0xffffff, 4); // serialize type 0 (JSON) in the top byte
  header.copy(frame, PREFIX_BYTES);
  if (body) frame.set(body, PREFIX_BYTES + header.length);
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
  if (serializeType !== 0) throw new RemotingProtocolError(`unsupported serialize type ${serializeType}`);
  if (4 + headerLength > frame.length) throw new RemotingProtocolError('header longer than the frame');
  const header = JSON.parse(frame.toString('utf8', 4, 4 + headerLength)) as {
    code?: number;
    opaque?: number;
    flag?: number;
    remark?: string | null;
    extFields?: Record<string, string> | null;
  };
  const bodyStart = 4 + headerLength;
  return {
    code: header.code ?? -1,
    opaque: header.opaque ?? -1,
    response: ((header.flag ?? 0) & FLAG_RESPONSE) !== 0,
    remark: header.remark ?? null,
    extFields: header.extFields ?? {},
    body: bodyStart < frame.length ? frame.subarray(bodyStart) : undefined,
  };
}

/**
 * Topic route bodies are fastjson output: maps with integer keys come unquoted
 * (`"brokerAddrs":{0:"host:port"}`), which JSON.parse refuses. Quote them first.
 */
export function parseLenientJson<T>(text: string): T {
  return JSON.parse(text.replace(/([{,])\s*(-?\d+)\s*:/g, '$1"$2":')) as T;
}
