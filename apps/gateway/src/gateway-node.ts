import { randomInt } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Bus, BusHandler } from '@voiceroom/bus';
import type { GatewayConfig } from '@voiceroom/config';
import {
  checkServerVoiceFrame,
  CloseCode,
  isMemberInfo,
  isSequenceAfter,
  readSequence,
  readSpeakerId,
  SERVER_VOICE_HEADER_BYTES,
  CLIENT_VOICE_HEADER_BYTES,
  VoiceDecodeResult,
  writeServerVoiceFrame,
  type MemberInfo,
  type NodeId,
  type RoomId,
  type SpeakerId,
  type UserId,
} from '@voiceroom/protocol';
import { Hub } from './hub';
import { Session } from './session';
import type { TokenService } from './tokens';
import { allocBinaryFrame } from './ws-frame';
import type { Logger } from './logger';

/** Counters read by /metrics and the benchmarks. Plain numbers: the voice path only increments. */
export interface GatewayStats {
  framesIn: number;
  deliveries: number;
  remoteFramesIn: number;
  remoteDeliveries: number;
  remoteFramesOutOfOrder: number;
  remoteFramesMalformed: number;
  framesRefusedMalformed: number;
  framesRefusedTooLarge: number;
  framesRefusedRate: number;
  framesRefusedNotAllowed: number;
  framesDroppedSlowSocket: number;
  abuseCloses: number;
  joinsAccepted: number;
  joinsRefused: number;
  eventPublishFailures: number;
}

/** Presence events on the event lane (JSON). */
type PresenceEvent = { type: 'join'; member: MemberInfo } | { type: 'leave'; userId: UserId; sid: SpeakerId };

interface RemoteMember {
  info: MemberInfo;
  node: NodeId;
}

/**
 * The one place where sessions, the local hub and the cross-node bus meet. Voice from a client
 * goes to local members first, then to the bus; voice from the bus goes to local members.
 */
export class GatewayNode implements BusHandler {
  readonly hub = new Hub();
  readonly sessions = new Set<Session>();
  readonly stats: GatewayStats = {
    framesIn: 0,
    deliveries: 0,
    remoteFramesIn: 0,
    remoteDeliveries: 0,
    remoteFramesOutOfOrder: 0,
    remoteFramesMalformed: 0,
    framesRefusedMalformed: 0,
    framesRefusedTooLarge: 0,
    framesRefusedRate: 0,
    framesRefusedNotAllowed: 0,
    framesDroppedSlowSocket: 0,
    abuseCloses: 0,
    joinsAccepted: 0,
    joinsRefused: 0,
    eventPublishFailures: 0,
  };
  /** Members of rooms connected to other nodes, learned from presence events. */
  private readonly remote = new Map<RoomId, Map<SpeakerId, RemoteMember>>();
  /** Last sequence relayed per remote speaker: drops duplicates and reordered frames. */
  private readonly remoteSeq = new Map<SpeakerId, number>();
  private heartbeat: NodeJS.Timeout | undefined;
  private accepting = true;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(
    readonly config: GatewayConfig,
    readonly bus: Bus,
    private readonly tokens: TokenService,
    readonly log: Logger,
  ) {}

  get nodeId(): NodeId {
    return this.bus.nodeId;
  }

  isReady(): boolean {
    return this.accepting && this.bus.isStarted();
  }

  /** Starts the bus, retrying until it works or the node closes. Resolves once started. */
  async start(): Promise<void> {
    this.heartbeat = setInterval(() => this.beat(), this.config.heartbeatIntervalMs);
    this.heartbeat.unref();
    for (let attempt = 1; this.accepting; attempt++) {
      try {
        await this.bus.start(this);
        this.log.info({ node: this.nodeId, bus: this.bus.kind, attempt }, 'bus started, node ready');
        return;
      } catch (error) {
        if (!this.accepting) return;
        this.log.error({ err: error, attempt }, 'bus start failed, retrying in 2 s (readyz stays 503)');
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  accept(ws: WebSocket, remoteAddress: string): void {
    if (!this.accepting) {
      ws.close(CloseCode.Unavailable, 'gateway shutting down');
      return;
    }
    this.sessions.add(new Session(ws, remoteAddress, this));
  }

  join(session: Session, token: string): void {
    const verified = this.tokens.verify(token);
    if (!verified.ok) {
      this.stats.joinsRefused++;
      this.log.info({ ip: session.remoteAddress, reason: verified.reason }, 'join refused');
      session.close(verified.closeCode, verified.reason);
      return;
    }
    if (!this.isReady()) {
      this.stats.joinsRefused++;
      session.close(CloseCode.Unavailable, 'gateway not ready');
      return;
    }
    const { userId, room, role, name } = verified.claims;
    const sid = this.newSpeakerId(room);
    const info: MemberInfo = name === undefined ? { userId, sid, role } : { userId, sid, role, name };
    session.info = info;
    session.room = room;
    session.canSpeak = role !== 'listener';
    session.state = 'joined';
    session.hubRoom = this.hub.add(session);
    this.stats.joinsAccepted++;

    session.send({
      type: 'joined',
      room,
      self: info,
      members: this.roster(room).filter((m) => m.sid !== sid),
      node: this.nodeId,
      limits: { maxPayloadBytes: this.config.voice.maxPayloadBytes, maxFramesPerSecond: this.config.voice.maxFramesPerSecond },
    });
    this.hub.broadcastText(room, JSON.stringify({ type: 'member_joined', room, member: info }), session);
    this.publishPresence(room, { type: 'join', member: info });
    this.log.info({ user: userId, room, role, sid, ip: session.remoteAddress }, 'member joined');
  }

  /** Called once per session when its socket is gone. */
  closed(session: Session, wasJoined: boolean): void {
    this.sessions.delete(session);
    if (!wasJoined) return;
    const { userId, sid } = session.info;
    if (!this.hub.remove(session)) return;
    session.hubRoom = undefined;
    this.hub.broadcastText(session.room, JSON.stringify({ type: 'member_left', room: session.room, userId, sid }));
    this.publishPresence(session.room, { type: 'leave', userId, sid });
    this.log.info({ user: userId, room: session.room, sid }, 'member left');
  }

  /** The hot path for a client frame that passed every check in Session. */
  relayFromClient(session: Session, clientFrame: Buffer): void {
    const room = session.hubRoom;
    if (!room) return;
    const length = clientFrame.length + SERVER_VOICE_HEADER_BYTES - CLIENT_VOICE_HEADER_BYTES;
    const { frame, offset } = allocBinaryFrame(length);
    writeServerVoiceFrame(clientFrame, session.info.sid, frame, offset);
    this.stats.framesIn++;
    this.stats.deliveries += this.hub.fanOutVoice(room, frame, session);
    this.bus.publishVoice(room.id, frame.subarray(offset));
  }

  onVoice(roomId: RoomId, serverFrame: Uint8Array): void {
    const room = this.hub.room(roomId);
    if (!room) return; // nobody here for that room
    this.stats.remoteFramesIn++;
    if (checkServerVoiceFrame(serverFrame, this.config.voice.maxPayloadBytes) !== VoiceDecodeResult.Ok) {
      this.stats.remoteFramesMalformed++;
      return;
    }
    const sid = readSpeakerId(serverFrame);
    const seq = readSequence(serverFrame);
    const last = this.remoteSeq.get(sid);
    if (last !== undefined && !isSequenceAfter(seq, last)) {
      this.stats.remoteFramesOutOfOrder++;
      return;
    }
    this.remoteSeq.set(sid, seq);
    const { frame, offset } = allocBinaryFrame(serverFrame.length);
    frame.set(serverFrame, offset);
    this.stats.remoteDeliveries += this.hub.fanOutVoice(room, frame, undefined);
  }

  onEvent(room: RoomId, payload: Uint8Array, origin: NodeId): void {
    let event: PresenceEvent;
    try {
      event = JSON.parse(this.decoder.decode(payload)) as PresenceEvent;
    } catch {
      this.log.warn({ origin, room }, 'undecodable event dropped');
      return;
    }
    if (event.type === 'join' && isMemberInfo(event.member)) {
      let members = this.remote.get(room);
      if (!members) {
        members = new Map();
        this.remote.set(room, members);
      }
      members.set(event.member.sid, { info: event.member, node: origin });
      this.remoteSeq.delete(event.member.sid);
      this.hub.broadcastText(room, JSON.stringify({ type: 'member_joined', room, member: event.member }));
    } else if (event.type === 'leave' && typeof event.sid === 'number') {
      const members = this.remote.get(room);
      if (!members?.delete(event.sid)) return;
      if (members.size === 0) this.remote.delete(room);
      this.remoteSeq.delete(event.sid);
      this.hub.broadcastText(room, JSON.stringify({ type: 'member_left', room, userId: event.userId, sid: event.sid }));
    }
  }

  /** Everyone this node knows to be in the room: its own members and those seen on other nodes. */
  roster(room: RoomId): MemberInfo[] {
    const local = this.hub.room(room)?.members.map((m) => m.info) ?? [];
    const remote = [...(this.remote.get(room)?.values() ?? [])].map((r) => r.info);
    return [...local, ...remote];
  }

  private newSpeakerId(room: RoomId): SpeakerId {
    const local = this.hub.room(room);
    const remote = this.remote.get(room);
    for (;;) {
      const sid = randomInt(1, 0xffffffff) as SpeakerId;
      if (!local?.bySid.has(sid) && !remote?.has(sid)) return sid;
    }
  }

  private publishPresence(room: RoomId, event: PresenceEvent): void {
    this.bus.publishEvent(room, this.encoder.encode(JSON.stringify(event))).catch((error: unknown) => {
      this.stats.eventPublishFailures++;
      this.log.warn({ err: error, room, event: event.type }, 'presence event not published');
    });
  }

  /** Pings every socket; one that has not answered the previous ping is dropped. */
  private beat(): void {
    for (const session of this.sessions) {
      if (session.awaitingPong) {
        session.ws.terminate();
        continue;
      }
      session.awaitingPong = true;
      session.ws.ping();
    }
  }

  /** Stops accepting, closes every session with `Unavailable` (clients reconnect elsewhere), closes the bus. */
  async close(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    for (const session of [...this.sessions]) session.close(CloseCode.Unavailable, 'gateway shutting down');
    await this.bus.close();
  }
}
