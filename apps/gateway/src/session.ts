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
  type Ref,
  type RoomCommand,
  type RoomId,
  type ServerMessage,
  type SpeakerId,
  type UserId,
} from '@voiceroom/protocol';
import type { HubMember, HubRoom } from './hub';
import type { GatewayNode } from './gateway-node';
import type { MemberRecord } from '@voiceroom/cluster';
import { corkForThisTick } from './cork';
import { TokenBucket } from './token-bucket';
import { protocolErrorReason } from './ws-errors';
import type { Beating } from './heartbeat';

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
export class Session implements HubMember, Beating {
  state: 'joining' | 'pending' | 'joined' | 'closed' = 'joining';
  /** Set once joined (or resumed): the member's replicated record. */
  member: MemberRecord | undefined;
  /** Known from a valid join or resume token on. */
  userId: UserId | undefined;
  hubRoom: HubRoom | undefined;
  canSpeak = false;
  closeIntent: CloseIntent | undefined;
  /** Set by the heartbeat; cleared by a pong or any message. */
  awaitingPong = false;
  /** Cork state, owned by cork.ts. */
  corked = false;
  /** Unsent bytes when this turn's cork began. */
  corkBase = 0;
  readonly raw: Socket;

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
    private readonly node: GatewayNode,
  ) {
    // ws keeps the net.Socket here; voice frames are written to it pre-framed (see cork.ts).
    this.raw = (ws as unknown as { _socket: Socket })._socket;
    this.voiceRate = new TokenBucket(node.config.voice.maxFramesPerSecond, node.config.voice.burstFrames);
    this.commandRate = new TokenBucket(node.config.limits.commandsPerSecond, node.config.limits.commandBurst);
    this.joinTimer = setTimeout(() => this.close(CloseCode.JoinTimeout, 'no join message in time'), node.config.joinTimeoutMs);
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
        node.log.error({ err: error, user: this.userId }, 'unexpected error handling a client message');
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
      this.closeIntent ??= 'leave';
      clearTimeout(this.joinTimer);
      this.onClosed();
    });
    ws.on('close', (code: number) => {
      if (this.closeIntent === undefined) this.closeIntent = code === CloseCode.Normal || code === CloseCode.MessageTooBig ? 'leave' : 'detach';
      this.onClosed();
    });
  }

  /** Heartbeat (heartbeat.ts): a WebSocket ping. */
  ping(): void {
    if (this.ws.readyState === OPEN) this.ws.ping();
  }

  /** Heartbeat: no pong since the previous ping. The TCP connection is dropped; the member may resume. */
  missedPong(): void {
    this.closeIntent ??= 'detach';
    this.ws.terminate();
  }

  get sid(): SpeakerId {
    return (this.member as MemberRecord).sid;
  }

  get room(): RoomId {
    return (this.member as MemberRecord).room.id;
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
        if (message.type === 'join') this.node.join(this, message.token);
        else this.node.resume(this, message.token, message.lastSeq);
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
      this.violation(ErrorCode.CommandRateLimited, `more than ${this.node.config.limits.commandsPerSecond} commands per second`, message.ref);
      return;
    }
    this.node.command(this, message);
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
    const stats = this.node.stats;
    if (!this.canSpeak) {
      stats.framesRefusedNotAllowed++;
      const member = this.member as MemberRecord;
      this.violation(ErrorCode.NotAllowedToSpeak, member.muted ? 'a host muted you' : 'your role may not send audio');
      return;
    }
    const result = checkClientVoiceFrame(data, this.node.config.voice.maxPayloadBytes);
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
      this.violation(ErrorCode.VoiceRateLimited, `more than ${this.node.config.voice.maxFramesPerSecond} frames per second`);
      return;
    }
    this.node.relayFromClient(this, data);
  }

  /** A refused frame or command: tell the client (at most once a second), close it if it keeps on. */
  private violation(code: ErrorCode, message: string, ref?: Ref): void {
    const now = Date.now();
    const { maxViolations, windowMs } = this.node.config.abuse;
    if (now - this.violationWindowStart > windowMs) {
      this.violationWindowStart = now;
      this.violations = 0;
    }
    if (++this.violations > maxViolations) {
      this.node.stats.abuseCloses++;
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
    const highWater = this.node.config.socketHighWaterBytes;
    const length = raw.writableLength;
    if ((this.corked ? this.corkBase : length) > highWater || length > 4 * highWater) {
      this.node.stats.framesDroppedSlowSocket++;
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
    if (this.raw.writableLength > this.node.config.socketHighWaterBytes * 16) {
      this.node.stats.slowConsumerCloses++;
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
    if (this.closeIntent === undefined) this.closeIntent = intent ?? (LEAVING_CODES.has(code) ? 'leave' : 'detach');
    clearTimeout(this.joinTimer);
    if (this.ws.readyState === OPEN) this.ws.close(code, closeReason(reason));
    else this.ws.terminate();
    this.onClosed();
  }

  private onClosed(): void {
    if (this.state === 'closed') return;
    const was = this.state;
    this.state = 'closed';
    clearTimeout(this.joinTimer);
    this.node.closed(this, was);
  }
}

/** A close reason must fit in 123 bytes of UTF-8 (RFC 6455 §5.5), or ws throws. */
export function closeReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text, 'utf8') > 123) text = text.slice(0, -1);
  return text;
}
