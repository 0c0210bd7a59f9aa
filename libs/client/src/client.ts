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
  type ChatEventMessage,
  type ErrorMessage,
  type GoAwayMessage,
  type JoinedMessage,
  type MemberInfo,
  type MembersUpdatedMessage,
  type NoticeMessage,
  type RoomUpdatedMessage,
  type Ref,
  type ResumedMessage,
  type RoomCommand,
  type RoomEventMessage,
  type RoomId,
  type ServerMessage,
  type SpeakerId,
  type SpeakerLevel,
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
  member_joined: (member: MemberInfo, replaces: SpeakerId | undefined) => void;
  member_left: (member: MemberInfo | { userId: string; sid: SpeakerId }, reason: string) => void;
  members_updated: (members: MemberInfo[], message: MembersUpdatedMessage) => void;
  chat: (message: ChatEventMessage) => void;
  /** A notice from the room's administrators. */
  notice: (message: NoticeMessage) => void;
  /** The room's capacity or seats changed (also applied to `joined.settings`). */
  room_updated: (message: RoomUpdatedMessage) => void;
  speakers: (speakers: SpeakerLevel[]) => void;
  /** The roster was replaced as a whole (joined, or resumed without replay). */
  roster: (members: Map<SpeakerId, MemberInfo>) => void;
  /** Every room event, in seq order, after the client applied it. */
  room_event: (message: RoomEventMessage) => void;
  goaway: (message: GoAwayMessage) => void;
  error: (error: ErrorMessage) => void;
  close: (info: { code: number; reason: string; description: string }) => void;
  /** Connection state changes (with `reconnect`, a drop is `reconnecting`, not the end). */
  state: (state: ConnectionState, info: StateInfo) => void;
}

/** What each close code means for a person. */
export function describeCloseCode(code: number): string {
  switch (code) {
    case CloseCode.Normal:
      return 'disconnected';
    case 1001:
      return 'the server is going away; reconnect';
    case 1006:
      return 'the connection was lost';
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
    case CloseCode.Kicked:
      return 'a host or an administrator removed you from the room';
    case CloseCode.RoomClosed:
      return 'the room is closed';
    case CloseCode.Banned:
      return 'you are banned from this room';
    case CloseCode.ResumeFailed:
      return 'your place in the room is gone; join again';
    case CloseCode.RoomFull:
      return 'the room is full';
    case CloseCode.Replaced:
      return 'you joined this room from another connection';
    case CloseCode.TooManyConnections:
      return 'too many connections';
    case CloseCode.Reconnect:
      return 'the server asked to reconnect (resume)';
    default:
      return `connection closed (${code})`;
  }
}

/** Attempt n waits min(max, min × 2^(n−1)), times a random 0.5–1 (jitter). */
function backoffMs(r: ReconnectOptions, attempt: number): number {
  const base = Math.min(r.maxDelayMs ?? 5000, (r.minDelayMs ?? 250) * 2 ** Math.min(attempt - 1, 20));
  return Math.round(base * (0.5 + Math.random() / 2));
}

function closeInfo(error: unknown): StateInfo & { code?: number } {
  if (error instanceof VoiceRoomError) return { code: error.code, reason: error.reason, description: describeCloseCode(error.code) };
  return { description: error instanceof Error ? error.message : String(error) };
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

export interface ReconnectOptions {
  /**
   * Gateways to use (default: the url in use). The first attempt after a drop goes back to the
   * same one, unless it is draining (goaway); later attempts take the next in the list, in turn.
   */
  urls?: string[];
  /** First retry delay (ms; default 250); doubles per failed attempt up to `maxDelayMs` (default 5000), with jitter. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /**
   * When the place in the room is gone (4404, or the resume grace passed), join again with a new
   * token from here. Without it the client stops (state `closed`).
   */
  rejoin?: () => Promise<string>;
}

export interface ClientOptions {
  /** Defaults to globalThis.WebSocket (browsers, Node 22+). Pass `ws` in Node 20. */
  WebSocket?: WebSocketFactory;
  /**
   * Reconnect on its own after a connection drops with a resumable code (RESUMABLE_CLOSE_CODES,
   * `goaway`): resume on the same or another gateway with backoff, keeping sid, role, mute and
   * the event order. Off by default.
   */
  reconnect?: boolean | ReconnectOptions;
}

/** `connecting`: first join under way; `live`: in the room; `reconnecting`: resuming after a drop; `closed`: out for good. */
export type ConnectionState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface StateInfo {
  /** The close that caused it, when one did. */
  code?: number;
  reason?: string;
  /** In words, for people. */
  description?: string;
  /** Reconnecting: attempt number (1 = first) and when it starts (ms from now). */
  attempt?: number;
  retryInMs?: number;
}

/** Close codes after which the member keeps its place and may resume (docs/protocol.md). */
export const RESUMABLE_CLOSE_CODES: ReadonlySet<number> = new Set([
  1001,
  1006,
  CloseCode.InternalError,
  CloseCode.TooSlow,
  CloseCode.Unavailable,
  CloseCode.Reconnect,
]);

/**
 * One member's connection to the cluster, joined to one room: roster, room events in `seq`
 * order, voice, commands, and resume (on the same or another node) after a dropped connection.
 * With the `reconnect` option it resumes on its own after a drop (see ReconnectOptions); without
 * it, `resume()` is the building block.
 */
export class VoiceRoomClient extends Emitter<ClientEvents> {
  /** Everyone else in the room. */
  readonly members = new Map<SpeakerId, MemberInfo>();
  self: MemberInfo | undefined;
  joined: JoinedMessage | undefined;
  resumed: ResumedMessage | undefined;
  room: RoomId | undefined;
  /** Seq of the last room event applied. */
  seq = 0;
  resumeToken: string | undefined;
  speakers: SpeakerLevel[] = [];
  private socket: WebSocketLike | undefined;
  private readonly sendBuffer = new Uint8Array(CLIENT_VOICE_HEADER_BYTES + OPUS_MAX_PACKET_BYTES);
  private readonly frame: VoiceFrame = { speaker: 0 as SpeakerId, sequence: 0, timestamp: 0, level: 0, payload: new Uint8Array(0) };
  private refs = 0;
  /** Connection state (see ConnectionState); changes are emitted as `state`. */
  state: ConnectionState = 'idle';
  /** Set by leave() or close(): no reconnecting after that. */
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private droppedAt = 0;
  private goawaySeen = false;

  constructor(
    public url: string,
    private readonly options: ClientOptions = {},
  ) {
    super();
  }

  /** Opens the socket and joins with the token; resolves with the `joined` message. */
  connect(token: string): Promise<JoinedMessage> {
    this.stopped = false;
    return this.join(token);
  }

  private join(token: string): Promise<JoinedMessage> {
    if (this.state !== 'reconnecting') this.setState('connecting', {});
    const joined = this.open(this.url, { type: 'join', token }, 'joined') as Promise<JoinedMessage>;
    joined.then(
      () => {
        this.attempts = 0;
        this.setState('live', {});
      },
      (error: unknown) => {
        if (this.state === 'connecting') this.setState('closed', closeInfo(error));
      },
    );
    return joined;
  }

  /**
   * Reconnects (to `url`, any node) and resumes the membership: same sid, role and mute state;
   * missed room events are replayed before anything newer. Rejects with VoiceRoomError 4404 when
   * the place is gone (then join again).
   */
  resume(url: string = this.url): Promise<ResumedMessage> {
    this.stopped = false;
    clearTimeout(this.reconnectTimer);
    return this.resumeSocket(url).then((message) => {
      this.attempts = 0;
      this.setState('live', {});
      return message;
    });
  }

  private resumeSocket(url: string): Promise<ResumedMessage> {
    if (!this.resumeToken) return Promise.reject(new Error('nothing to resume: not joined yet'));
    this.url = url;
    return this.open(url, { type: 'resume', token: this.resumeToken, lastSeq: this.seq }, 'resumed') as Promise<ResumedMessage>;
  }

  private open(url: string, first: object, expect: 'joined' | 'resumed'): Promise<JoinedMessage | ResumedMessage> {
    const Ctor = this.options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketFactory }).WebSocket;
    if (!Ctor) return Promise.reject(new Error('no WebSocket implementation: pass options.WebSocket'));
    const previous = this.socket;
    if (previous) {
      previous.onclose = null;
      previous.onmessage = null;
      // Not 1000: that would mean leaving the room, racing the resume on the new socket.
      if (previous.readyState <= 1) previous.close(4000, 'reconnecting');
    }
    const socket = new Ctor(url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    return new Promise((resolve, reject) => {
      let settled = false;
      let catchUp: (() => boolean) | undefined;
      socket.onopen = () => socket.send(JSON.stringify(first));
      socket.onmessage = (event) => {
        const data = event.data;
        if (typeof data === 'string') {
          let message: ServerMessage;
          try {
            message = JSON.parse(data) as ServerMessage;
          } catch {
            return; // not ours to fail on: ignore what cannot be read
          }
          if (message.type === expect && !settled) {
            settled = true;
            if (message.type === 'joined') {
              this.onJoined(message);
              resolve(message);
            } else if (message.type === 'resumed') {
              this.onResumed(message);
              // Without a roster, the missed events follow: resolve once they are applied.
              if (this.seq >= message.seq) resolve(message);
              else catchUp = () => this.seq >= message.seq && (resolve(message), true);
            }
            return;
          }
          this.onControl(message);
          if (catchUp?.()) catchUp = undefined;
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
        if (!settled || catchUp) {
          settled = true;
          catchUp = undefined;
          reject(new VoiceRoomError(event.code, info.reason));
        }
        this.emit('close', info);
        if (this.socket === socket) this.onSocketClosed(info);
      };
    });
  }

  // ---- automatic reconnection -------------------------------------------------------------------

  private setState(state: ConnectionState, info: StateInfo): void {
    if (this.state === state && state !== 'reconnecting') return;
    this.state = state;
    this.emit('state', state, info);
  }

  private reconnectOptions(): ReconnectOptions | undefined {
    const r = this.options.reconnect;
    return r === true ? {} : r || undefined;
  }

  /** The live socket closed: reconnect if allowed and the code says the place is kept. */
  private onSocketClosed(info: StateInfo & { code: number }): void {
    if (this.state !== 'live') return; // a failed attempt: its caller decides
    // 4000: this client dropped the socket itself (drop(), a replaced socket): the place is kept.
    if (this.stopped || !this.reconnectOptions() || !(RESUMABLE_CLOSE_CODES.has(info.code) || info.code === 4000)) {
      this.setState('closed', info);
      return;
    }
    this.attempts = 0;
    this.droppedAt = Date.now();
    this.scheduleReconnect(info);
  }

  private scheduleReconnect(info: StateInfo): void {
    const r = this.reconnectOptions() ?? {};
    const attempt = ++this.attempts;
    // A draining gateway asked to resume at once (goaway, 4504): no wait for the first attempt.
    const now = attempt === 1 && (this.goawaySeen || info.code === CloseCode.Reconnect);
    const delay = now ? 0 : backoffMs(r, attempt);
    const graceMs = (this.resumed ?? this.joined)?.resumeGraceMs ?? 30_000;
    if (Date.now() + delay - this.droppedAt > graceMs) {
      void this.rejoinOrClose({ ...info, description: 'could not resume within the grace period' });
      return;
    }
    this.setState('reconnecting', { ...info, attempt, retryInMs: delay });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.tryResume(attempt), delay);
  }

  private nextUrl(attempt: number): string {
    const urls = this.reconnectOptions()?.urls;
    if (!urls || urls.length === 0) return this.url;
    const current = urls.indexOf(this.url);
    // The first attempt goes back to the same gateway unless it is draining; then round the list.
    const step = attempt === 1 && !this.goawaySeen ? 0 : 1;
    return urls[(Math.max(current, 0) + step) % urls.length] as string;
  }

  private async tryResume(attempt: number): Promise<void> {
    if (this.stopped || this.state !== 'reconnecting') return;
    try {
      await this.resumeSocket(this.nextUrl(attempt));
      if (this.stopped) {
        // leave() or close() came while the resume was under way: carry it out now.
        this.socket?.send(JSON.stringify({ type: 'leave' }));
        this.socket?.close(CloseCode.Normal, '');
        return;
      }
      this.attempts = 0;
      this.goawaySeen = false;
      this.setState('live', {});
    } catch (error) {
      if (this.stopped) return;
      const info = closeInfo(error);
      const code = info.code;
      // The place is kept after these too (docs/protocol.md §11): try again after a backoff.
      if (code !== undefined && (RESUMABLE_CLOSE_CODES.has(code) || code === CloseCode.JoinTimeout || code === CloseCode.TooManyConnections))
        this.scheduleReconnect(info);
      else if (code === CloseCode.ResumeFailed || code === CloseCode.TokenInvalid) await this.rejoinOrClose(info);
      else this.setState('closed', info);
    }
  }

  /** The place is gone: join again with a fresh token when the caller gave a way to get one. */
  private async rejoinOrClose(info: StateInfo): Promise<void> {
    const rejoin = this.reconnectOptions()?.rejoin;
    if (!rejoin || this.stopped) {
      this.setState('closed', info);
      return;
    }
    this.setState('reconnecting', { ...info, attempt: ++this.attempts, retryInMs: 0 });
    try {
      const token = await rejoin();
      if (this.stopped) {
        this.setState('closed', { description: 'closed by the application' });
        return;
      }
      this.goawaySeen = false;
      await this.join(token);
      if (this.stopped) {
        this.socket?.send(JSON.stringify({ type: 'leave' }));
        this.socket?.close(CloseCode.Normal, '');
      }
    } catch (error) {
      if (this.stopped) return;
      const next = closeInfo(error);
      if (next.code !== undefined && RESUMABLE_CLOSE_CODES.has(next.code)) {
        this.droppedAt = Date.now(); // a new join: the grace no longer applies, keep trying
        this.scheduleReconnectJoin(next);
      } else {
        this.setState('closed', next);
      }
    }
  }

  private scheduleReconnectJoin(info: StateInfo): void {
    const attempt = ++this.attempts;
    const delay = backoffMs(this.reconnectOptions() ?? {}, attempt);
    this.setState('reconnecting', { ...info, attempt, retryInMs: delay });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped) void this.rejoinOrClose(info).catch(() => undefined);
    }, delay);
  }

  private onJoined(message: JoinedMessage): void {
    this.joined = message;
    this.resumed = undefined; // a new membership: its grace period and settings come from `joined`
    this.room = message.room;
    this.self = message.self;
    this.seq = message.seq;
    this.resumeToken = message.resumeToken;
    this.speakers = message.speakers;
    this.members.clear();
    for (const member of message.members) this.members.set(member.sid, member);
    this.emit('roster', this.members);
  }

  private onResumed(message: ResumedMessage): void {
    this.resumed = message;
    this.self = message.self;
    this.resumeToken = message.resumeToken;
    this.speakers = message.speakers;
    if (message.members) {
      this.seq = message.seq;
      this.members.clear();
      for (const member of message.members) this.members.set(member.sid, member);
      this.emit('roster', this.members);
    }
    // Otherwise the missed events follow, each with its seq.
  }

  private onControl(message: ServerMessage): void {
    switch (message.type) {
      case 'member_joined':
      case 'member_left':
      case 'members_updated':
      case 'chat':
      case 'notice':
      case 'room_updated':
        if (message.seq <= this.seq) return; // already applied (replayed twice)
        this.seq = message.seq;
        this.onRoomEvent(message);
        this.emit('room_event', message);
        return;
      case 'speakers':
        this.speakers = message.speakers;
        this.emit('speakers', message.speakers);
        return;
      case 'goaway':
        this.goawaySeen = true;
        this.emit('goaway', message);
        return;
      case 'error':
        this.emit('error', message);
        return;
      default:
        return;
    }
  }

  private onRoomEvent(message: RoomEventMessage): void {
    switch (message.type) {
      case 'member_joined':
        if (message.replaces !== undefined) this.members.delete(message.replaces);
        if (message.member.sid === this.self?.sid) return;
        this.members.set(message.member.sid, message.member);
        this.emit('member_joined', message.member, message.replaces);
        return;
      case 'member_left': {
        const member = this.members.get(message.sid) ?? { userId: message.userId, sid: message.sid };
        this.members.delete(message.sid);
        this.emit('member_left', member, message.reason);
        return;
      }
      case 'members_updated':
        for (const member of message.members) {
          if (member.sid === this.self?.sid) this.self = member;
          else this.members.set(member.sid, member);
        }
        this.emit('members_updated', message.members, message);
        return;
      case 'chat':
        this.emit('chat', message);
        return;
      case 'notice':
        this.emit('notice', message);
        return;
      case 'room_updated':
        if (this.joined) this.joined.settings = message.settings;
        this.emit('room_updated', message);
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

  /** The current socket (tools that write pre-framed bytes, such as the benchmark); undefined before connect. */
  get transport(): WebSocketLike | undefined {
    return this.socket;
  }

  /** Sends one encoded Opus packet. `timestamp` is ms (mod 2^32), `level` 0 (loud) .. 127 (silent). */
  sendVoice(sequence: number, timestamp: number, level: number, payload: Uint8Array): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) return;
    const length = writeClientVoiceFrame(this.sendBuffer, 0, sequence & 0xffff, timestamp >>> 0, level, payload);
    socket.send(this.sendBuffer.subarray(0, length));
  }

  /** Sends a room command; returns its `ref` (echoed in an `error` if it is refused). */
  command(command: RoomCommand): Ref {
    const ref = command.ref ?? ++this.refs;
    const socket = this.socket;
    if (!socket || socket.readyState !== 1 || this.state !== 'live') {
      // Not in the room right now (connecting, reconnecting, closed): refused here, as the server would.
      this.emit('error', { type: 'error', code: 'UNAVAILABLE', message: 'not connected to the room right now', ref });
      return ref;
    }
    socket.send(JSON.stringify({ ...command, ref }));
    return ref;
  }

  raiseHand(raised = true): Ref {
    return this.command({ type: 'raise_hand', raised });
  }
  answerHand(sid: SpeakerId, accept: boolean): Ref {
    return this.command({ type: 'answer_hand', sid, accept });
  }
  setRole(sid: SpeakerId, role: 'speaker' | 'listener'): Ref {
    return this.command({ type: 'set_role', sid, role });
  }
  mute(sid: SpeakerId, muted = true): Ref {
    return this.command({ type: 'mute', sid, muted });
  }
  muteAll(muted = true): Ref {
    return this.command({ type: 'mute_all', muted });
  }
  kick(sid: SpeakerId): Ref {
    return this.command({ type: 'kick', sid });
  }
  chat(text: string): Ref {
    return this.command({ type: 'chat', text });
  }

  /** Leaves the room for good (no resume). */
  leave(): void {
    this.stop();
    const socket = this.socket;
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: 'leave' }));
  }

  /** Sends raw bytes (tests of the server's validation). */
  sendRaw(data: string | Uint8Array): void {
    this.socket?.send(data);
  }

  /** Closes the socket. 1000 (the default) leaves the room; other codes keep the place for a resume. */
  close(code: number = CloseCode.Normal, reason = ''): void {
    this.stop();
    this.socket?.close(code, reason);
  }

  /** No more reconnecting; the state becomes `closed` when the socket closes. */
  private stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    if (this.state === 'reconnecting') this.setState('closed', { description: 'closed by the application' });
  }

  /** Drops the connection without a close handshake, as a lost network would (tests; the place is kept). */
  drop(): void {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- it widens: WebSocketLike has no terminate (ws has)
    const socket = this.socket as (WebSocketLike & { terminate?: () => void }) | undefined;
    if (socket?.terminate) socket.terminate();
    else socket?.close(4000, 'dropped');
  }
}
