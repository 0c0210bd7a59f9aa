import type { NodeId, RoomId } from '@voiceroom/protocol';
import { BusClosedError, emptyBusStats, type Bus, type BusHandler, type BusStats } from './bus';

interface Pending {
  seq: number;
  from: MemoryBus;
  lane: 'voice' | 'event';
  room: RoomId;
  bytes: Uint8Array;
}

/** Buses on one exchange see each other: one per process for a single node, shared for in-process clusters. */
export class MemoryExchange {
  readonly members = new Set<MemoryBus>();
  private queue: Pending[] = [];
  private scheduled = false;
  /** Number of items ever enqueued; a bus receives only items enqueued after it started. */
  seq = 0;

  enqueue(item: Omit<Pending, 'seq'>): void {
    this.queue.push({ ...item, seq: ++this.seq });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    const items = this.queue;
    this.queue = [];
    this.scheduled = false;
    for (const item of items) {
      for (const bus of this.members) {
        if (bus !== item.from && item.seq > bus.startSeq) bus.deliver(item.lane, item.room, item.bytes, item.from.nodeId);
      }
    }
  }
}

export class MemoryBus implements Bus {
  readonly kind = 'memory';
  private handler: BusHandler | undefined;
  private readonly counters = emptyBusStats();
  startSeq = 0;

  constructor(
    readonly nodeId: NodeId,
    private readonly exchange: MemoryExchange = new MemoryExchange(),
  ) {}

  start(handler: BusHandler): Promise<void> {
    this.handler = handler;
    this.startSeq = this.exchange.seq;
    this.exchange.members.add(this);
    return Promise.resolve();
  }

  publishVoice(room: RoomId, frame: Uint8Array): void {
    if (!this.handler) {
      this.counters.voiceFramesDropped++;
      return;
    }
    this.counters.voiceFramesPublished++;
    if (this.exchange.members.size < 2) return; // nobody else to hear it
    this.counters.voiceMessagesPublished++;
    this.exchange.enqueue({ from: this, lane: 'voice', room, bytes: Uint8Array.prototype.slice.call(frame) });
  }

  publishEvent(room: RoomId, payload: Uint8Array): Promise<void> {
    if (!this.handler) return Promise.reject(new BusClosedError());
    this.counters.eventsPublished++;
    if (this.exchange.members.size > 1) {
      this.exchange.enqueue({ from: this, lane: 'event', room, bytes: Uint8Array.prototype.slice.call(payload) });
    }
    return Promise.resolve();
  }

  /** Called by the exchange. */
  deliver(lane: 'voice' | 'event', room: RoomId, bytes: Uint8Array, origin: NodeId): void {
    const handler = this.handler;
    if (!handler) return;
    if (lane === 'voice') {
      this.counters.voiceFramesReceived++;
      handler.onVoice(room, bytes, origin);
    } else {
      this.counters.eventsReceived++;
      handler.onEvent(room, bytes, origin);
    }
  }

  isStarted(): boolean {
    return this.handler !== undefined;
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.handler = undefined;
    this.exchange.members.delete(this);
    return Promise.resolve();
  }
}
