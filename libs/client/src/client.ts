import {
  checkServerVoiceFrame,
  CloseCode,
  readLevel,
  readSequence,
  readSpeakerId,
  readTimestamp,
  SERVER_VOICE_HEADER_BYTES,
  VoiceDecodeResult,
  CLIENT_VOICE_HEADER_BYTES,
  OPUS_MAX_PACKET_BYTES,
  writeClientVoiceFrame,
  type ErrorMessage,
  type JoinedMessage,
  type MemberInfo,
  type ServerMessage,
  type SpeakerId,
} from '@voiceroom/protocol';
import { Emitter } from './emitter';

/** The part of the WebSocket API the client uses: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketFactory = new (url: string) => WebSocketLike;

/** A received voice frame. `payload` is a view valid only during the listener call. */
export interface VoiceFrame {
  speaker: SpeakerId;
  sequence: number;
  timestamp: number;
  level: number;
  payload: Uint8Array;
}

export interface ClientEvents {
  voice: (frame: VoiceFrame) => void;
  member_joined: (member: MemberInfo) => void;
  member_left: (member: MemberInfo | { userId: string; sid: SpeakerId }) => void;
  error: (error: ErrorMessage) => void;
  close: (info: { code: number; reason: string; description: string }) => void;
}

/** What each close code means for a person. */
export function describeCloseCode(code: number): string {
  switch (code) {
    case CloseCode.Normal:
      return 'disconnected';
    case CloseCode.MessageTooBig:
      return 'a message was too large for the server';
    case CloseCode.InternalError:
      return 'the server had an internal error';
    case CloseCode.ProtocolError:
      return 'the client broke the protocol';
    case CloseCode.TokenInvalid:
      return 'the join token is not valid';
    case CloseCode.TokenExpired:
      return 'the join token has expired';
    case CloseCode.JoinTimeout:
      return 'the join took too long';
    case CloseCode.Abuse:
      return 'too many refused audio frames';
    case CloseCode.TooSlow:
      return 'the connection fell too far behind';
    case CloseCode.Unavailable:
      return 'the server is unavailable or restarting; reconnect';
    default:
      return `connection closed (${code})`;
  }
}

export class VoiceRoomError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`${describeCloseCode(code)}${reason ? `: ${reason}` : ''}`);
    this.name = 'VoiceRoomError';
  }
}

export interface ClientOptions {
  /** Defaults to globalThis.WebSocket (browsers, Node 22+). Pass `ws` in Node 20. */
  WebSocket?: WebSocketFactory;
}

/**
 * One connection to a gateway, joined to one room. (Reconnect and resume come with the
 * roster work; this is the protocol core used by the page, the tests and the load generator.)
 */
export class VoiceRoomClient extends Emitter<ClientEvents> {
  readonly members = new Map<SpeakerId, MemberInfo>();
  self: MemberInfo | undefined;
  joined: JoinedMessage | undefined;
  private socket: WebSocketLike | undefined;
  private readonly sendBuffer = new Uint8Array(CLIENT_VOICE_HEADER_BYTES + OPUS_MAX_PACKET_BYTES);
  private readonly frame: VoiceFrame = { speaker: 0 as SpeakerId, sequence: 0, timestamp: 0, level: 0, payload: new Uint8Array(0) };

  constructor(
    readonly url: string,
    private readonly options: ClientOptions = {},
  ) {
    super();
  }

  /** Opens the socket and joins with the token; resolves with the `joined` message. */
  connect(token: string): Promise<JoinedMessage> {
    const Ctor = this.options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketFactory }).WebSocket;
    if (!Ctor) throw new Error('no WebSocket implementation: pass options.WebSocket');
    const socket = new Ctor(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    return new Promise((resolve, reject) => {
      let settled = false;
      socket.onopen = () => socket.send(JSON.stringify({ type: 'join', token }));
      socket.onmessage = (event) => {
        const data = event.data;
        if (typeof data === 'string') {
          let message: ServerMessage;
          try {
            message = JSON.parse(data) as ServerMessage;
          } catch {
            return; // not ours to fail on: ignore what cannot be read
          }
          if (message.type === 'joined' && !settled) {
            settled = true;
            this.onJoined(message);
            resolve(message);
            return;
          }
          this.onControl(message);
        } else if (data instanceof ArrayBuffer) {
          this.onBinary(new Uint8Array(data));
        } else if (ArrayBuffer.isView(data)) {
          this.onBinary(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        }
      };
      socket.onerror = () => {
        /* the close event follows with the code */
      };
      socket.onclose = (event) => {
        const info = { code: event.code, reason: String(event.reason ?? ''), description: describeCloseCode(event.code) };
        if (!settled) {
          settled = true;
          reject(new VoiceRoomError(event.code, info.reason));
        }
        this.emit('close', info);
      };
    });
  }

  private onJoined(message: JoinedMessage): void {
    this.joined = message;
    this.self = message.self;
    this.members.clear();
    for (const member of message.members) this.members.set(member.sid, member);
  }

  private onControl(message: ServerMessage): void {
    switch (message.type) {
      case 'member_joined':
        this.members.set(message.member.sid, message.member);
        this.emit('member_joined', message.member);
        return;
      case 'member_left': {
        const member = this.members.get(message.sid) ?? { userId: message.userId, sid: message.sid };
        this.members.delete(message.sid);
        this.emit('member_left', member);
        return;
      }
      case 'error':
        this.emit('error', message);
        return;
      default:
        return;
    }
  }

  private onBinary(bytes: Uint8Array): void {
    if (checkServerVoiceFrame(bytes, OPUS_MAX_PACKET_BYTES) !== VoiceDecodeResult.Ok) return;
    const frame = this.frame;
    frame.speaker = readSpeakerId(bytes);
    frame.sequence = readSequence(bytes);
    frame.timestamp = readTimestamp(bytes);
    frame.level = readLevel(bytes);
    frame.payload = bytes.subarray(SERVER_VOICE_HEADER_BYTES);
    this.emit('voice', frame);
  }

  /** Sends one encoded Opus packet. `timestamp` is ms (mod 2^32), `level` 0 (loud) .. 127 (silent). */
  sendVoice(sequence: number, timestamp: number, level: number, payload: Uint8Array): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) return;
    const length = writeClientVoiceFrame(this.sendBuffer, 0, sequence & 0xffff, timestamp >>> 0, level, payload);
    socket.send(this.sendBuffer.subarray(0, length));
  }

  /** Sends raw bytes (tests of the server's validation). */
  sendRaw(data: string | Uint8Array): void {
    this.socket?.send(data);
  }

  close(code: number = CloseCode.Normal, reason = ''): void {
    this.socket?.close(code, reason);
  }
}
