/**
 * Where room events go: the RocketMQ FIFO topic and each webhook URL. A target sends one event and
 * resolves once it was taken, or rejects; the dispatcher (dispatcher.ts) retries, orders and
 * dead-letters.
 */
import { createHash } from 'node:crypto';
import { format } from 'node:util';
import { Producer, type ILogger } from 'rocketmq-client-nodejs';
import type { Logger } from '@voiceroom/protocol';
import { signWebhook, SIGNATURE_HEADER } from './signature';

/** One outbox row, as a target sends it. */
export interface OutboxRow {
  id: number;
  eventId: string;
  roomId: string;
  type: string;
  body: string;
  createdAt: number;
}

export interface Target {
  /** Name of its cursor and dead-letter rows: `rocketmq`, `webhook:<hash of the URL>`. */
  readonly key: string;
  /** Label of its metrics: `rocketmq`, `webhook-<index in WEBHOOK_URLS>`. */
  readonly label: string;
  /** For dead-letter rows: the webhook URL without its query string. */
  readonly url: string | null;
  send(row: OutboxRow): Promise<void>;
  close(): Promise<void>;
}

export class WebhookTarget implements Target {
  readonly key: string;
  readonly url: string;

  constructor(
    private readonly target: string,
    readonly label: string,
    private readonly secret: string,
    private readonly timeoutMs: number,
  ) {
    this.key = `webhook:${createHash('sha256').update(target).digest('hex').slice(0, 32)}`;
    const shown = new URL(target);
    shown.search = '';
    shown.username = '';
    shown.password = '';
    this.url = shown.toString().slice(0, 500);
  }

  async send(row: OutboxRow): Promise<void> {
    const response = await fetch(this.target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signWebhook(this.secret, row.body, Math.floor(Date.now() / 1000)),
        'x-voiceroom-event-id': row.eventId,
        'x-voiceroom-event-type': row.type,
      },
      body: row.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // Drain the body so that the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status < 200 || response.status > 299) throw new Error(`HTTP ${response.status}`);
  }

  async close(): Promise<void> {}
}

export interface RocketMQTargetOptions {
  endpoints: string;
  namespace: string;
  topic: string;
  credentials?: { accessKey: string; secretKey: string };
  tls: boolean;
}

const START_TIMEOUT_MS = 10_000;

/**
 * The FIFO topic: one message per event, message group = room id (the broker then hands a
 * consumer group of an orderly subscription each room's messages in order), tag = type, key = id.
 */
export class RocketMQTarget implements Target {
  readonly key = 'rocketmq';
  readonly label = 'rocketmq';
  readonly url = null;
  private producer: Producer | undefined;
  private starting: Promise<Producer> | undefined;

  constructor(
    private readonly options: RocketMQTargetOptions,
    private readonly log: Logger,
  ) {}

  async send(row: OutboxRow): Promise<void> {
    const producer = await this.start();
    try {
      await producer.send({ topic: this.options.topic, body: Buffer.from(row.body), tag: row.type, keys: [row.eventId], messageGroup: row.roomId });
    } catch (error) {
      // Client 1.0.8 reconnects by itself; a producer that never started is made again.
      if (!producer.isRunning()) this.drop();
      throw error;
    }
  }

  private start(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.starting ??= (async () => {
      const { endpoints, namespace, topic, credentials, tls } = this.options;
      const producer = new Producer({
        endpoints,
        namespace,
        sslEnabled: tls,
        ...(credentials ? { sessionCredentials: { accessKey: credentials.accessKey, accessSecret: credentials.secretKey } } : {}),
        topics: [topic],
        requestTimeout: 3000,
        maxAttempts: 1,
        logger: clientLogger(this.log),
      });
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          producer.startup(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`room events producer did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
          }),
        ]);
      } catch (error) {
        await producer.shutdown().catch(() => undefined);
        throw error;
      } finally {
        clearTimeout(timer);
      }
      this.producer = producer;
      return producer;
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private drop(): void {
    const producer = this.producer;
    this.producer = undefined;
    void producer?.shutdown().catch(() => undefined);
  }

  async close(): Promise<void> {
    const producer = this.producer ?? (await this.starting?.catch(() => undefined));
    this.producer = undefined;
    await producer?.shutdown().catch(() => undefined);
  }
}

/** The client's own logger writes files under ~/logs; ours goes to the process log (warnings and errors). */
function clientLogger(log: Logger): ILogger {
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...args: unknown[]) => log.warn({ component: 'room-events-producer' }, format(...args).split('\n')[0] ?? ''),
    error: (...args: unknown[]) => log.warn({ component: 'room-events-producer' }, format(...args).split('\n')[0] ?? ''),
  };
}
