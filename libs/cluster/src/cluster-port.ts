import type { BusHandler, EventMeta } from '@voiceroom/bus';
import type { ErrorCode, Logger, NodeId, RoomEventMessage, RoomId } from '@voiceroom/protocol';
import type { ClusterState, JoinOutcome, MemberRecord, ResumeOutcome, RoomRecord } from './cluster-state';
import type { AdminEntry, BanEntry, RoomConfigEntry, UnbanEntry } from './log-events';
import { PendingRequests } from './pending-requests';
import { Replica, type ReplicaListener, type ReplicaOptions } from './replica';

export { PendingRequests } from './pending-requests';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the admin API asks of the cluster: entries it publishes on the event log. */
export type AdminRequest = DistributiveOmit<RoomConfigEntry | BanEntry | UnbanEntry | AdminEntry, 'inc' | 'n' | 'req'>;

export interface Refusal {
  code: ErrorCode;
  message: string;
}

/** The event log did not store or apply a request in time (broker unreachable, node not in sync). */
export class ClusterUnavailableError extends Error {
  readonly code = 'CLUSTER_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterUnavailableError';
  }
}

export type RoomEventListener = (room: RoomRecord, message: RoomEventMessage) => void;

/**
 * The admin API's view of the cluster: the replicated room state (read only), and requests that
 * go through the event log and resolve once the log applied them (on this node, which means on
 * every node: the gateway holding a member acts on the same entry).
 */
export interface ClusterPort {
  readonly nodeId: NodeId;
  readonly state: ClusterState;
  isLive(): boolean;
  /** Resolves with the refusal, or undefined when applied. Rejects with ClusterUnavailableError. */
  request(request: AdminRequest): Promise<Refusal | undefined>;
  /** Room events as the log applies them, in order (the chat archive listens here). */
  onRoomEvent(listener: RoomEventListener): void;
}

/**
 * The ClusterPort of one node of the log, built here once for both kinds of node: a gateway
 * (`GatewayNode.clusterPort()`, what an embedded admin API uses) and the admin API's own
 * `ObserverNode`. It publishes requests through the node's replica with a request id `admin.<n>`
 * and settles them when the node applies them; the node forwards its ReplicaListener callbacks
 * (`commandDone`, `roomEvent`, `lost`) to `done`, `roomEvent` and `failAll`.
 */
export class ReplicaClusterPort implements ClusterPort {
  /** `admin.` cannot collide with a gateway's own request ids (`<incarnation>.<n>`). */
  private readonly requests: PendingRequests<{ resolve: (r: Refusal | undefined) => void; reject: (e: Error) => void }>;
  private readonly listeners: RoomEventListener[] = [];

  constructor(
    private readonly replica: Pick<Replica, 'nodeId' | 'state' | 'isLive' | 'publish'>,
    private readonly timeoutMs: number,
    /** The refusal while the node is not in sync (ClusterUnavailableError's message). */
    private readonly notLiveMessage = 'this node is not in sync with the cluster yet',
  ) {
    this.requests = new PendingRequests(replica.nodeId, 'admin.', timeoutMs, (p) =>
      p.reject(new ClusterUnavailableError(`the event log did not apply the request within ${this.timeoutMs} ms`)),
    );
  }

  get nodeId(): NodeId {
    return this.replica.nodeId;
  }

  get state(): ClusterState {
    return this.replica.state;
  }

  isLive(): boolean {
    return this.replica.isLive();
  }

  request(request: AdminRequest): Promise<Refusal | undefined> {
    if (!this.replica.isLive()) return Promise.reject(new ClusterUnavailableError(this.notLiveMessage));
    return new Promise((resolve, reject) => {
      const req = this.requests.open({ resolve, reject });
      this.replica.publish({ ...request, req }).catch((error: unknown) => {
        const p = this.requests.take(this.replica.nodeId, req);
        p?.reject(new ClusterUnavailableError(`the event log did not store the request: ${error instanceof Error ? error.message : String(error)}`));
      });
    });
  }

  onRoomEvent(listener: RoomEventListener): void {
    this.listeners.push(listener);
  }

  /** Whether anyone listens to room events (the gateway skips the call on its hot path otherwise). */
  get hasRoomEventListeners(): boolean {
    return this.listeners.length > 0;
  }

  // ---- called by the node (its ReplicaListener) -----------------------------------------------

  /** True when `req` was one of ours (then it is settled). */
  done(origin: NodeId, req: string, error: Refusal | undefined): boolean {
    const p = this.requests.take(origin, req);
    if (!p) return false;
    p.resolve(error);
    return true;
  }

  roomEvent(room: RoomRecord, message: RoomEventMessage): void {
    for (const listener of this.listeners) listener(room, message);
  }

  /** Rejects everything pending (the node lost the state or is closing). */
  failAll(reason: string): void {
    for (const p of this.requests.takeAll()) p.reject(new ClusterUnavailableError(reason));
  }
}

/**
 * A node of the event log that holds no sessions: the admin API in a cluster. It keeps the
 * replicated state (rosters for the API, rooms for the chat archive) and publishes admin
 * requests. It beats like a gateway, and can answer a new node's snapshot request.
 */
export class ObserverNode implements ClusterPort, ReplicaListener, BusHandler {
  readonly replica: Replica;
  private readonly port: ReplicaClusterPort;

  constructor(
    readonly nodeId: NodeId,
    options: ReplicaOptions & { requestTimeoutMs: number },
    private readonly log: Logger,
  ) {
    this.replica = new Replica(nodeId, options, this);
    this.port = new ReplicaClusterPort(this.replica, options.requestTimeoutMs);
  }

  // ---- ClusterPort: the shared one (ReplicaClusterPort) -----------------------------------------
  get state(): ClusterState {
    return this.port.state;
  }
  isLive(): boolean {
    return this.port.isLive();
  }
  request(request: AdminRequest): Promise<Refusal | undefined> {
    return this.port.request(request);
  }
  onRoomEvent(listener: RoomEventListener): void {
    this.port.onRoomEvent(listener);
  }

  // ---- BusHandler: events only (an observer has no voice to relay) ------------------------------
  onVoice(_room: RoomId, _frame: Uint8Array, _origin: NodeId): void {}
  onEvent(payload: Uint8Array, meta: EventMeta): void {
    this.replica.onEvent(payload, meta);
  }

  // ---- ReplicaListener ------------------------------------------------------------------------
  roomEvent(room: RoomRecord, message: RoomEventMessage): void {
    this.port.roomEvent(room, message);
  }
  joinDecided(_origin: NodeId, _req: string, _outcome: JoinOutcome): void {}
  resumeDecided(_origin: NodeId, _req: string, _outcome: ResumeOutcome): void {}
  commandDone(origin: NodeId, req: string, error?: Refusal): void {
    this.port.done(origin, req, error);
  }
  sessionEnded(_member: MemberRecord, _node: NodeId): void {}
  memberChanged(_member: MemberRecord): void {}
  nodeLost(node: NodeId, why: 'timeout' | 'bye'): void {
    if (node !== this.nodeId) this.log.warn({ lost: node, why }, 'node lost');
  }
  live(resync: boolean): void {
    this.log.info({ node: this.nodeId, resync, ...this.state.size }, 'cluster state in sync');
  }
  lost(reason: string): void {
    this.log.error({ reason }, 'cluster state lost; syncing again');
    this.port.failAll(`cluster state lost (${reason})`);
  }
}
