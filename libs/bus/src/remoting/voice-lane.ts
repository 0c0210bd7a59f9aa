import type { Logger, NodeId, RoomId } from '@voiceroom/protocol';
import { BatchWriter } from '../batch-codec';
import type { BusStats } from '../bus';
import { BrokerLink } from './broker-link';
import { RequestCode, ResponseCode } from './remoting-codec';
import { forEachStoredMessage, type StoredMessage } from './stored-messages';
import type { QueueTarget } from './topic-route';
import { fetchMappedRoute, pullFields, pullTimeoutMs, queueTailOffset, ROUTE_REFRESH_MS } from './queue-pull';

export interface VoiceLaneOptions {
  nodeId: NodeId;
  /** NameServer addresses (host:port), tried in turn for the topic's route. */
  nameServers: string[];
  /** Advertised broker address → address to connect to (unlisted: as advertised). */
  brokerAddressMap: Readonly<Record<string, string>>;
  topic: string;
  /** Named in pull requests; offsets are kept by each node and never committed, so one group serves the cluster. */
  consumerGroup: string;
  /** At most one message per queue per this interval. */
  minIntervalMs: number;
  maxBatchBytes: number;
  /** Frames older than this are not sent. */
  deadlineMs: number;
  requestTimeoutMs: number;
  log: Logger;
  /** The bus's counters: the lane adds to the voice ones. */
  counters: BusStats;
}

/** Body of a stored voice message (a batch from batch-codec), valid during the call. */
export type VoiceSink = (body: Buffer) => void;

const PRODUCER_GROUP = 'voiceroom-voice-producer';
/**
 * Each voice message carries its origin node in this property, and each node pulls with an SQL92
 * filter that leaves its own messages on the broker: the broker does not wake a pull for them or
 * send them back, which halves the pull traffic of a two-node cluster. Needs the broker's
 * `enablePropertyFilter=true`; without it the lane pulls everything and drops its echo itself.
 */
const ORIGIN_PROPERTY = 'vr_origin';
const NAME_VALUE = '\u0001';
const PROPERTY_END = '\u0002';
const PULL_OUTCOMES = new Set<number>([ResponseCode.SUCCESS, ResponseCode.PULL_NOT_FOUND, ResponseCode.PULL_RETRY_IMMEDIATELY, ResponseCode.PULL_OFFSET_MOVED]);
/** Send results that mean "stored on the master" (flush or replica waits only). */
const STORED = new Set([ResponseCode.SUCCESS, 10, 11, 12]);

/** One writable queue's outgoing batch: one send in flight at a time keeps publish order. */
interface Outbox {
  target: QueueTarget;
  link: BrokerLink;
  writer: BatchWriter;
  inFlight: boolean;
  lastSendAt: number;
  timer: NodeJS.Timeout | undefined;
  flush: () => void;
}

/**
 * The voice lane on RocketMQ's remoting protocol, straight to the brokers that hold the voice
 * topic (found through the NameServer), as RocketMQ's own Java clients do:
 * - publish: frames are packed per queue (room → queue by a hash every node computes alike),
 *   one SEND_MESSAGE_V2 per batch, at most one in flight per queue;
 * - receive: every node long-polls every queue with PULL_MESSAGE from the tail it found at start.
 *   A pull costs the broker no pop checkpoint, no ack and no timer entry, and one pull returns
 *   every message waiting (up to 32), where pop consumption costs a receive and an ack each.
 * At most once: nothing is retried; after a lost connection pulling resumes from the tail.
 */
export class VoiceLane {
  private readonly links = new Map<string, BrokerLink>();
  private outboxes: Outbox[] = [];
  private readable: QueueTarget[] = [];
  private readableKeys = new Set<string>();
  private routeKey = '';
  private routeTimer: NodeJS.Timeout | undefined;
  private sink: VoiceSink | undefined;
  private closed = false;
  private lastFailureLogAt = 0;
  /** The pull subscription: SQL92 "not mine" until a broker refuses it, then every message ('*'). */
  private filter: { subscription: string; expressionType: 'SQL92' | 'TAG' };
  private readonly properties: string;

  constructor(private readonly options: VoiceLaneOptions) {
    // Node ids are [A-Za-z0-9_.:-]: nothing to escape in the SQL string literal.
    this.filter = { subscription: `(${ORIGIN_PROPERTY} IS NULL) OR (${ORIGIN_PROPERTY} <> '${options.nodeId}')`, expressionType: 'SQL92' };
    this.properties = `${ORIGIN_PROPERTY}${NAME_VALUE}${options.nodeId}${PROPERTY_END}`;
  }

  /** Resolves once every queue is being pulled from its tail; rejects if the route or a broker is unreachable. */
  async start(sink: VoiceSink): Promise<void> {
    this.sink = sink;
    try {
      await this.applyRoute(await this.fetchRoute());
    } catch (error) {
      this.closeLinks();
      throw error;
    }
    this.routeTimer = setInterval(() => void this.refreshRoute(), ROUTE_REFRESH_MS);
    this.routeTimer.unref();
  }

  /** False when the frame could not be queued (no queue, or the batch is full while a send is pending). */
  publish(room: RoomId, frame: Uint8Array, now: number): boolean {
    const outboxes = this.outboxes;
    if (outboxes.length === 0) return false;
    const outbox = outboxes.length === 1 ? (outboxes[0] as Outbox) : (outboxes[roomHash(room) % outboxes.length] as Outbox);
    if (!outbox.writer.append(room, frame, now)) return false;
    if (!outbox.inFlight && outbox.timer === undefined) this.schedule(outbox, now);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.routeTimer);
    for (const outbox of this.outboxes) clearTimeout(outbox.timer);
    this.outboxes = [];
    this.closeLinks();
  }

  private schedule(outbox: Outbox, now: number): void {
    const wait = outbox.lastSendAt + this.options.minIntervalMs - now;
    outbox.timer = setTimeout(outbox.flush, wait > 0 ? wait : 0);
  }

  private send(outbox: Outbox): void {
    outbox.timer = undefined;
    const count = outbox.writer.size;
    if (count === 0 || this.closed) return;
    const counters = this.options.counters;
    const now = Date.now();
    if (now - outbox.writer.birth > this.options.deadlineMs) {
      counters.voiceFramesDropped += count;
      outbox.writer.clear();
      return;
    }
    const body = outbox.writer.take();
    outbox.inFlight = true;
    outbox.lastSendAt = now;
    const { topic, requestTimeoutMs } = this.options;
    const header = {
      a: PRODUCER_GROUP,
      b: topic,
      c: 'TBW102',
      d: 4,
      e: outbox.target.queueId,
      f: 0,
      g: now,
      h: 0,
      i: this.properties,
      j: 0,
      k: false,
      m: false,
    };
    outbox.link.request(RequestCode.SEND_MESSAGE_V2, header, body, requestTimeoutMs).then(
      (response) => {
        if (STORED.has(response.code)) counters.voiceMessagesPublished++;
        else this.failed(count, `${response.code} ${response.remark ?? ''}`);
        this.sent(outbox);
      },
      (error: unknown) => {
        this.failed(count, error instanceof Error ? error.message : String(error));
        this.sent(outbox);
      },
    );
  }

  private sent(outbox: Outbox): void {
    outbox.inFlight = false;
    if (outbox.writer.size > 0 && outbox.timer === undefined && !this.closed && this.outboxes.includes(outbox)) this.schedule(outbox, Date.now());
  }

  private failed(frames: number, reason: string): void {
    const counters = this.options.counters;
    counters.voicePublishFailures++;
    counters.voiceFramesDropped += frames;
    const now = Date.now();
    if (now - this.lastFailureLogAt > 5000) {
      this.lastFailureLogAt = now;
      this.options.log.warn({ reason, framesDropped: counters.voiceFramesDropped }, 'voice publish failed (logged at most every 5 s)');
    }
  }

  /** Long-polls one queue until the link's connection changes or the lane closes. */
  private async pull(target: QueueTarget, link: BrokerLink, from?: number): Promise<void> {
    const generation = link.generation;
    const { topic, consumerGroup, requestTimeoutMs } = this.options;
    const counters = this.options.counters;
    const key = targetKey(target);
    let offset: number;
    try {
      offset = from ?? (await this.tailOffset(target, link));
    } catch (error) {
      if (link.generation === generation) link.reset(`could not read the tail of queue ${target.queueId}: ${(error as Error).message}`);
      return;
    }
    const base = pullFields(consumerGroup, topic, target.queueId);
    while (!this.closed && link.generation === generation && this.readableKeys.has(key)) {
      let response;
      try {
        response = await link.request(RequestCode.PULL_MESSAGE, { ...base, ...this.filter, queueOffset: offset }, undefined, pullTimeoutMs(requestTimeoutMs));
      } catch (error) {
        if (link.generation === generation) link.reset(`pull failed: ${(error as Error).message}`);
        return;
      }
      counters.voicePulls++;
      const next = response.extFields.nextBeginOffset;
      if (next !== undefined) offset = Number(next);
      if (response.code === ResponseCode.SUCCESS && response.body && this.sink) {
        const sink = this.sink;
        const visit = (message: StoredMessage) => {
          if (message.compressed)
            counters.malformedMessagesDropped++; // never ours: the lane does not compress
          else sink(message.body);
        };
        if (!forEachStoredMessage(response.body, visit)) counters.malformedMessagesDropped++;
      } else if (this.filter.expressionType === 'SQL92' && !PULL_OUTCOMES.has(response.code)) {
        this.options.log.info(
          { code: response.code, remark: response.remark },
          'voice lane: the broker refuses SQL92 filters (enablePropertyFilter=false?); pulling every message and dropping our own',
        );
        this.filter = { subscription: '*', expressionType: 'TAG' };
      } else if (!PULL_OUTCOMES.has(response.code)) {
        this.options.log.warn({ code: response.code, remark: response.remark, queueId: target.queueId }, 'voice pull refused; retrying in 1 s');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private tailOffset(target: QueueTarget, link: BrokerLink): Promise<number> {
    return queueTailOffset(link, this.options.topic, target.queueId, this.options.requestTimeoutMs);
  }

  private fetchRoute(): Promise<QueueTarget[]> {
    return fetchMappedRoute(this.options.nameServers, this.options.topic, this.options.requestTimeoutMs, this.options.brokerAddressMap);
  }

  private async refreshRoute(): Promise<void> {
    try {
      const targets = await this.fetchRoute();
      if (!this.closed && routeKey(targets) !== this.routeKey) await this.applyRoute(targets);
    } catch (error) {
      this.options.log.warn({ err: (error as Error).message }, 'voice lane: route refresh failed; keeping the last route');
    }
  }

  /** (Re)builds links, outboxes and pullers for a route; queues kept across a change keep pulling. */
  private async applyRoute(targets: QueueTarget[]): Promise<void> {
    if (targets.length === 0) throw new Error(`topic ${this.options.topic} has no queue on a master broker`);
    const addresses = new Set(targets.map((t) => t.address));
    for (const [address, link] of this.links) {
      if (!addresses.has(address)) {
        link.close();
        this.links.delete(address);
      }
    }
    const opened: BrokerLink[] = [];
    for (const address of addresses) {
      if (this.links.has(address)) continue;
      const link = new BrokerLink(address, this.options.requestTimeoutMs, this.options.log, (up) => this.startPulls(up));
      await link.open();
      this.links.set(address, link);
      opened.push(link);
    }
    const linkOf = (t: QueueTarget) => this.links.get(t.address) as BrokerLink;
    for (const outbox of this.outboxes) {
      // Frames waiting for a queue that the new route maps differently: dropped, counted.
      clearTimeout(outbox.timer);
      this.options.counters.voiceFramesDropped += outbox.writer.size;
      outbox.writer.clear();
    }
    this.outboxes = targets.filter((t) => t.writable).map((target) => this.outbox(target, linkOf(target)));
    const previous = this.readableKeys;
    this.readable = targets.filter((t) => t.readable);
    this.readableKeys = new Set(this.readable.map(targetKey));
    this.routeKey = routeKey(targets);
    const started = this.readable.filter((t) => !previous.has(targetKey(t)) || opened.includes(linkOf(t)));
    await Promise.all(started.map((t) => this.positioned(t, linkOf(t))));
    this.options.log.info({ topic: this.options.topic, queues: this.readable.length, brokers: [...addresses] }, 'voice lane: pulling');
  }

  private startPulls(link: BrokerLink): void {
    for (const target of this.readable) if (target.address === link.address) void this.pull(target, link);
  }

  /** Starts a pull loop and resolves once it knows its tail offset (so nothing later is missed). */
  private async positioned(target: QueueTarget, link: BrokerLink): Promise<void> {
    const offset = await this.tailOffset(target, link); // fails the start early if the broker refuses
    void this.pull(target, link, offset);
  }

  private outbox(target: QueueTarget, link: BrokerLink): Outbox {
    const outbox: Outbox = {
      target,
      link,
      writer: new BatchWriter(this.options.nodeId, this.options.maxBatchBytes),
      inFlight: false,
      lastSendAt: 0,
      timer: undefined,
      flush: () => this.send(outbox),
    };
    return outbox;
  }

  private closeLinks(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }
}

const targetKey = (t: QueueTarget) => `${t.brokerName}@${t.address}#${t.queueId}`;
const routeKey = (targets: QueueTarget[]) => targets.map((t) => `${targetKey(t)}:${t.readable ? 'r' : ''}${t.writable ? 'w' : ''}`).join(',');

/** FNV-1a over the id's characters (ids are ASCII): the same queue for a room on every node. */
export function roomHash(room: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < room.length; i++) {
    hash ^= room.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
