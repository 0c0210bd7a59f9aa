import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import {
  checkClientVoiceFrame,
  CloseCode,
  decodeClientMessage,
  describeVoiceDecodeResult,
  ErrorCode,
  MAX_CONTROL_MESSAGE_BYTES,
  VoiceDecodeResult,
  type Logger,
  type Ref,
  type RoomCommand,
  type RoomId,
  type ServerMessage,
  type SpeakerId,
  type UserId,
} from '@voiceroom/protocol';
import type { GatewayConfig } from '@voiceroom/config';
import { canSpeak, type MemberRecord } from '@voiceroom/cluster';
import type { HubRoom } from './hub';
import { corkForThisTick } from './cork';
import type { GatewayStats } from './gateway-stats';
import { TokenBucket } from './token-bucket';
import { closeReason, protocolErrorReason } from './ws-errors';
import type { Beating } from './heartbeat';
import type { SpeakerVoice } from './speaker-voice';
import type { LocalSpeaker } from './voice-relay';

const OPEN = 1;
/** Commands kept while a join or resume waits for the cluster; more are refused. */
const MAX_HELD_COMMANDS = 16;

/**
 * What the end of a joined session means for its member:
 * - leave: it left the room (client said so, or it broke the protocol);
 * - detach: its connection is gone, it may resume within the grace period;
 * - ended: the cluster already removed or moved it (kicked, replaced, resumed elsewhere).
 */
export type CloseIntent = 'leave' | 'detach' | 'ended';

export type SessionState = 'joining' | 'pending' | 'joined' | 'closed';

/**
 * What a Session needs of the node it belongs to (GatewayNode). The contract:
 * - `join`, `resume` and `command` are called only with messages that passed the session's
 *   checks: a join or resume once, while the session is `joining`; commands only once it is
 *   `joined` (those sent while `pending` are held and run after `attached`), within its command rate;
 * - `relay.relayFromClient` gets only frames of a joined member that may speak, that decode, fit
 *   the size limit and the voice rate; it must neither keep nor modify the buffer;
 * - `closed` is called exactly once per session, synchronously, when it is closed by either side,
 *   with the state it was in; `closeIntent` is set by then. After it, the session calls nothing.
 * The host answers a join or resume with `awaitingCluster`, then `attached` and `enteredHub` (or `close`).
 */
export interface SessionHost {
  readonly config: Pick<GatewayConfig, 'voice' | 'limits' | 'abuse' | 'socketHighWaterBytes' | 'joinTimeoutMs'>;
  readonly stats: GatewayStats;
  readonly log: Logger;
  readonly relay: { relayFromClient(speaker: Session, clientFrame: Buffer): void };
  join(session: Session, token: string): void;
  resume(session: Session, token: string, lastSeq: number): void;
  command(session: Session, cmd: RoomCommand): void;
  closed(session: Session, was: SessionState): void;
}

/** Server close codes after which the member has left for good. */
const LEAVING_CODES = new Set<number>([
  CloseCode.Normal,
  CloseCode.MessageTooBig,
  CloseCode.ProtocolError,
  CloseCode.TokenInvalid,
  CloseCode.TokenExpired,
  CloseCode.Abuse,
  CloseCode.TooManyConnections,
]);

/**
 * One WebSocket connection: joining, then a member of one room. Checks everything the client
 * sends (the edge of trust) and delivers what the node routes to it.
 */
export class Session implements LocalSpeaker, Beating {
  /** Set by the heartbeat; cleared by a pong or any message. */
  awaitingPong = false;
  /** Cork state, owned by cork.ts. */
  corked = false;
  /** Unsent bytes when this turn's cork began. */
  corkBase = 0;
  readonly raw: Socket;

  private _state: SessionState = 'joining';
  private _member: MemberRecord | undefined;
  private _userId: UserId | undefined;
  private _hubRoom: HubRoom | undefined;
  private _voice: SpeakerVoice | undefined;
  private mayspeak = false;
  private _closeIntent: CloseIntent | undefined;
  private joinTimer: NodeJS.Timeout | undefined;
  private held: RoomCommand[] = [];
  private readonly voiceRate: TokenBucket;
  private readonly commandRate: TokenBucket;
  private violations = 0;
  private violationWindowStart = Date.now();
  private lastErrorSentAt = 0;

  constructor(
    readonly ws: WebSocket,
    readonly remoteAddress: string,
    private readonly host: SessionHost,
  ) {
    // ws keeps the net.Socket here; voice frames are written to it pre-framed (see cork.ts).
    this.raw = (ws as unknown as { _socket: Socket })._socket;
    this.voiceRate = new TokenBucket(host.config.voice.maxFramesPerSecond, host.config.voice.burstFrames);
    this.commandRate = new TokenBucket(host.config.limits.commandsPerSecond, host.config.limits.commandBurst);
    this.joinTimer = setTimeout(() => this.close(CloseCode.JoinTimeout, 'no join message in time'), host.config.joinTimeoutMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // ws goes on parsing what arrived with the message that closed the socket (one TCP read
      // may hold many frames): once this side has closed, the rest is dropped unread.
      if (this.state === 'closed' || ws.readyState !== OPEN) return;
      this.awaitingPong = false;
      try {
        if (isBinary) this.onBinary(data);
        else this.onText(data);
      } catch (error) {
        // A bug must cost one connection, never the process and every room on it.
        host.log.error({ err: error, user: this.userId }, 'unexpected error handling a client message');
        this.close(CloseCode.InternalError, 'internal error');
      }
    });
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('error', (error: Error) => {
      // ws reports the client's protocol violations (oversized message, bad UTF-8, unmasked
      // frame…) as WS_ERR_* errors, after sending its close frame: such a member has left, not
      // dropped, and gets nothing more (wsErrorHandler counts and logs them).
      if (protocolErrorReason(error) === undefined) return;
      this._closeIntent ??= 'leave';
      clearTimeout(this.joinTimer);
      this.onClosed();
    });
    ws.on('close', (code: number) => {
      if (this._closeIntent === undefined) this._closeIntent = code === CloseCode.Normal || code === CloseCode.MessageTooBig ? 'leave' : 'detach';
      this.onClosed();
    });
  }

  get state(): SessionState {
    return this._state;
  }

  /** Set once joined (or resumed): the member's replicated record. */
  get member(): MemberRecord | undefined {
    return this._member;
  }

  /** Known from a valid join or resume token on. */
  get userId(): UserId | undefined {
    return this._userId;
  }

  /** The local room while joined (the voice relay reads it per frame). */
  get hubRoom(): HubRoom | undefined {
    return this._hubRoom;
  }

  /** Its voice state in `hubRoom` (voice-relay.ts). */
  get voice(): SpeakerVoice | undefined {
    return this._voice;
  }

  /** What the end of the connection means for the member; set by the time the host hears `closed`. */
  get closeIntent(): CloseIntent | undefined {
    return this._closeIntent;
  }

  // ---- called by the host ---------------------------------------------------------------------

  /** The token named this user and the node admitted the connection (before its request goes to the log). */
  admitted(userId: UserId): void {
    this._userId = userId;
  }

  /** The join or resume is on the log: commands are held, audio ignored, until `attached`. */
  awaitingCluster(): void {
    this._state = 'pending';
  }

  /** The log admitted the member: the session is `joined` (then the host puts it in the hub: `enteredHub`). */
  attached(member: MemberRecord): void {
    this._member = member;
    this._state = 'joined';
    this.mayspeak = canSpeak(member);
  }

  /** It is in local room `hubRoom`, with `voice` there: its frames are relayed from now on. */
  enteredHub(hubRoom: HubRoom, voice: SpeakerVoice): void {
    this._hubRoom = hubRoom;
    this._voice = voice;
  }

  /** The member's role or mute changed (its record is updated in place): whether it may send audio. */
  memberChanged(): void {
    if (this._member) this.mayspeak = canSpeak(this._member);
  }

  /** The host took it out of the hub (it is closed): nothing more is relayed from it. */
  leftHub(): void {
    this._hubRoom = undefined;
  }

  /** Heartbeat (heartbeat.ts): a WebSocket ping. */
  ping(): void {
    if (this.ws.readyState === OPEN) this.ws.ping();
  }

  /** Heartbeat: no pong since the previous ping. The TCP connection is dropped; the member may resume. */
  missedPong(): void {
    this._closeIntent ??= 'detach';
    this.ws.terminate();
  }

  get sid(): SpeakerId {
    return (this._member as MemberRecord).sid;
  }

  get room(): RoomId {
    return (this._member as MemberRecord).room.id;
  }

  private onText(data: Buffer): void {
    if (data.length > MAX_CONTROL_MESSAGE_BYTES) {
      this.close(CloseCode.ProtocolError, `text message over ${MAX_CONTROL_MESSAGE_BYTES} bytes`);
      return;
    }
    const decoded = decodeClientMessage(data.toString('utf8'));
    if (!decoded.ok) {
      this.close(CloseCode.ProtocolError, decoded.reason);
      return;
    }
    const message = decoded.value;
    switch (message.type) {
      case 'join':
      case 'resume':
        if (this.state !== 'joining') {
          this.close(CloseCode.ProtocolError, 'already joined');
          return;
        }
        clearTimeout(this.joinTimer);
        if (message.type === 'join') this.host.join(this, message.token);
        else this.host.resume(this, message.token, message.lastSeq);
        return;
      case 'ping':
        this.send(message.t === undefined ? { type: 'pong' } : { type: 'pong', t: message.t });
        return;
      case 'leave':
        this.close(CloseCode.Normal, 'left');
        return;
      default:
        if (this.state === 'joining') {
          this.close(CloseCode.ProtocolError, `${message.type} before join`);
          return;
        }
        if (this.state === 'pending') {
          // Sent right after join/resume, before the cluster answered: run once it has.
          if (this.held.length < MAX_HELD_COMMANDS) this.held.push(message);
          else
            this.send({ type: 'error', code: ErrorCode.InvalidCommand, message: 'not joined yet', ...(message.ref === undefined ? {} : { ref: message.ref }) });
          return;
        }
        this.runCommand(message);
    }
  }

  private runCommand(message: RoomCommand): void {
    if (!this.commandRate.take()) {
      this.violation(ErrorCode.CommandRateLimited, `more than ${this.host.config.limits.commandsPerSecond} commands per second`, message.ref);
      return;
    }
    this.host.command(this, message);
  }

  /** Runs the commands held while the join or resume was pending (after `joined`/`resumed` was sent). */
  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const message of held) if (this.state === 'joined') this.runCommand(message);
  }

  private onBinary(data: Buffer): void {
    if (this.state !== 'joined') {
      if (this.state === 'joining') this.close(CloseCode.ProtocolError, 'binary message before join');
      return; // pending: the join is not confirmed yet; audio is not relayed before it is
    }
    const stats = this.host.stats;
    if (!this.mayspeak) {
      stats.framesRefusedNotAllowed++;
      const member = this._member as MemberRecord;
      this.violation(ErrorCode.NotAllowedToSpeak, member.muted ? 'a host muted you' : 'your role may not send audio');
      return;
    }
    const result = checkClientVoiceFrame(data, this.host.config.voice.maxPayloadBytes);
    if (result !== VoiceDecodeResult.Ok) {
      if (result === VoiceDecodeResult.TooLarge) {
        stats.framesRefusedTooLarge++;
        this.violation(ErrorCode.VoiceFrameTooLarge, describeVoiceDecodeResult(result));
      } else {
        stats.framesRefusedMalformed++;
        this.violation(ErrorCode.VoiceFrameInvalid, describeVoiceDecodeResult(result));
      }
      return;
    }
    if (!this.voiceRate.take()) {
      stats.framesRefusedRate++;
      this.violation(ErrorCode.VoiceRateLimited, `more than ${this.host.config.voice.maxFramesPerSecond} frames per second`);
      return;
    }
    this.host.relay.relayFromClient(this, data);
  }

  /** A refused frame or command: tell the client (at most once a second), close it if it keeps on. */
  private violation(code: ErrorCode, message: string, ref?: Ref): void {
    const now = Date.now();
    const { maxViolations, windowMs } = this.host.config.abuse;
    if (now - this.violationWindowStart > windowMs) {
      this.violationWindowStart = now;
      this.violations = 0;
    }
    if (++this.violations > maxViolations) {
      this.host.stats.abuseCloses++;
      this.close(CloseCode.Abuse, `more than ${maxViolations} refused messages in ${windowMs} ms`);
      return;
    }
    if (now - this.lastErrorSentAt >= 1000) {
      this.lastErrorSentAt = now;
      this.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref });
    }
  }

  /**
   * Voice is dropped for a socket whose backlog from earlier turns is over the high-water mark.
   * What this turn wrote is corked and not yet sent, so it does not count, up to a hard bound of
   * 4 × high water (one turn can carry a large bus batch).
   */
  deliverVoice(wsFrame: Buffer): boolean {
    // A closing socket (close frame sent or received) gets nothing more; that is not a drop.
    if (this.ws.readyState !== OPEN) return false;
    const raw = this.raw;
    const highWater = this.host.config.socketHighWaterBytes;
    const length = raw.writableLength;
    if ((this.corked ? this.corkBase : length) > highWater || length > 4 * highWater) {
      this.host.stats.framesDroppedSlowSocket++;
      return false;
    }
    if (!this.corked) {
      this.corkBase = length;
      corkForThisTick(this);
    }
    raw.write(wsFrame);
    return true;
  }

  /** Room events and control: never dropped. A socket that cannot keep up is closed (it may resume). */
  deliverText(text: string): void {
    if (this.ws.readyState !== OPEN) return;
    if (this.raw.writableLength > this.host.config.socketHighWaterBytes * 16) {
      this.host.stats.slowConsumerCloses++;
      this.close(CloseCode.TooSlow, 'too far behind on room events; resume');
      return;
    }
    this.ws.send(text);
  }

  send(message: ServerMessage): void {
    this.deliverText(JSON.stringify(message));
  }

  /** Closes the socket. `intent` defaults from the code (see LEAVING_CODES). */
  close(code: number, reason: string, intent?: CloseIntent): void {
    if (this.state === 'closed') return;
    if (this._closeIntent === undefined) this._closeIntent = intent ?? (LEAVING_CODES.has(code) ? 'leave' : 'detach');
    clearTimeout(this.joinTimer);
    if (this.ws.readyState === OPEN) this.ws.close(code, closeReason(reason));
    else this.ws.terminate();
    this.onClosed();
  }

  private onClosed(): void {
    if (this.state === 'closed') return;
    const was = this._state;
    this._state = 'closed';
    clearTimeout(this.joinTimer);
    this.host.closed(this, was);
  }
}
