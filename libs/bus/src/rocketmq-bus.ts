import { format } from 'node:util';
import { Producer, type ILogger } from 'rocketmq-client-nodejs';
import type { Logger, NodeId, RoomId } from '@voiceroom/protocol';
import { BusClosedError, BusPublishError, emptyBusStats, type Bus, type BusHandler, type BusStats } from './bus';
import { BatchWriter, forEachEntry, MAX_ENTRY_BYTES, readBatchHeader } from './batch-codec';
import { VoiceLane } from './remoting/voice-lane';
import { EventLogReader } from './remoting/event-log-reader';
import type { StoredMessage } from './remoting/stored-messages';
import { boundGrpcReconnectBackoff } from './grpc-backoff';

export interface RocketMQBusOptions {
  nodeId: NodeId;
  /** gRPC endpoints of the RocketMQ proxy, e.g. "127.0.0.1:8081" (several separated by ';'): where events are published. */
  endpoints: string;
  /**
   * NameServer addresses, e.g. "127.0.0.1:9876" (several separated by ';'): the voice lane and the
   * event log reader find their topic's broker there and talk to it over RocketMQ's remoting protocol.
   */
  nameServers: string;
  /**
   * Broker addresses as the NameServer advertises them → where this node connects instead
   * (NAT, port forwarding, a test's TCP proxy). Unlisted addresses are used as given.
   */
  brokerAddressMap?: Readonly<Record<string, string>>;
  voiceTopic: string;
  eventTopic: string;
  /**
   * Names the consumer groups this node pulls with: prefix + `events` and prefix + `voice`. Pulls
   * read by offset and commit nothing, so every node of a kind shares them: node ids that come
   * and go leave no group behind on the broker.
   */
  consumerGroupPrefix: string;
  namespace?: string;
  /** RocketMQ ACL credentials for publishing events (the proxy); remoting pulls and voice sends sign nothing yet. */
  credentials?: { accessKey: string; secretKey: string };
  /** The event lane speaks TLS to the proxy (gRPC, system roots or GRPC_DEFAULT_SSL_ROOTS_FILE_PATH). */
  tls?: boolean;
  /** At most this many voice messages per second per queue of the voice topic (the linger follows from it). */
  maxVoiceMessagesPerSecond: number;
  /** Largest voice message body; frames beyond it while a send is pending are dropped. */
  maxVoiceBatchBytes: number;
  /** Voice older than this (from its birth on the publishing node) is dropped on both ends. */
  voiceDeadlineMs: number;
  /** Per-call timeout for producer sends and consumer calls. */
  requestTimeoutMs?: number;
  /**
   * Only the event lane: subscribe to the event topic alone (nodes that hold no voice sessions,
   * such as the admin API, would otherwise receive every voice frame of the cluster).
   */
  eventsOnly?: boolean;
  log: Logger;
}

const EVENT_RETRY_MIN_MS = 100;
/** Events travel one per message, in a batch entry whose room field is unused. */
const EVENT_ENTRY_ROOM = 'e' as RoomId;
const EMPTY = new Uint8Array(0);
const EVENT_RETRY_MAX_MS = 2000;
const EVENT_QUEUE_LIMIT = 10_000;
const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 10_000;

interface QueuedEvent {
  payload: Uint8Array;
  birth: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Largest single event (a batch entry's u16 length); a message packs queued events up to EVENT_MESSAGE_BYTES. */
const MAX_EVENT_BYTES = MAX_ENTRY_BYTES;
const EVENT_MESSAGE_BYTES = 256 * 1024;

export class RocketMQBus implements Bus {
  readonly kind = 'rocketmq';
  readonly nodeId: NodeId;
  private producer: Producer | undefined;
  private reader: EventLogReader | undefined;
  private handler: BusHandler | undefined;
  private startedAt = 0;
  private closed = false;
  private readonly counters = emptyBusStats();
  private readonly clientLogger: ILogger;

  private voice: VoiceLane | undefined;

  private readonly eventQueue: QueuedEvent[] = [];
  private eventSending = false;
  private readonly eventWriter: BatchWriter;

  constructor(private readonly options: RocketMQBusOptions) {
    boundGrpcReconnectBackoff(); // before the first client: the event lane reconnects within ~2 s
    this.nodeId = options.nodeId;
    this.eventWriter = new BatchWriter(options.nodeId, EVENT_MESSAGE_BYTES);
    this.clientLogger = clientLogger(options.log);
  }

  /** The consumer group the event log is pulled with (shared by every node with this prefix). */
  get consumerGroup(): string {
    return this.remotingName(`${this.options.consumerGroupPrefix}events`);
  }

  /** In a namespace, remoting names carry it as `namespace%name`. */
  private remotingName(name: string): string {
    return this.options.namespace ? `${this.options.namespace}%${name}` : name;
  }

  private nameServerList(): string[] {
    return this.options.nameServers
      .split(';')
      .map((a) => a.trim())
      .filter(Boolean);
  }

  /**
   * Starts fresh clients; a start that still hangs after the settings nudge below is abandoned
   * and tried again with new clients. May be called again after it failed.
   */
  async start(handler: BusHandler): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new BusClosedError();
      try {
        await this.startOnce(handler);
        return;
      } catch (error) {
        if (attempt >= START_ATTEMPTS || this.closed) throw error;
        this.options.log.warn({ err: error, attempt, consumerGroup: this.consumerGroup }, 'rocketmq clients did not start; retrying with new ones');
      }
    }
  }

  private async startOnce(handler: BusHandler): Promise<void> {
    const { voiceTopic, eventTopic } = this.options;
    this.startedAt = Date.now();
    const producer = new Producer({
      endpoints: this.options.endpoints,
      namespace: this.options.namespace ?? '',
      ...this.clientSecurity(),
      topics: [eventTopic],
      requestTimeout: this.options.requestTimeoutMs ?? 3000,
      maxAttempts: 1,
      logger: this.clientLogger,
    });
    const reader = new EventLogReader({
      nameServers: this.nameServerList(),
      brokerAddressMap: this.options.brokerAddressMap ?? {},
      topic: this.remotingName(eventTopic),
      consumerGroup: this.consumerGroup,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 3000,
      log: this.options.log,
    });
    const voice = this.options.eventsOnly ? undefined : this.voiceLane();
    let timer: NodeJS.Timeout | undefined;
    // Client 1.0.8 sends its settings while it fetches routes but starts listening for the answer
    // only after the last route arrived: the answer can come in between and be lost, and
    // startup() then waits forever. Sending the settings again gets a fresh answer.
    const nudge = setInterval(() => {
      if (producer.isRunning()) return;
      try {
        producer.getTelemetrySession(producer.getEndpoints()).syncSettings();
      } catch {
        /* no session yet: the client's own startup sends one */
      }
    }, 1000);
    // The reader and the lane check `this.handler`, so nothing is delivered before start resolves.
    const shutdown = () => {
      reader.close();
      return Promise.allSettled([producer.shutdown(), voice?.close()]);
    };
    try {
      await Promise.race([
        Promise.all([producer.startup(), reader.start((message) => this.receiveEvent(message)), voice?.start((body) => this.receiveVoice(body))]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`startup took more than ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      await shutdown();
      throw new BusPublishError(`could not start RocketMQ clients at ${this.options.endpoints} / ${this.options.nameServers}`, { cause: error });
    } finally {
      clearTimeout(timer);
      clearInterval(nudge);
    }
    if (this.closed) {
      await shutdown();
      throw new BusClosedError();
    }
    this.producer = producer;
    this.reader = reader;
    this.voice = voice;
    this.handler = handler;
    this.options.log.info(
      {
        consumerGroup: this.consumerGroup,
        endpoints: this.options.endpoints,
        nameServers: this.options.nameServers,
        voiceTopic,
        eventTopic,
        eventsFrom: reader.nextOffset,
      },
      'rocketmq bus started',
    );
  }

  isStarted(): boolean {
    return this.handler !== undefined && !this.closed;
  }

  publishVoice(room: RoomId, frame: Uint8Array): void {
    if (!this.isStarted() || !this.voice?.publish(room, frame, Date.now())) {
      this.counters.voiceFramesDropped++;
      return;
    }
    this.counters.voiceFramesPublished++;
  }

  /** Credentials and TLS of the event lane's clients (client 1.0.8: sessionCredentials, sslEnabled). */
  private clientSecurity(): { sslEnabled: boolean; sessionCredentials?: { accessKey: string; accessSecret: string } } {
    const { credentials, tls } = this.options;
    return {
      sslEnabled: tls === true,
      ...(credentials ? { sessionCredentials: { accessKey: credentials.accessKey, accessSecret: credentials.secretKey } } : {}),
    };
  }

  /** The voice lane's settings; in a namespace, remoting names carry it as `namespace%name`. */
  private voiceLane(): VoiceLane {
    return new VoiceLane({
      nodeId: this.nodeId,
      nameServers: this.nameServerList(),
      brokerAddressMap: this.options.brokerAddressMap ?? {},
      topic: this.remotingName(this.options.voiceTopic),
      consumerGroup: this.remotingName(`${this.options.consumerGroupPrefix}voice`),
      minIntervalMs: 1000 / this.options.maxVoiceMessagesPerSecond,
      maxBatchBytes: this.options.maxVoiceBatchBytes,
      deadlineMs: this.options.voiceDeadlineMs,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 3000,
      log: this.options.log,
      counters: this.counters,
    });
  }

  publishEvent(payload: Uint8Array): Promise<void> {
    if (!this.isStarted()) return Promise.reject(new BusClosedError());
    if (this.eventQueue.length >= EVENT_QUEUE_LIMIT) {
      this.counters.eventPublishFailures++;
      return Promise.reject(new BusPublishError(`event queue full (${EVENT_QUEUE_LIMIT} events)`));
    }
    if (payload.length > MAX_EVENT_BYTES) {
      return Promise.reject(new BusPublishError(`event of ${payload.length} bytes is too large (max ${MAX_EVENT_BYTES})`));
    }
    return new Promise((resolve, reject) => {
      this.eventQueue.push({ payload: Uint8Array.prototype.slice.call(payload), birth: Date.now(), resolve, reject });
      if (!this.eventSending) void this.sendEvents();
    });
  }

  /**
   * Sends the queued events in order, one message at a time: every event waiting when a send
   * starts goes into that message (up to its size), so a burst costs a few sends, not one each.
   * A failed message is retried as it was until stored or the bus closes.
   */
  private async sendEvents(): Promise<void> {
    this.eventSending = true;
    let delay = EVENT_RETRY_MIN_MS;
    while (this.eventQueue.length > 0) {
      if (this.closed) {
        for (const item of this.eventQueue.splice(0)) item.reject(new BusClosedError());
        break;
      }
      const writer = this.eventWriter;
      writer.clear();
      let taken = 0;
      for (const item of this.eventQueue) {
        if (!writer.append(EVENT_ENTRY_ROOM, item.payload, item.birth)) break;
        taken++;
      }
      const body = writer.take();
      try {
        await (this.producer as Producer).send({ topic: this.options.eventTopic, body });
        const sent = this.eventQueue.splice(0, taken);
        this.counters.eventsPublished += taken;
        this.counters.eventMessagesPublished++;
        delay = EVENT_RETRY_MIN_MS;
        for (const item of sent) item.resolve();
      } catch (error) {
        this.counters.eventPublishFailures++;
        this.options.log.warn({ err: error, retryInMs: delay, queued: this.eventQueue.length }, 'event publish failed, retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, EVENT_RETRY_MAX_MS);
      }
    }
    this.eventSending = false;
  }

  /** A stored voice batch from the voice lane (synchronous: the lane hands batches over in order). */
  private receiveVoice(body: Buffer): void {
    const handler = this.handler;
    if (!handler) return;
    this.counters.voiceMessagesReceived++;
    const header = readBatchHeader(body);
    if (!header) {
      this.counters.malformedMessagesDropped++;
      return;
    }
    if (header.origin === this.nodeId) {
      this.counters.ownMessagesDropped++;
      return;
    }
    const now = Date.now();
    if (header.birth < this.startedAt || now - header.birth > this.options.voiceDeadlineMs) {
      this.counters.staleMessagesDropped++;
      return;
    }
    this.counters.lastVoiceLagMs = now - header.birth;
    this.counters.voiceFramesReceived += header.count;
    if (!forEachEntry(body, header, (room, frame) => handler.onVoice(room, frame, header.origin))) {
      this.counters.malformedMessagesDropped++;
    }
  }

  /** The event log: position = the message's offset in the topic's single queue (consecutive, the same on every node). */
  private receiveEvent(message: StoredMessage): void {
    const handler = this.handler;
    if (!handler) return;
    const position = message.queueOffset;
    const body = message.body;
    const header = message.compressed ? undefined : readBatchHeader(body);
    const entries: Uint8Array[] = [];
    if (!header || !forEachEntry(body, header, (_room, payload) => entries.push(payload)) || entries.length === 0) {
      // Still a position in the log: deliver it empty so that positions stay consecutive.
      this.counters.malformedMessagesDropped++;
      handler.onEvent(EMPTY, { origin: '' as NodeId, position, index: 0, count: 1, birth: 0 });
      return;
    }
    this.counters.eventsReceived += entries.length;
    for (let i = 0; i < entries.length; i++) {
      handler.onEvent(entries[i] as Uint8Array, { origin: header.origin, position, index: i, count: entries.length, birth: header.birth });
    }
  }

  isSoleNode(): boolean {
    return false;
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    await this.voice?.close();
    this.reader?.close();
    for (const item of this.eventQueue.splice(0)) item.reject(new BusClosedError());
    const results = await Promise.allSettled([this.producer?.shutdown()]);
    for (const result of results) {
      if (result.status === 'rejected') this.options.log.warn({ err: result.reason as unknown }, 'rocketmq client shutdown failed');
    }
    this.options.log.info({ consumerGroup: this.consumerGroup }, 'rocketmq bus closed');
  }
}

/**
 * Routes the client's printf-style logging into ours. Its info level is chatty, so it goes to
 * debug; while the broker is away it repeats the same error every second, so each kind of
 * warning or error is logged at most once per 10 s, with the number of repeats left out.
 */
function clientLogger(log: Logger): ILogger {
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  const limited =
    (level: 'warn' | 'error') =>
    (...args: unknown[]) => {
      const message = format(...args);
      const key = `${level}:${message
        .replace(/clientId=\S+/g, '')
        .replace(/\d+/g, '#')
        .slice(0, 80)}`;
      const now = Date.now();
      const seen = lastLogged.get(key);
      if (seen && now - seen.at < 10_000) {
        seen.suppressed++;
        return;
      }
      lastLogged.set(key, { at: now, suppressed: 0 });
      if (lastLogged.size > 200) lastLogged.clear();
      log.warn({ component: 'rocketmq-client', clientLevel: level, repeatsSuppressed: seen?.suppressed ?? 0 }, message.split('\n')[0] ?? message);
    };
  return {
    debug: (...args: unknown[]) => log.debug({ component: 'rocketmq-client' }, format(...args)),
    info: (...args: unknown[]) => log.debug({ component: 'rocketmq-client' }, format(...args)),
    warn: limited('warn'),
    error: limited('error'),
  };
}
