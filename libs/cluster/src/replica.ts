import { randomBytes } from 'node:crypto';
import type { Bus, EventMeta } from '@voiceroom/bus';
import type { Logger, NodeId } from '@voiceroom/protocol';
import { ClusterState, type StateListener } from './cluster-state';
import { parseLogEntry, type LogEntry, type SnapshotEntry } from './log-events';

/** Raw bytes per snapshot part (base64 in the entry). */
const SNAPSHOT_PART_BYTES = 32 * 1024; // base64 + envelope stays under a bus entry's 64 KiB
/** Entries held while waiting for a snapshot; more than this restarts the sync. */
const MAX_BUFFERED = 200_000;

const RECENT = 1024;
/** Own entries timed for onRoundTrip at most (the oldest is forgotten beyond: lost or refused publishes). */
const MAX_TIMED = 4096;

/**
 * A syncing node that sees this many of its own beats, and no live node's, starts the state alone;
 * more when its node timeout spans more beats (aloneAfterBeats).
 */
const ALONE_AFTER_BEATS = 3;

function entryId(entry: LogEntry | undefined, origin: NodeId): string {
  return entry ? `${origin}/${entry.inc}/${entry.n}` : '';
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type NewEntry = DistributiveOmit<LogEntry, 'inc' | 'n'>;

export interface ReplicaOptions {
  bus: Bus;
  log: Logger;
  /** How often this node beats on the log. */
  beatIntervalMs: number;
  /** Other nodes declare this one lost after this long without a beat. */
  timeoutMs: number;
  /** How long to wait for a snapshot after a hello before asking again (or starting alone). */
  syncTimeoutMs: number;
  /** This node's NODE_URL, carried in its beats ('' or undefined: none). */
  url?: string;
}

export interface ReplicaListener extends StateListener {
  /** The replica holds the cluster state from now on (first sync or a resync). */
  live(resync: boolean): void;
  /** The replica lost track of the log and is syncing again: local sessions no longer match. */
  lost(reason: string): void;
}

interface Buffered {
  entry: LogEntry | undefined;
  origin: NodeId;
  position: number;
  index: number;
  count: number;
  birth: number;
}

/** Where an entry stands relative to the one after `last`: already seen, next, or past a gap. */
function order(last: { position: number; index: number; count: number }, at: { position: number; index: number }): -1 | 0 | 1 {
  const sameMessage = last.index + 1 < last.count;
  const nextPosition = sameMessage ? last.position : last.position + 1;
  const nextIndex = sameMessage ? last.index + 1 : 0;
  if (at.position < nextPosition || (at.position === nextPosition && at.index < nextIndex)) return -1;
  return at.position === nextPosition && at.index === nextIndex ? 0 : 1;
}

/**
 * Keeps this node's ClusterState in step with the event log: applies entries in position order,
 * skips redeliveries, resynchronises on a gap, syncs a starting node from a snapshot another
 * node publishes, answers other nodes' hellos, and beats.
 *
 * Sync: the node publishes `hello`; from its own hello on it buffers every entry. A live node
 * (the one with the smallest id) applies the hello and publishes the state as it was right after it, in parts; the new node
 * loads that and applies the buffered entries after the hello. If the log shows three of its own
 * beats and no live node's beat, the node starts alone from an empty state at its hello.
 */
export class Replica {
  readonly state: ClusterState;
  readonly inc = randomBytes(6).toString('base64url');
  status: 'idle' | 'syncing' | 'live' | 'closed' = 'idle';
  /** Counters for /metrics. */
  readonly counters = { gaps: 0, resyncs: 0, snapshotsSent: 0, malformed: 0, duplicates: 0 };
  /**
   * Set (metrics) to time this node's own entries: called with the milliseconds from publish to
   * their application here, for entries applied while live (not those replayed after a sync).
   */
  onRoundTrip: ((ms: number) => void) | undefined;
  /** n of own entries published → performance.now() at publish (while onRoundTrip is set). */
  private readonly sentAt = new Map<number, number>();
  private n = 0;
  private buffer: Buffered[] = [];
  /** Last applied entry (position and index within its message). */
  private cursor = { position: -1, index: 0, count: 1 };
  /** Hellos applied in the current message, answered at its end. */
  private hellos: { node: NodeId; inc: string }[] = [];
  private helloSeenAt: number | undefined;
  private livePeerSeen = false;
  /** This node's beats in the log since its hello with no live beat of another node between them. */
  private ownBeatsAlone = 0;
  private readonly parts = new Map<number, { parts: number; data: Map<number, string> }>();
  private syncTimer: NodeJS.Timeout | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private beatPending = false;
  /** Wall-clock time this node last saw one of its own beats applied (or went live). */
  private ownBeatSeenAt = 0;
  /** Since when its own beats have come back without a silence of half a node timeout. */
  private flowingSince = 0;
  /** Identity of the last RECENT applied entries by position, to tell redeliveries from rewrites. */
  private readonly recent: ({ position: number; id: string } | undefined)[] = new Array<{ position: number; id: string } | undefined>(RECENT);
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(
    readonly nodeId: NodeId,
    private readonly options: ReplicaOptions,
    private readonly listener: ReplicaListener,
  ) {
    this.state = new ClusterState(listener, (node, inc) => this.onHello(node, inc));
  }

  isLive(): boolean {
    return this.status === 'live';
  }

  /**
   * How long ago this node last saw its own beat come back from the log (undefined unless live).
   * Beyond the node timeout, any node still hearing the log has declared this one lost.
   */
  ownBeatAgeMs(now = Date.now()): number | undefined {
    return this.status === 'live' ? now - this.ownBeatSeenAt : undefined;
  }

  /**
   * For how long the log has been flowing for this node: its own beats coming back with no
   * silence longer than half a node timeout (0 while silent; undefined unless live). After a
   * broker outage this restarts at the outage's end, which tells a node that was cut off alone
   * (the others flowed all along) from one that only reconnected later than the others.
   */
  logFlowingForMs(now = Date.now()): number | undefined {
    if (this.status !== 'live') return undefined;
    return now - this.ownBeatSeenAt > this.options.timeoutMs / 2 ? 0 : now - this.flowingSince;
  }

  /** Call once the bus is started. */
  start(): void {
    this.beatTimer = setInterval(() => this.beat(), this.options.beatIntervalMs);
    this.beatTimer.unref();
    this.sync();
  }

  /** Publishes an entry; the promise settles when the log stored it (not when it was applied). */
  publish(entry: NewEntry): Promise<void> {
    const full = { ...entry, inc: this.inc, n: ++this.n };
    if (this.onRoundTrip) {
      this.sentAt.set(full.n, performance.now());
      if (this.sentAt.size > MAX_TIMED) this.sentAt.delete(this.sentAt.keys().next().value as number);
    }
    return this.options.bus.publishEvent(this.encoder.encode(JSON.stringify(full)));
  }

  /** Bus handler for the event lane. */
  onEvent(payload: Uint8Array, meta: EventMeta): void {
    if (this.status === 'idle' || this.status === 'closed') return;
    const entry = payload.length === 0 ? undefined : parseLogEntry(this.decoder.decode(payload));
    if (!entry && payload.length > 0) this.counters.malformed++;
    const item: Buffered = { entry, origin: meta.origin, position: meta.position, index: meta.index, count: meta.count, birth: meta.birth };
    if (this.status === 'syncing') {
      this.onSyncing(item);
      return;
    }
    const where = order(this.cursor, item);
    if (where < 0) {
      // A redelivery carries the entry applied at that position. Anything else means the log
      // reused positions (a broker lost its tail): this state can no longer be trusted.
      const seen = this.recent[item.position % RECENT];
      if (item.index === 0 && seen !== undefined && seen.position === item.position && seen.id !== entryId(entry, item.origin)) {
        this.options.log.error({ position: item.position }, 'event log position reused by another entry; resynchronising');
        this.resync('event log rewritten');
        return;
      }
      this.counters.duplicates++;
      return;
    }
    if (where > 0) {
      this.counters.gaps++;
      this.options.log.error(
        { after: this.cursor, got: { position: item.position, index: item.index } },
        'event log gap: resynchronising from a snapshot (if this repeats, check the event topic has exactly one queue)',
      );
      this.resync('event log gap');
      this.onSyncing(item);
      return;
    }
    this.applyOne(item);
    if (this.sentAt.size > 0 && entry && item.origin === this.nodeId && entry.inc === this.inc) {
      const sentAt = this.sentAt.get(entry.n);
      if (sentAt !== undefined) {
        this.sentAt.delete(entry.n);
        this.onRoundTrip?.(performance.now() - sentAt);
      }
    }
  }

  private applyOne(item: Buffered): void {
    const { entry, origin, position, index, count, birth } = item;
    this.cursor = { position, index, count };
    if (index === 0) this.recent[position % RECENT] = { position, id: entryId(entry, origin) };
    if (entry?.t === 'beat' && origin === this.nodeId && entry.inc === this.inc) this.ownBeatBack();
    if (!entry) {
      this.state.position = position;
    } else {
      try {
        this.state.apply(entry, origin, position, birth);
      } catch (error) {
        // A bug in apply leaves the state half-changed: get a clean copy.
        this.options.log.error({ err: error, entry: entry.t, origin, position }, 'applying a log entry failed; resynchronising');
        this.resync('apply failed');
        return;
      }
    }
    // A snapshot holds whole positions: hellos are answered once their message is applied.
    if (index === count - 1 && this.hellos.length > 0) this.answerHellos(position);
  }

  private ownBeatBack(): void {
    const now = Date.now();
    if (now - this.ownBeatSeenAt > this.options.timeoutMs / 2) this.flowingSince = now;
    this.ownBeatSeenAt = now;
  }

  // ---- sync -----------------------------------------------------------------------------------

  private sync(): void {
    this.status = 'syncing';
    this.buffer = [];
    this.parts.clear();
    this.helloSeenAt = undefined;
    this.livePeerSeen = false;
    this.ownBeatsAlone = 0;
    this.sendHello();
  }

  private sendHello(): void {
    clearTimeout(this.syncTimer);
    this.publish({ t: 'hello', timeoutMs: this.options.timeoutMs }).catch((error: unknown) => {
      this.options.log.warn({ err: error }, 'hello not published; asking again');
    });
    this.syncTimer = setTimeout(() => this.onSyncTimeout(), this.options.syncTimeoutMs);
    this.syncTimer.unref();
  }

  /** No snapshot in time: ask again if a live node exists; otherwise the own-beat rule decides. */
  private onSyncTimeout(): void {
    if (this.status !== 'syncing') return;
    if (this.livePeerSeen || this.helloSeenAt === undefined) {
      this.options.log.warn({ helloSeen: this.helloSeenAt !== undefined, livePeer: this.livePeerSeen }, 'no snapshot yet; asking again');
      this.livePeerSeen = false;
      this.sendHello();
      return;
    }
    this.syncTimer = setTimeout(() => this.onSyncTimeout(), this.options.syncTimeoutMs);
    this.syncTimer.unref();
  }

  private onSyncing(item: Buffered): void {
    const { entry, origin } = item;
    if (this.helloSeenAt === undefined) {
      // Before our own hello nothing matters: any snapshot is taken at or after it.
      if (entry?.t === 'hello' && origin === this.nodeId && entry.inc === this.inc) {
        this.helloSeenAt = item.position;
      } else {
        return;
      }
    }
    const last = this.buffer[this.buffer.length - 1];
    const where = last ? order(last, item) : 0;
    if (where < 0) return; // redelivery
    if (where > 0 || this.buffer.length >= MAX_BUFFERED) {
      this.options.log.warn({ after: last?.position, got: item.position }, 'event log gap while syncing; starting over');
      this.sync();
      return;
    }
    this.buffer.push(item);
    if (!entry) return;
    if (entry.t === 'beat' && origin !== this.nodeId && entry.live) {
      this.livePeerSeen = true;
      this.ownBeatsAlone = 0;
    }
    if (entry.t === 'beat' && origin === this.nodeId && entry.inc === this.inc && !this.livePeerSeen && ++this.ownBeatsAlone >= this.aloneAfterBeats()) {
      // Decided by the log, not by timing: a live node beats at least once per node timeout (three
      // times, with the same settings), so its beat would stand between ours. Nobody holds the
      // state: start it at our hello (empty on a first start; after a resync, the state as it was
      // before the gap, without the entries missed).
      this.options.log.info({ at: this.buffer[0]!.position }, 'no live node in the log: starting the cluster state empty');
      this.goLive(this.buffer[0]!.position - 1);
      return;
    }
    if (entry.t === 'hello' && origin === this.nodeId && entry.inc === this.inc && this.options.bus.isSoleNode()) {
      this.goLive(this.buffer[0]!.position - 1);
      return;
    }
    if (entry.t === 'snapshot' && entry.for === this.nodeId && entry.forInc === this.inc) this.onSnapshotPart(entry);
  }

  private onSnapshotPart(entry: SnapshotEntry): void {
    let pending = this.parts.get(entry.at);
    if (!pending) {
      pending = { parts: entry.parts, data: new Map() };
      this.parts.set(entry.at, pending);
    }
    pending.data.set(entry.part, entry.data);
    if (pending.data.size < pending.parts) return;
    const first = this.buffer[0];
    if (!first || first.position > entry.at + 1) return; // we did not buffer from there on
    try {
      const chunks: Buffer[] = [];
      for (let i = 0; i < pending.parts; i++) chunks.push(Buffer.from(pending.data.get(i) ?? '', 'base64'));
      this.state.load(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      this.options.log.error({ err: error, at: entry.at }, 'snapshot unreadable; asking again');
      this.parts.delete(entry.at);
      return;
    }
    this.options.log.info({ at: entry.at, ...this.state.size }, 'cluster state loaded from a snapshot');
    this.goLive(entry.at, true);
  }

  /**
   * Own beats in a row, with no live node's beat between them, that mean nobody else holds the
   * state: enough to span a whole node timeout, and at least ALONE_AFTER_BEATS. Three beats were
   * not enough: a live node whose beats were late for a moment (a busy machine, a slow send; a
   * node queues at most one beat) went unseen, and a node resyncing after a gap then went live on
   * its own, without the entries it had missed: a join in that gap never reached its members
   * (issue #12, item 10). A node that has not beaten for a whole timeout is lost anyway.
   */
  private aloneAfterBeats(): number {
    const { timeoutMs, beatIntervalMs } = this.options;
    return Math.max(ALONE_AFTER_BEATS, Math.ceil(timeoutMs / Math.max(1, beatIntervalMs)));
  }

  /** Applies buffered entries after `from` on the current state and goes live. */
  private goLive(from: number, loaded = false): void {
    clearTimeout(this.syncTimer);
    const resync = this.counters.resyncs > 0;
    if (!loaded) this.state.position = from;
    this.cursor = { position: from, index: 0, count: 1 };
    this.hellos = [];
    const buffered = this.buffer;
    this.buffer = [];
    this.parts.clear();
    this.status = 'live';
    this.ownBeatSeenAt = this.flowingSince = Date.now();
    for (const item of buffered) {
      if (item.position <= from) continue;
      if (this.status !== 'live') {
        // A resync started while applying: keep buffering.
        this.onSyncing(item);
        continue;
      }
      this.applyOne(item);
    }
    if (this.status !== 'live') return;
    this.beat(); // tell the others at once that this node can answer hellos
    this.listener.live(resync);
  }

  private resync(reason: string): void {
    this.counters.resyncs++;
    this.listener.lost(reason);
    this.sync();
  }

  /**
   * Called by the state when a hello was applied: the live node with the smallest id answers it
   * (if that one is gone, the asker times out and asks again after the node is declared lost).
   */
  private onHello(node: NodeId, inc: string): void {
    if (node !== this.nodeId && this.status === 'live') this.hellos.push({ node, inc });
  }

  private answerHellos(position: number): void {
    const hellos = this.hellos;
    this.hellos = [];
    for (const { node, inc } of hellos) {
      let responder: NodeId | undefined;
      for (const candidate of this.state.nodes.values()) {
        if (candidate.live && candidate.id !== node && (responder === undefined || candidate.id < responder)) responder = candidate.id;
      }
      if (responder !== this.nodeId) continue;
      const bytes = Buffer.from(this.state.snapshot(), 'utf8');
      const parts = Math.max(1, Math.ceil(bytes.length / SNAPSHOT_PART_BYTES));
      this.counters.snapshotsSent++;
      this.options.log.info({ for: node, at: position, bytes: bytes.length, parts }, 'sending a snapshot');
      for (let part = 0; part < parts; part++) {
        const data = bytes.subarray(part * SNAPSHOT_PART_BYTES, (part + 1) * SNAPSHOT_PART_BYTES).toString('base64');
        this.publish({ t: 'snapshot', for: node, forInc: inc, at: position, part, parts, data }).catch((error: unknown) => {
          this.options.log.warn({ err: error, for: node }, 'snapshot part not published (the node will ask again)');
        });
      }
    }
  }

  private beat(): void {
    if (this.beatPending || this.status === 'idle' || this.status === 'closed') return;
    this.beatPending = true;
    const url = this.options.url;
    this.publish({ t: 'beat', live: this.status === 'live', timeoutMs: this.options.timeoutMs, ...(url ? { url } : {}) })
      .catch(() => undefined) // the bus logs failures; the next beat tries again
      .finally(() => {
        this.beatPending = false;
      });
  }

  /** Says goodbye on the log (bounded wait) and stops. */
  async close(waitMs: number): Promise<void> {
    if (this.status === 'closed') return;
    const wasLive = this.status === 'live';
    clearInterval(this.beatTimer);
    clearTimeout(this.syncTimer);
    if (wasLive || this.status === 'syncing') {
      await Promise.race([this.publish({ t: 'bye' }).catch(() => undefined), new Promise((r) => setTimeout(r, waitMs))]);
    }
    this.status = 'closed';
  }
}
