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
  type MemberInfo,
  type RoomId,
  type ServerMessage,
} from '@voiceroom/protocol';
import type { HubMember, HubRoom } from './hub';
import type { GatewayNode } from './gateway-node';
import { corkForThisTick } from './cork';

const OPEN = 1;

/**
 * One WebSocket connection: joining, then a member of one room. Checks everything the client
 * sends (the edge of trust) and delivers what the node routes to it.
 */
export class Session implements HubMember {
  state: 'joining' | 'joined' | 'closed' = 'joining';
  info!: MemberInfo;
  room!: RoomId;
  hubRoom: HubRoom | undefined;
  canSpeak = false;
  /** Set by the heartbeat; cleared by a pong or any message. */
  awaitingPong = false;
  /** Cork state, owned by cork.ts. */
  corked = false;
  readonly raw: Socket;

  private joinTimer: NodeJS.Timeout | undefined;
  private rateTokens: number;
  private rateUpdatedAt = Date.now();
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
    this.rateTokens = node.config.voice.burstFrames;
    this.joinTimer = setTimeout(() => this.close(CloseCode.JoinTimeout, 'no join message in time'), node.config.joinTimeoutMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.awaitingPong = false;
      try {
        if (isBinary) this.onBinary(data);
        else this.onText(data);
      } catch (error) {
        // A bug must cost one connection, never the process and every room on it.
        node.log.error({ err: error, user: this.info?.userId }, 'unexpected error handling a client message');
        this.close(CloseCode.InternalError, 'internal error');
      }
    });
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('error', (error) => node.log.debug({ err: error, user: this.info?.userId }, 'websocket error'));
    ws.on('close', () => this.onClosed());
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
        if (this.state !== 'joining') {
          this.close(CloseCode.ProtocolError, 'already joined');
          return;
        }
        clearTimeout(this.joinTimer);
        this.node.join(this, message.token);
        return;
      case 'ping':
        this.send(message.t === undefined ? { type: 'pong' } : { type: 'pong', t: message.t });
        return;
    }
  }

  private onBinary(data: Buffer): void {
    if (this.state !== 'joined') {
      if (this.state === 'joining') this.close(CloseCode.ProtocolError, 'binary message before join');
      return;
    }
    const stats = this.node.stats;
    if (!this.canSpeak) {
      stats.framesRefusedNotAllowed++;
      this.violation(ErrorCode.NotAllowedToSpeak, 'your role may not send audio');
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
    if (!this.takeRateToken()) {
      stats.framesRefusedRate++;
      this.violation(ErrorCode.VoiceRateLimited, `more than ${this.node.config.voice.maxFramesPerSecond} frames per second`);
      return;
    }
    this.node.relayFromClient(this, data);
  }

  private takeRateToken(): boolean {
    const now = Date.now();
    const { maxFramesPerSecond, burstFrames } = this.node.config.voice;
    const elapsed = now - this.rateUpdatedAt;
    if (elapsed > 0) {
      this.rateTokens = Math.min(burstFrames, this.rateTokens + (elapsed * maxFramesPerSecond) / 1000);
      this.rateUpdatedAt = now;
    }
    if (this.rateTokens < 1) return false;
    this.rateTokens -= 1;
    return true;
  }

  /** A refused frame: tell the client (at most once a second), close it if it keeps on. */
  private violation(code: ErrorCode, message: string): void {
    const now = Date.now();
    const { maxViolations, windowMs } = this.node.config.abuse;
    if (now - this.violationWindowStart > windowMs) {
      this.violationWindowStart = now;
      this.violations = 0;
    }
    if (++this.violations > maxViolations) {
      this.node.stats.abuseCloses++;
      this.close(CloseCode.Abuse, `more than ${maxViolations} refused frames in ${windowMs} ms`);
      return;
    }
    if (now - this.lastErrorSentAt >= 1000) {
      this.lastErrorSentAt = now;
      this.send({ type: 'error', code, message });
    }
  }

  deliverVoice(wsFrame: Buffer): boolean {
    const raw = this.raw;
    if (this.ws.readyState !== OPEN || raw.writableLength > this.node.config.socketHighWaterBytes) {
      this.node.stats.framesDroppedSlowSocket++;
      return false;
    }
    if (!this.corked) corkForThisTick(this);
    raw.write(wsFrame);
    return true;
  }

  deliverText(text: string): void {
    if (this.ws.readyState !== OPEN) return;
    if (this.raw.writableLength > this.node.config.socketHighWaterBytes * 16) {
      this.close(CloseCode.TooSlow, 'too far behind on control messages');
      return;
    }
    this.ws.send(text);
  }

  send(message: ServerMessage): void {
    this.deliverText(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    clearTimeout(this.joinTimer);
    if (this.ws.readyState === OPEN) this.ws.close(code, closeReason(reason));
    else this.ws.terminate();
    this.onClosed();
  }

  private onClosed(): void {
    if (this.state === 'closed') return;
    const wasJoined = this.state === 'joined';
    this.state = 'closed';
    clearTimeout(this.joinTimer);
    this.node.closed(this, wasJoined);
  }
}

/** A close reason must fit in 123 bytes of UTF-8 (RFC 6455 §5.5), or ws throws. */
export function closeReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text, 'utf8') > 123) text = text.slice(0, -1);
  return text;
}
