import type { WebSocket } from 'ws';
import type { Bus, BusHandler, EventMeta } from '@voiceroom/bus';
import type { GatewayConfig } from '@voiceroom/config';
import {
  CloseCode,
  type ErrorCode,
  type GoAwayMessage,
  type Logger,
  type NodeId,
  type RoomCommand,
  type RoomEventMessage,
  type RoomId,
  type UserId,
} from '@voiceroom/protocol';
import { Hub } from './hub';
import { Session, type SessionHost, type SessionState } from './session';
import { Heartbeat } from './heartbeat';
import { IsolationWatch, type LogWitness } from './isolation';
import type { TokenService } from '@voiceroom/tokens';
import { BUCKETS, PlainHistogram } from './plain-histogram';
import { newGatewayStats, type GatewayStats } from './gateway-stats';
import { LocalMembers } from './local-members';
import { VoiceRelay } from './voice-relay';
import { retryUntil } from '@voiceroom/server-kit';
import {
  type ClusterPort,
  Replica,
  ReplicaClusterPort,
  type JoinOutcome,
  type MemberRecord,
  type ReplicaListener,
  type ResumeOutcome,
  type RoomRecord,
} from '@voiceroom/cluster';

/**
 * The one place where sessions, the local hub, the replicated room state and the bus meet: it
 * builds the node's parts, admits connections, starts, pings and drains, and wires the bus and
 * the replica to the two modules that do the work:
 * - voice (voice-relay.ts): from a client to local members first, then to the bus; from the bus
 *   to local members; active-speaker announcements;
 * - everything else (local-members.ts): joins, resumes, leaves and commands are published on the
 *   event log and acted on when the log applies them (libs/cluster), identically on every node;
 *   this node then tells its own sessions what happened.
 * It is each Session's host (SessionHost).
 */
export class GatewayNode implements BusHandler, ReplicaListener, SessionHost {
  readonly hub = new Hub();
  readonly sessions = new Set<Session>();
  readonly stats: GatewayStats = newGatewayStats();
  readonly replica: Replica;
  /** The voice lane, both ways, and the speakers announcements. */
  readonly relay: VoiceRelay;
  /** This node's members: their requests to the log and what it decided. */
  private readonly members: LocalMembers;
  /** The cluster as a plug-in in this process sees it (an embedded admin API, single-node mode). */
  private readonly port: ReplicaClusterPort;
  private readonly perUser = new Map<UserId, number>();
  /** WebSocket pings, spread over HEARTBEAT_INTERVAL_MS (heartbeat.ts). */
  readonly heartbeat: Heartbeat<Session>;
  /** Histograms of plain numbers (metrics.ts): joins, and the age of voice from other nodes at relay. */
  readonly timings = { join: new PlainHistogram(BUCKETS.join), frameAge: new PlainHistogram(BUCKETS.frameAge) };
  /** Whether this node is the one cut off from the event log (isolation.ts). */
  readonly isolation: IsolationWatch;
  private accepting = true;

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
    this.relay = new VoiceRelay(this.hub, bus, this.stats, this.timings.frameAge, {
      maxPayloadBytes: config.voice.maxPayloadBytes,
      speakersIntervalMs: config.speakersIntervalMs,
    });
    this.members = new LocalMembers({
      config,
      replica: this.replica,
      hub: this.hub,
      relay: this.relay,
      tokens,
      stats: this.stats,
      joinTiming: this.timings.join,
      log,
    });
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
    const joined = this.joinedSessions();
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
    this.relay.start();
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

  // ---- connections (SessionHost) --------------------------------------------------------------

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
    if (!this.admit(session, verified.claims.userId)) return;
    this.members.join(session, verified.claims, startedAt);
  }

  resume(session: Session, token: string, lastSeq: number): void {
    const verified = this.tokens.verifyResume(token);
    if (!verified.ok) {
      this.stats.resumesRefused++;
      session.close(CloseCode.TokenInvalid, verified.reason);
      return;
    }
    if (!this.admit(session, verified.claims.userId)) return;
    this.members.resume(session, verified.claims, lastSeq);
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
    session.admitted(userId);
    return true;
  }

  command(session: Session, cmd: RoomCommand): void {
    this.members.command(session, cmd);
  }

  /** Called once per session when its socket is gone. */
  closed(session: Session, was: SessionState): void {
    this.sessions.delete(session);
    this.heartbeat.remove(session);
    if (session.userId !== undefined) decrement(this.perUser, session.userId);
    this.members.closed(session, was);
  }

  private joinedSessions(): Session[] {
    return [...this.sessions].filter((s) => s.state === 'joined');
  }

  // ---- the bus (BusHandler) -------------------------------------------------------------------

  onVoice(roomId: RoomId, serverFrame: Uint8Array): void {
    this.relay.onVoice(roomId, serverFrame);
  }

  onEvent(payload: Uint8Array, meta: EventMeta): void {
    this.replica.onEvent(payload, meta);
  }

  // ---- what the log decided (ReplicaListener) -------------------------------------------------

  joinDecided(origin: NodeId, req: string, outcome: JoinOutcome): void {
    this.members.joinDecided(origin, req, outcome);
  }

  resumeDecided(origin: NodeId, req: string, outcome: ResumeOutcome): void {
    this.members.resumeDecided(origin, req, outcome);
  }

  commandDone(origin: NodeId, req: string, error?: { code: ErrorCode; message: string }): void {
    if (this.port.done(origin, req, error)) return;
    this.members.commandDone(origin, req, error);
  }

  roomEvent(room: RoomRecord, message: RoomEventMessage, text: string): void {
    this.hub.broadcastText(room.id, text);
    if (message.type === 'member_left') this.relay.memberGone(room.id, message.sid);
    else if (message.type === 'member_joined' && message.replaces !== undefined) this.relay.memberGone(room.id, message.replaces);
    if (this.port.hasRoomEventListeners) this.port.roomEvent(room, message);
  }

  sessionEnded(member: MemberRecord, node: NodeId, closeCode: number, reason: string): void {
    if (node !== this.nodeId) return;
    this.members.sessionEnded(member, closeCode, reason);
  }

  memberChanged(member: MemberRecord): void {
    this.members.memberChanged(member);
  }

  nodeLost(node: NodeId, why: 'timeout' | 'bye'): void {
    if (node !== this.nodeId) {
      this.log.warn({ lost: node, why }, 'node lost: its members are detached until they resume or time out');
      return;
    }
    // The others stopped hearing this node (it could not publish for a while): its members were
    // detached. Those still connected here are taken back (local-members.ts, `reattach`).
    const joined = this.joinedSessions();
    this.log.error({ why, sessions: joined.length }, 'this node was declared lost by the cluster; re-attaching its connected members');
    this.members.reattach(joined);
  }

  live(resync: boolean): void {
    this.log.info({ node: this.nodeId, resync, ...this.state.size }, resync ? 'room state resynchronised' : 'room state in sync, node ready');
  }

  lost(reason: string): void {
    this.log.error({ reason }, 'room state lost; asking local clients to resume while it is fetched again');
    for (const session of [...this.sessions]) {
      if (session.state === 'joined') session.close(CloseCode.Reconnect, 'cluster state resync; resume');
    }
    this.port.failAll(`cluster state lost (${reason})`);
    this.members.giveUpOnMemberships();
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
    this.relay.stop();
    const joined = this.joinedSessions();
    for (const session of this.sessions) if (session.state !== 'joined') session.close(CloseCode.Unavailable, 'gateway shutting down');
    this.log.info({ sessions: joined.length, spreadMs }, 'draining: asking clients to resume on other nodes');
    await this.sendAway(joined, 'draining', 'node draining; resume on another node', spreadMs);
    this.members.forgetRequests();
    await this.replica.close(2000);
    await this.bus.close();
    this.log.info({}, 'drained');
  }
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
