import type { Logger } from '@voiceroom/protocol';
import { BrokerLink } from './broker-link';
import { RequestCode, ResponseCode } from './remoting-codec';
import { fetchMappedRoute, pullFields, pullTimeoutMs, queueTailOffset, ROUTE_REFRESH_MS } from './queue-pull';
import { forEachStoredMessage, type StoredMessage } from './stored-messages';
import type { QueueTarget } from './topic-route';

export interface EventLogReaderOptions {
  /** NameServer addresses (host:port), tried in turn for the topic's route. */
  nameServers: string[];
  /** Advertised broker address → address to connect to (unlisted: as advertised). */
  brokerAddressMap: Readonly<Record<string, string>>;
  /** The event topic (namespaced as `namespace%name` where a namespace is used): exactly one queue. */
  topic: string;
  /** Named in pull requests; offsets are kept by each reader and never committed, so one group serves the cluster. */
  consumerGroup: string;
  requestTimeoutMs: number;
  log: Logger;
}

/**
 * Receives each stored message of the log, in queue-offset order, synchronously; `body` is valid
 * during the call only. Offsets are consecutive unless the broker no longer holds some (retention)
 * or lost its tail: the receiver sees the jump, or a position it has seen before.
 */
export type EventLogSink = (message: StoredMessage) => void;

const REFUSED_RETRY_MS = 1000;

/**
 * The event log read by offset: one queue, pulled with RocketMQ's remoting PULL_MESSAGE from the
 * offset after the last message delivered. Unlike pop consumption (what the gRPC PushConsumer
 * does), a pull never hands a message over twice or out of order: after a broker restart the
 * reader goes on from where it stopped, so the log's order survives a `kill -9` of the broker
 * (issue #12: pop redelivered unacknowledged entries after newer ones, and every node resynced at
 * once). A lost connection or a moved broker resumes at the same offset; nothing is committed on
 * the broker, so every node shares one consumer group name and none is left behind per node.
 */
export class EventLogReader {
  private link: BrokerLink | undefined;
  private target: QueueTarget | undefined;
  /** Offset of the next message to deliver. */
  private offset = 0;
  private sink: EventLogSink | undefined;
  private routeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: EventLogReaderOptions) {}

  /** Offset of the next message the reader will deliver. */
  get nextOffset(): number {
    return this.offset;
  }

  /**
   * Resolves once the reader knows the log's tail and pulls from it: every message stored after
   * that is delivered. Rejects if the route or the broker cannot be reached, or the topic has not
   * exactly one readable queue.
   */
  async start(sink: EventLogSink): Promise<void> {
    this.sink = sink;
    const target = await this.fetchTarget();
    const link = this.newLink(target);
    try {
      await link.open();
      this.offset = await this.maxOffset(link, target);
    } catch (error) {
      link.close();
      throw error;
    }
    this.link = link;
    this.target = target;
    void this.pull(link);
    this.routeTimer = setInterval(() => void this.refreshRoute(), ROUTE_REFRESH_MS);
    this.routeTimer.unref();
    this.options.log.info({ topic: this.options.topic, broker: target.address, from: this.offset }, 'event log: pulling');
  }

  close(): void {
    this.closed = true;
    this.sink = undefined;
    clearInterval(this.routeTimer);
    this.link?.close();
    this.link = undefined;
  }

  private newLink(target: QueueTarget): BrokerLink {
    return new BrokerLink(target.address, this.options.requestTimeoutMs, this.options.log, (up) => void this.pull(up), 'event log');
  }

  /** Long-polls the queue from `this.offset` until the link's connection changes or the reader closes. */
  private async pull(link: BrokerLink): Promise<void> {
    const generation = link.generation;
    const target = this.target;
    if (!target) return;
    const { topic, consumerGroup, requestTimeoutMs } = this.options;
    const base = { ...pullFields(consumerGroup, topic, target.queueId), subscription: '*', expressionType: 'TAG' };
    const current = () => !this.closed && this.link === link && link.generation === generation;
    while (current()) {
      let response;
      try {
        response = await link.request(RequestCode.PULL_MESSAGE, { ...base, queueOffset: this.offset }, undefined, pullTimeoutMs(requestTimeoutMs));
      } catch (error) {
        if (link.generation === generation) link.reset(`event pull failed: ${(error as Error).message}`);
        return;
      }
      if (!current()) return; // a newer loop owns the offset now
      const next = Number(response.extFields.nextBeginOffset);
      if (response.code === ResponseCode.SUCCESS && response.body) {
        this.deliver(response.body);
      } else if (response.code === ResponseCode.PULL_OFFSET_MOVED && Number.isFinite(next)) {
        // The broker no longer holds `offset` (retention), or its log is shorter than we read
        // (it lost its tail): go on where it says; the receiver sees the jump and resynchronises.
        this.options.log.warn({ topic, offset: this.offset, next }, 'event log: offset moved by the broker');
        this.offset = next;
      } else if (response.code !== ResponseCode.PULL_NOT_FOUND && response.code !== ResponseCode.PULL_RETRY_IMMEDIATELY) {
        this.options.log.warn({ code: response.code, remark: response.remark, topic }, 'event log: pull refused; retrying in 1 s');
        await new Promise((resolve) => setTimeout(resolve, REFUSED_RETRY_MS));
      }
    }
  }

  private deliver(body: Buffer): void {
    const sink = this.sink;
    const ok = forEachStoredMessage(body, (message) => {
      if (message.queueOffset < this.offset) return; // already delivered (never expected from a pull)
      this.offset = message.queueOffset + 1;
      if (!sink) return;
      try {
        sink(message);
      } catch (error) {
        this.options.log.error({ err: error, offset: message.queueOffset }, 'event log: the receiver threw; going on with the next message');
      }
    });
    if (!ok) {
      // Messages before the damage were delivered; the next pull starts after them, so a partial
      // response costs one more pull, never a message.
      this.options.log.warn({ topic: this.options.topic, offset: this.offset }, 'event log: malformed pull response; pulling again');
    }
  }

  private maxOffset(link: BrokerLink, target: QueueTarget): Promise<number> {
    return queueTailOffset(link, this.options.topic, target.queueId, this.options.requestTimeoutMs);
  }

  private async fetchTarget(): Promise<QueueTarget> {
    const { topic, nameServers, requestTimeoutMs, brokerAddressMap } = this.options;
    const readable = (await fetchMappedRoute(nameServers, topic, requestTimeoutMs, brokerAddressMap)).filter((t) => t.readable);
    if (readable.length !== 1) {
      throw new Error(
        `the event topic ${topic} has ${readable.length} readable queues; the event log needs exactly one (one order for every node): ` +
          'create it with one queue (rocketmq/topics.txt, docs/rocketmq.md)',
      );
    }
    return readable[0] as QueueTarget;
  }

  /** A broker that moved (a restarted pod has a new address) is followed at the same offset. */
  private async refreshRoute(): Promise<void> {
    let target: QueueTarget;
    try {
      target = await this.fetchTarget();
    } catch (error) {
      this.options.log.warn({ err: (error as Error).message }, 'event log: route refresh failed; keeping the last route');
      return;
    }
    const old = this.target;
    if (this.closed || !old || (old.address === target.address && old.brokerName === target.brokerName && old.queueId === target.queueId)) return;
    if (old.brokerName !== target.brokerName) {
      // Another broker's queue is another log: offsets do not carry over. Start at its tail; the
      // receiver sees positions it cannot place and resynchronises.
      this.options.log.error({ from: old.brokerName, to: target.brokerName }, 'event log: the event topic moved to another broker; reading it from its tail');
    }
    const link = this.newLink(target);
    try {
      await link.open();
      if (old.brokerName !== target.brokerName) this.offset = await this.maxOffset(link, target);
    } catch (error) {
      link.close();
      this.options.log.warn({ err: (error as Error).message, broker: target.address }, 'event log: the moved broker is not reachable yet');
      return;
    }
    if (this.closed) {
      link.close();
      return;
    }
    this.link?.close();
    this.link = link;
    this.target = target;
    this.options.log.info({ broker: target.address, from: this.offset }, 'event log: following the broker to its new address');
    void this.pull(link);
  }
}
