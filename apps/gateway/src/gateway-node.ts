import type { WebSocket } from 'ws';
import type { Bus, BusHandler, EventMeta } from '@voiceroom/bus';
import type { GatewayConfig } from '@voiceroom/config';
import {
  checkServerVoiceFrame,
  CloseCode,
  ErrorCode,
  isSequenceAfter,
  readSequence,
  readSpeakerId,
  SERVER_VOICE_HEADER_BYTES,
  CLIENT_VOICE_HEADER_BYTES,
  VoiceDecodeResult,
  writeServerVoiceFrame,
  type GoAwayMessage,
  type Logger,
  type JoinedMessage,
  type MemberInfo,
  type NodeId,
  type Ref,
  type ResumedMessage,
  type RoomCommand,
  type RoomEventMessage,
  type RoomId,
  type RoomWelcome,
  type SpeakerLevel,
  type UserId,
} from '@voiceroom/protocol';
import { Hub, type HubRoom } from './hub';
import { Session } from './session';
import { Heartbeat } from './heartbeat';
import { IsolationWatch, type LogWitness } from './isolation';
import type { TokenService } from '@voiceroom/tokens';
import { allocBinaryFrame } from './ws-frame';
import { BUCKETS, PlainHistogram } from './metrics';
import { retryUntil } from '@voiceroom/server-kit';
import {
  canSpeak,
  type ClusterPort,
  memberInfo,
  Replica,
  ReplicaClusterPort,
  type JoinOutcome,
  type MemberRecord,
  type NewEntry,
  type ReplicaListener,
  type ResumeOutcome,
  type RoomRecord,
} from '@voiceroom/cluster';

/** Counters read by /metrics and the benchmarks. Plain numbers: the voice path only increments. */
export interface GatewayStats {
  framesIn: number;
  deliveries: number;
  remoteFramesIn: number;
  remoteDeliveries: number;
  remoteFramesOutOfOrder: number;
  remoteFramesMalformed: number;
  /** Remote frames of a sid that is not in the room, or may not speak (muted, listener). */
  remoteFramesRefused: number;
  framesRefusedMalformed: number;
  framesRefusedTooLarge: number;
  framesRefusedRate: number;
  framesRefusedNotAllowed: number;
  framesDroppedSlowSocket: number;
  abuseCloses: number;
  slowConsumerCloses: number;
  joinsAccepted: number;
  joinsRefused: number;
  resumesAccepted: number;
  resumesRefused: number;
  /** Sockets closed with 4413 (per-user limit); the per-address and node limits count theirs in connection-limits.ts. */
  connectionsRefused: number;
  commandsPublished: number;
  commandsRefused: number;
  eventPublishFailures: number;
}

/** While the set of active speakers stays the same, it is announced again this often. */
const SPEAKERS_REFRESH_MS = 2000;

/** Frames at or under this level (−dBov) count as speaking. */
const SPEAKING_LEVEL = 80;

interface PendingRequest {
  /** reattach: this node, declared lost, takes its own still-connected members back. */
  kind: 'join' | 'resume' | 'command' | 'reattach';
  session: Session;
  timer: NodeJS.Timeout;
  lastSeq?: number;
  ref?: Ref;
  /** performance.now() when the join arrived (voiceroom_join_duration_seconds). */
  startedAt?: number;
}

/**
 * The one place where sessions, the local hub, the replicated room state and the bus meet.
 *
 * Voice: from a client to local members first, then to the bus; from the bus to local members.
 * Everything else (joins, resumes, leaves, commands) is published on the event log and acted on
 * when the log applies it (cluster/), identically on every node; this node then tells its own
 * sessions what happened.
 */
export class GatewayNode implements BusHandler, ReplicaListener {
  readonly hub = new Hub();
  readonly sessions = new Set<Session>();
  readonly stats: GatewayStats = {
    framesIn: 0,
    deliveries: 0,
    remoteFramesIn: 0,
    remoteDeliveries: 0,
    remoteFramesOutOfOrder: 0,
    remoteFramesMalformed: 0,
    remoteFramesRefused: 0,
    framesRefusedMalformed: 0,
    framesRefusedTooLarge: 0,
    framesRefusedRate: 0,
    framesRefusedNotAllowed: 0,
    framesDroppedSlowSocket: 0,
    abuseCloses: 0,
    slowConsumerCloses: 0,
    joinsAccepted: 0,
    joinsRefused: 0,
    resumesAccepted: 0,
    resumesRefused: 0,
    connectionsRefused: 0,
    commandsPublished: 0,
    commandsRefused: 0,
    eventPublishFailures: 0,
  };
  readonly replica: Replica;
  /** The cluster as a plug-in in this process sees it (an embedded admin API, single-node mode). */
  private readonly port: ReplicaClusterPort;
  /** Joined sessions of this node by sid. */
  private readonly local = new Map<number, Session>();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly perUser = new Map<UserId, number>();
  private requests = 0;
  /** WebSocket pings, spread over HEARTBEAT_INTERVAL_MS (heartbeat.ts). */
  readonly heartbeat: Heartbeat<Session>;
  /** Histograms of plain numbers (metrics.ts): joins, and the age of voice from other nodes at relay. */
  readonly timings = { join: new PlainHistogram(BUCKETS.join), frameAge: new PlainHistogram(BUCKETS.frameAge) };
  /** Whether this node is the one cut off from the event log (isolation.ts). */
  readonly isolation: IsolationWatch;
  private speakersTimer: NodeJS.Timeout | undefined;
  private accepting = true;
  /**
   * Wall clock as of the last speakers check: the voice path stamps frames with it instead of
   * reading the clock per frame (the speaking window is two check intervals, so one interval of
   * lag is within tolerance).
   */
  private coarseNow = Date.now();

  constructor(
    readonly config: GatewayConfig,
    readonly bus: Bus,
    private readonly tokens: TokenService,
    readonly log: Logger,
  ) {
    this.replica = new Replica(
      bus.nodeId,
      {
        bus,
        log,
        beatIntervalMs: config.cluster.beatIntervalMs,
        timeoutMs: config.cluster.nodeTimeoutMs,
        syncTimeoutMs: config.cluster.syncTimeoutMs,
        url: config.nodeUrl,
      },
      this,
    );
    this.heartbeat = new Heartbeat(config.heartbeatIntervalMs);
    this.isolation = new IsolationWatch(
      {
        nodeId: bus.nodeId,
        ownBeatAgeMs: () => this.replica.ownBeatAgeMs(),
        peers: () => [...this.state.nodes.values()].flatMap((n) => (n.id !== this.nodeId && n.url ? [{ id: n.id, url: n.url }] : [])),
        isolate: (witnesses) => void this.isolate(witnesses),
        rejoin: () => undefined, // isReady() follows isolation.isolated
      },
      {
        timeoutMs: config.cluster.nodeTimeoutMs,
        checkEveryMs: config.cluster.beatIntervalMs,
        confirmMs: Math.max(1000, 2 * config.cluster.beatIntervalMs),
        probeTimeoutMs: 1000,
        log,
      },
    );
    this.port = new ReplicaClusterPort(this.replica, config.cluster.requestTimeoutMs, 'the gateway is not in sync with the cluster yet');
  }

  /**
   * The cluster as a plug-in of this process sees it (an embedded admin API, single-node mode):
   * this node's replicated state, and requests through its log (no second node).
   */
  clusterPort(): ClusterPort {
    return this.port;
  }

  get nodeId(): NodeId {
    return this.bus.nodeId;
  }

  get state() {
    return this.replica.state;
  }

  isReady(): boolean {
    return this.accepting && this.bus.isStarted() && this.replica.isLive() && !this.isolation.isolated;
  }

  /** GET /cluster/log: whether the event log flows for this node, and whether it counts `asker` (isolation.ts). */
  witness(asker: string | undefined): LogWitness {
    const live = this.replica.isLive();
    return {
      node: this.nodeId,
      live,
      ownBeatAgeMs: this.replica.ownBeatAgeMs() ?? null,
      countsAsker: live && asker !== undefined ? this.state.nodes.has(asker as NodeId) : null,
      flowingForMs: this.replica.logFlowingForMs() ?? null,
    };
  }

  /**
   * The others hear the log and this node does not: they have declared it lost and detached its
   * members. Send them there (goaway `isolated`, 4504), spread like a drain, so that they resume
   * on a node that hears everyone; refuse joins (readyz 503) until this node's beats come back.
   */
  private async isolate(witnesses: NodeId[]): Promise<void> {
    const joined = [...this.sessions].filter((s) => s.state === 'joined');
    this.log.error({ witnesses, sessions: joined.length }, 'cut off from the event log while other nodes hear it: sending members to them');
    await this.sendAway(joined, 'isolated', 'this gateway lost the event log; resume on another node', this.config.drainSpreadMs);
  }

  /** goaway + 4504 to each session, spread over `spreadMs`; their places are kept (detach). */
  private async sendAway(joined: Session[], reason: GoAwayMessage['reason'], closeReason: string, spreadMs: number): Promise<void> {
    shuffle(joined);
    const grace = this.config.rooms.resumeGraceMs;
    for (let i = 0; i < joined.length; i++) {
      const session = joined[i] as Session;
      if (spreadMs > 0 && joined.length > 1) await sleep(spreadMs / joined.length);
      if (session.state !== 'joined') continue;
      session.send({ type: 'goaway', reason, resumeWithinMs: grace });
      session.close(CloseCode.Reconnect, closeReason, 'detach');
    }
  }

  /** Starts the bus (retrying until it works or the node closes), then syncs the room state. */
  async start(): Promise<void> {
    this.heartbeat.start();
    this.isolation.start();
    this.speakersTimer = setInterval(() => this.announceSpeakers(), this.config.speakersIntervalMs);
    this.speakersTimer.unref();
    await retryUntil(
      async (attempt) => {
        await this.bus.start(this);
        this.log.info({ node: this.nodeId, bus: this.bus.kind, attempt }, 'bus started, syncing the room state');
        this.replica.start();
      },
      {
        stopped: () => !this.accepting,
        onFailure: (error, attempt) => this.log.error({ err: error, attempt }, 'bus start failed, retrying in 2 s (readyz stays 503)'),
      },
    );
  }

  // ---- connections ----------------------------------------------------------------------------

  accept(ws: WebSocket, remoteAddress: string): void {
    if (!this.accepting) {
      ws.close(CloseCode.Unavailable, 'gateway shutting down');
      return;
    }
    const session = new Session(ws, remoteAddress, this);
    this.sessions.add(session);
    this.heartbeat.add(session);
  }

  join(session: Session, token: string): void {
    const startedAt = performance.now();
    const verified = this.tokens.verify(token, this.config.tokenMaxTtlSeconds);
    if (!verified.ok) {
      this.stats.joinsRefused++;
      this.log.info({ ip: session.remoteAddress, reason: verified.reason }, 'join refused');
      session.close(verified.closeCode, verified.reason);
      return;
    }
    const { userId, room, role, name } = verified.claims;
    if (!this.admit(session, userId)) return;
    const entry: NewEntry = {
      t: 'join',
      req: '',
      room,
      userId,
      role,
      settings: { capacity: this.config.rooms.capacity, seats: this.config.rooms.seats },
      graceMs: this.config.rooms.resumeGraceMs,
      kickBlockMs: this.config.rooms.kickBlockMs,
    };
    if (name !== undefined) entry.name = name;
    this.request('join', session, entry, { startedAt });
  }

  resume(session: Session, token: string, lastSeq: number): void {
    const verified = this.tokens.verifyResume(token);
    if (!verified.ok) {
      this.stats.resumesRefused++;
      session.close(CloseCode.TokenInvalid, verified.reason);
      return;
    }
    const { userId, room, sid } = verified.claims;
    if (!this.admit(session, userId)) return;
    this.request('resume', session, { t: 'resume', req: '', room, userId, sid }, { lastSeq });
  }

  /** Readiness and per-user limits, checked before a join or resume goes to the log. */
  private admit(session: Session, userId: UserId): boolean {
    if (!this.isReady()) {
      this.stats.joinsRefused++;
      session.close(CloseCode.Unavailable, 'gateway not ready');
      return false;
    }
    const count = this.perUser.get(userId) ?? 0;
    if (count >= this.config.limits.connectionsPerUser) {
      this.stats.connectionsRefused++;
      session.close(CloseCode.TooManyConnections, `more than ${this.config.limits.connectionsPerUser} connections for this user`);
      return false;
    }
    this.perUser.set(userId, count + 1);
    session.userId = userId;
    return true;
  }

  command(session: Session, cmd: RoomCommand): void {
    const member = session.member as MemberRecord;
    const { ref, ...plain } = cmd;
    this.stats.commandsPublished++;
    this.request('command', session, { t: 'cmd', req: '', room: member.room.id, by: member.sid, cmd: plain as RoomCommand }, ref === undefined ? {} : { ref });
  }

  /** Publishes a request on the log; its outcome arrives when the log applies it. */
  private request(kind: PendingRequest['kind'], session: Session, entry: NewEntry, extra: { lastSeq?: number; ref?: Ref; startedAt?: number } = {}): void {
    const req = `${this.replica.inc}.${++this.requests}`;
    (entry as { req: string }).req = req;
    if (kind === 'join' || kind === 'resume') session.state = 'pending';
    const timer = setTimeout(() => this.requestTimedOut(req), this.config.cluster.requestTimeoutMs);
    this.pending.set(req, { kind, session, timer, ...extra });
    this.replica.publish(entry).catch((error: unknown) => {
      this.stats.eventPublishFailures++;
      this.log.warn({ err: error, kind }, 'request not stored on the event log');
      this.requestTimedOut(req);
    });
  }

  private requestTimedOut(req: string): void {
    const p = this.pending.get(req);
    if (!p) return;
    this.pending.delete(req);
    clearTimeout(p.timer);
    if (p.kind === 'reattach') {
      p.session.close(CloseCode.Reconnect, 'could not take the membership back in time; resume');
    } else if (p.kind === 'command') {
      p.session.send({
        type: 'error',
        code: ErrorCode.Unavailable,
        message: 'not confirmed in time: the event log is slow or away; the command may still take effect when it is back',
        ...(p.ref === undefined ? {} : { ref: p.ref }),
      });
    } else {
      // If the log applies it later, the outcome finds no pending request and is undone.
      p.session.close(CloseCode.JoinTimeout, 'the cluster did not confirm in time; try again');
    }
  }

  private take(origin: NodeId, req: string): PendingRequest | undefined {
    if (origin !== this.nodeId) return undefined;
    const p = this.pending.get(req);
    if (!p) return undefined;
    this.pending.delete(req);
    clearTimeout(p.timer);
    return p;
  }

  /** Called once per session when its socket is gone. */
  closed(session: Session, was: Session['state']): void {
    this.sessions.delete(session);
    this.heartbeat.remove(session);
    if (session.userId !== undefined) decrement(this.perUser, session.userId);
    if (was !== 'joined') return;
    const member = session.member as MemberRecord;
    this.hub.remove(session);
    session.hubRoom = undefined;
    if (this.local.get(member.sid) === session) this.local.delete(member.sid);
    if (session.closeIntent === 'ended') return;
    const room = member.room.id;
    const entry: NewEntry =
      session.closeIntent === 'leave' ? { t: 'leave', room, sid: member.sid } : { t: 'detach', room, sid: member.sid, graceMs: member.room.graceMs };
    this.publish(entry);
    this.log.info({ user: member.userId, room, sid: member.sid, how: entry.t }, entry.t === 'leave' ? 'member left' : 'member detached');
  }

  private publish(entry: NewEntry): void {
    this.replica.publish(entry).catch((error: unknown) => {
      this.stats.eventPublishFailures++;
      this.log.warn({ err: error, entry: entry.t }, 'event not stored on the event log');
    });
  }

  // ---- what the log decided (ReplicaListener) -------------------------------------------------

  joinDecided(origin: NodeId, req: string, outcome: JoinOutcome): void {
    if (origin !== this.nodeId) return;
    const p = this.take(origin, req);
    if (!p || p.session.state !== 'pending') {
      // Nobody is waiting any more (timed out or gone): undo the join.
      if (outcome.ok) this.publish({ t: 'leave', room: outcome.member.room.id, sid: outcome.member.sid });
      return;
    }
    const session = p.session;
    if (!outcome.ok) {
      this.stats.joinsRefused++;
      this.log.info({ user: session.userId, reason: outcome.reason }, 'join refused');
      session.close(outcome.closeCode, outcome.reason);
      return;
    }
    const member = outcome.member;
    this.attach(session, member);
    this.stats.joinsAccepted++;
    const message: JoinedMessage = { type: 'joined', ...this.welcome(member), members: this.others(member) };
    session.send(message);
    if (p.startedAt !== undefined) this.timings.join.observe((performance.now() - p.startedAt) / 1000);
    session.releaseHeld();
    this.log.info({ user: member.userId, room: message.room, role: member.role, sid: member.sid, ip: session.remoteAddress }, 'member joined');
  }

  resumeDecided(origin: NodeId, req: string, outcome: ResumeOutcome): void {
    if (origin !== this.nodeId) return;
    const p = this.take(origin, req);
    if (p?.kind === 'reattach') {
      if (outcome.ok) this.log.info({ sid: outcome.member.sid }, 'member re-attached after this node was declared lost');
      else p.session.close(CloseCode.ResumeFailed, 'your place in the room is gone; join again', 'ended');
      return;
    }
    if (!p || p.session.state !== 'pending') {
      if (outcome.ok) this.publish({ t: 'detach', room: outcome.member.room.id, sid: outcome.member.sid, graceMs: outcome.member.room.graceMs });
      return;
    }
    const session = p.session;
    if (!outcome.ok) {
      this.stats.resumesRefused++;
      session.close(CloseCode.ResumeFailed, `cannot resume: ${outcome.reason}; join again`);
      return;
    }
    const member = outcome.member;
    this.attach(session, member);
    this.stats.resumesAccepted++;
    const missed = this.state.missedEvents(member.room, p.lastSeq ?? 0);
    const message: ResumedMessage = { type: 'resumed', ...this.welcome(member) };
    if (!missed) message.members = this.others(member);
    session.send(message);
    if (missed) for (const text of missed) session.deliverText(text);
    session.releaseHeld();
    this.log.info({ user: member.userId, room: message.room, sid: member.sid, replayed: missed?.length ?? 'roster' }, 'member resumed');
  }

  commandDone(origin: NodeId, req: string, error?: { code: ErrorCode; message: string }): void {
    if (this.port.done(origin, req, error)) return;
    const p = this.take(origin, req);
    if (!p || !error) return;
    this.stats.commandsRefused++;
    p.session.send({ type: 'error', code: error.code, message: error.message, ...(p.ref === undefined ? {} : { ref: p.ref }) });
  }

  roomEvent(room: RoomRecord, message: RoomEventMessage, text: string): void {
    this.hub.broadcastText(room.id, text);
    if (this.port.hasRoomEventListeners) this.port.roomEvent(room, message);
  }

  sessionEnded(member: MemberRecord, node: NodeId, closeCode: number, reason: string): void {
    if (node !== this.nodeId) return;
    const session = this.local.get(member.sid);
    if (!session || session.member !== member) return;
    this.local.delete(member.sid);
    session.close(closeCode, reason, 'ended');
  }

  memberChanged(member: MemberRecord): void {
    const session = this.local.get(member.sid);
    if (session && session.member === member) session.canSpeak = canSpeak(member);
  }

  nodeLost(node: NodeId, why: 'timeout' | 'bye'): void {
    if (node !== this.nodeId) {
      this.log.warn({ lost: node, why }, 'node lost: its members are detached until they resume or time out');
      return;
    }
    // The others stopped hearing this node (it could not publish for a while): its members were
    // detached. Those still connected here are taken back, as if they resumed here; nobody sees
    // a leave or a join. A member whose place is gone by then is told so (4404).
    const joined = [...this.sessions].filter((s) => s.state === 'joined');
    this.log.error({ why, sessions: joined.length }, 'this node was declared lost by the cluster; re-attaching its connected members');
    for (const session of joined) {
      const member = session.member as MemberRecord;
      this.request('reattach', session, { t: 'resume', req: '', room: member.room.id, userId: member.userId, sid: member.sid });
    }
  }

  live(resync: boolean): void {
    this.log.info({ node: this.nodeId, resync, ...this.state.size }, resync ? 'room state resynchronised' : 'room state in sync, node ready');
  }

  lost(reason: string): void {
    this.log.error({ reason }, 'room state lost; asking local clients to resume while it is fetched again');
    this.closeAllJoined(CloseCode.Reconnect, 'cluster state resync; resume');
    this.port.failAll(`cluster state lost (${reason})`);
    for (const [req, p] of [...this.pending]) {
      if (p.kind !== 'command') this.requestTimedOut(req);
    }
  }

  private closeAllJoined(code: number, reason: string): void {
    for (const session of [...this.sessions]) {
      if (session.state === 'joined') session.close(code, reason);
    }
  }

  private attach(session: Session, member: MemberRecord): void {
    const previous = this.local.get(member.sid);
    if (previous && previous !== session) previous.close(CloseCode.Replaced, 'resumed on another connection', 'ended');
    session.member = member;
    session.state = 'joined';
    session.canSpeak = canSpeak(member);
    session.hubRoom = this.hub.add(session, member.room);
    this.local.set(member.sid, session);
  }

  /** Everyone else in the room, on every node (detached members included: they keep their place). */
  private others(member: MemberRecord): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const m of member.room.members.values()) if (m !== member) out.push(memberInfo(m));
    return out;
  }

  /** What `joined` and `resumed` have in common. */
  private welcome(member: MemberRecord): Omit<RoomWelcome, 'type'> {
    const room = member.room;
    return {
      room: room.id,
      self: memberInfo(member),
      seq: room.seq,
      speakers: this.currentSpeakers(room.id),
      settings: room.settings,
      resumeToken: this.tokens.signResume({ userId: member.userId, room: room.id, sid: member.sid }),
      resumeGraceMs: room.graceMs,
      node: this.nodeId,
      limits: { maxPayloadBytes: this.config.voice.maxPayloadBytes, maxFramesPerSecond: this.config.voice.maxFramesPerSecond },
    };
  }

  // ---- voice ----------------------------------------------------------------------------------

  /** The hot path for a client frame that passed every check in Session. */
  relayFromClient(session: Session, clientFrame: Buffer): void {
    const room = session.hubRoom;
    if (!room) return;
    const member = session.member as MemberRecord;
    const level = clientFrame[1] as number;
    if (level < member.level) member.level = level;
    if (level <= SPEAKING_LEVEL) member.lastVoiceAt = this.coarseNow;
    const length = clientFrame.length + SERVER_VOICE_HEADER_BYTES - CLIENT_VOICE_HEADER_BYTES;
    const { frame, offset } = allocBinaryFrame(length);
    writeServerVoiceFrame(clientFrame, member.sid, frame, offset);
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
    const member = room.record.members.get(readSpeakerId(serverFrame));
    if (!member || !canSpeak(member)) {
      // Not (or no longer) in the room, muted, or a listener: dropped here too.
      this.stats.remoteFramesRefused++;
      return;
    }
    const seq = readSequence(serverFrame);
    if (member.lastSeq >= 0 && !isSequenceAfter(seq, member.lastSeq)) {
      this.stats.remoteFramesOutOfOrder++;
      return;
    }
    member.lastSeq = seq;
    // The bus computed now − birth for the batch this frame came in (only RocketMQ knows a birth).
    if (this.bus.kind === 'rocketmq') this.timings.frameAge.observe(this.bus.stats().lastVoiceLagMs / 1000);
    const level = serverFrame[1] as number;
    if (level < member.level) member.level = level;
    if (level <= SPEAKING_LEVEL) member.lastVoiceAt = this.coarseNow;
    const { frame, offset } = allocBinaryFrame(serverFrame.length);
    frame.set(serverFrame, offset);
    this.stats.remoteDeliveries += this.hub.fanOutVoice(room, frame, undefined);
  }

  onEvent(payload: Uint8Array, meta: EventMeta): void {
    this.replica.onEvent(payload, meta);
  }

  /**
   * Active speakers per local room: checked every SPEAKERS_INTERVAL_MS and announced when the set
   * of speakers changed, or every SPEAKERS_REFRESH_MS while it stays the same and non-empty (fresh
   * levels). Announcing every interval cost each socket a text write 4 times a second and made
   * voice latency visibly worse under load (docs/benchmarks.md); clients get every frame's level
   * in its header anyway.
   */
  private announceSpeakers(): void {
    const now = Date.now();
    this.coarseNow = now;
    const window = this.config.speakersIntervalMs * 2;
    for (const room of this.hub.all()) {
      const speakers = activeSpeakers(room, now, window);
      const key = speakers.map((s) => s.sid).join(',');
      if (key === room.lastSpeakers && (key === '' || now - room.lastSpeakersAt < SPEAKERS_REFRESH_MS)) continue;
      room.lastSpeakers = key;
      room.lastSpeakersAt = now;
      for (const m of room.record.members.values()) m.level = 127;
      this.hub.broadcastText(room.id, JSON.stringify({ type: 'speakers', room: room.id, speakers }));
    }
  }

  private currentSpeakers(roomId: RoomId): SpeakerLevel[] {
    const room = this.hub.room(roomId);
    return room ? activeSpeakers(room, Date.now(), this.config.speakersIntervalMs * 2) : [];
  }

  // ---- lifetime -------------------------------------------------------------------------------

  /**
   * Drain: stop accepting, tell every client to resume elsewhere (spread over `spreadMs` so the
   * other nodes are not hit at once), wait until their detaches are stored, say bye, close the bus.
   */
  async close(spreadMs = 0): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    this.heartbeat.stop();
    this.isolation.stop();
    clearInterval(this.speakersTimer);
    const joined = [...this.sessions].filter((s) => s.state === 'joined');
    for (const session of this.sessions) if (session.state !== 'joined') session.close(CloseCode.Unavailable, 'gateway shutting down');
    this.log.info({ sessions: joined.length, spreadMs }, 'draining: asking clients to resume on other nodes');
    await this.sendAway(joined, 'draining', 'node draining; resume on another node', spreadMs);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await this.replica.close(2000);
    await this.bus.close();
    this.log.info({}, 'drained');
  }
}

function activeSpeakers(room: HubRoom, now: number, window: number): SpeakerLevel[] {
  const out: SpeakerLevel[] = [];
  for (const m of room.record.members.values()) {
    if (now - m.lastVoiceAt <= window && canSpeak(m)) out.push({ sid: m.sid, level: m.level });
  }
  out.sort((a, b) => a.level - b.level || a.sid - b.sid);
  return out;
}

function decrement<K>(map: Map<K, number>, key: K): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
