import type { Logger } from '@voiceroom/protocol';
import type { RemotingCommand } from './remoting-codec';
import { RemotingConnection, RemotingError } from './remoting-connection';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;
/**
 * A connection that dies sooner than this after it opened does not reset the backoff: something
 * in between (a proxy, a load balancer, a broker starting) accepts and drops at once, and a fixed
 * 100 ms retry would log and reconnect ten times a second for as long as that lasts.
 */
const STABLE_MS = 2000;

/**
 * A lane's connection to one broker, kept open: when it drops, it reconnects with backoff and
 * calls `onUp` again, so the owner restarts what ran on the old connection. Requests made while
 * it is down fail at once (voice never waits for a broker; the event log reader retries).
 */
export class BrokerLink {
  private connection: RemotingConnection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay = RECONNECT_MIN_MS;
  private closed = false;
  private upSince = Date.now();
  /** Connections keep dying young: log nothing more until one lasts STABLE_MS. */
  private flapping = false;
  /** Bumped on every new connection: loops started on an older one stop. */
  generation = 0;

  constructor(
    readonly address: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly onUp: (link: BrokerLink) => void,
    /** Names the lane in log lines ("voice lane", "event log"). */
    private readonly lane = 'voice lane',
  ) {}

  get isUp(): boolean {
    return this.connection?.isOpen === true;
  }

  /** First connection: rejects if the broker cannot be reached (the caller decides to retry). */
  async open(): Promise<void> {
    this.connection = await RemotingConnection.open(this.address, this.timeoutMs, (error) => this.lost(error));
    this.upSince = Date.now();
    this.generation++;
  }

  request(code: number, extFields: Record<string, string | number | boolean>, body: Uint8Array | undefined, timeoutMs: number): Promise<RemotingCommand> {
    const connection = this.connection;
    if (!connection?.isOpen) return Promise.reject(new RemotingError(`no connection to broker ${this.address}`));
    return connection.request(code, extFields, body, timeoutMs);
  }

  /** Drops the connection now (e.g. a request timed out: the TCP connection may be dead). */
  reset(reason: string): void {
    if (this.connection?.isOpen) {
      this.log.warn({ broker: this.address, reason }, `${this.lane}: resetting broker connection`);
      this.connection.close();
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.connection?.close();
  }

  private lost(error: Error): void {
    this.generation++;
    if (this.closed) return;
    const young = Date.now() - this.upSince < STABLE_MS;
    this.delay = young ? Math.min(this.delay * 2, RECONNECT_MAX_MS) : RECONNECT_MIN_MS;
    if (!this.flapping) {
      this.log.warn(
        { broker: this.address, err: error.message, retryInMs: this.delay },
        young ? `${this.lane}: broker connection dropped right after it opened; retrying with backoff` : `${this.lane}: broker connection lost, reconnecting`,
      );
    }
    this.flapping = young;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      RemotingConnection.open(this.address, this.timeoutMs, (error) => this.lost(error)).then(
        (connection) => {
          if (this.closed) {
            connection.close();
            return;
          }
          this.connection = connection;
          const generation = ++this.generation;
          this.upSince = Date.now();
          if (!this.flapping) this.log.info({ broker: this.address }, `${this.lane}: broker connection back`);
          else {
            setTimeout(() => {
              if (this.generation !== generation || !this.isUp || !this.flapping) return;
              this.flapping = false;
              this.log.info({ broker: this.address }, `${this.lane}: broker connection back and stable`);
            }, STABLE_MS).unref();
          }
          this.onUp(this);
        },
        () => {
          if (this.closed) return;
          this.delay = Math.min(this.delay * 2, RECONNECT_MAX_MS);
          this.schedule();
        },
      );
    }, this.delay);
  }
}
