/** What the heartbeat needs of a connection. */
export interface Beating {
  /** Set when pinged; cleared by a pong or any message. */
  awaitingPong: boolean;
  /** Sends a WebSocket ping. */
  ping(): void;
  /** It did not answer the previous ping: drop it. */
  missedPong(): void;
}

/** The heartbeat wakes up this often and pings one slot's connections. */
export const HEARTBEAT_TICK_MS = 50;

/**
 * Pings every connection once per interval, spread over the interval: connections are dealt
 * round-robin into interval / 50 ms slots, and every 50 ms one slot is pinged. Pinging every
 * socket in one synchronous loop stalled the event loop (62–183 ms at 2,000–4,000 idle sockets
 * every 20 s), which every room on the node heard as jitter; now a tick pings 1/400 of them
 * (with the default 20 s). A connection that has not answered its previous ping, one interval
 * earlier, is dropped.
 */
export class Heartbeat<T extends Beating> {
  readonly stats = { pings: 0, timeouts: 0 };
  private readonly slots: Set<T>[];
  private readonly slotOf = new Map<T, Set<T>>();
  private nextSlot = 0;
  private dealt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly intervalMs: number) {
    const count = Math.max(1, Math.round(intervalMs / HEARTBEAT_TICK_MS));
    this.slots = Array.from({ length: count }, () => new Set<T>());
  }

  /** How long one slot lasts: the interval divided by the number of slots. */
  get tickMs(): number {
    return this.intervalMs / this.slots.length;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  add(member: T): void {
    if (this.slotOf.has(member)) return;
    const slot = this.slots[this.dealt++ % this.slots.length] as Set<T>;
    slot.add(member);
    this.slotOf.set(member, slot);
  }

  remove(member: T): void {
    this.slotOf.get(member)?.delete(member);
    this.slotOf.delete(member);
  }

  /** Pings the next slot's connections; drops those that did not answer the previous ping. */
  tick(): void {
    const slot = this.slots[this.nextSlot] as Set<T>;
    this.nextSlot = (this.nextSlot + 1) % this.slots.length;
    for (const member of slot) {
      if (member.awaitingPong) {
        this.stats.timeouts++;
        this.remove(member);
        member.missedPong();
        continue;
      }
      member.awaitingPong = true;
      this.stats.pings++;
      member.ping();
    }
  }
}
