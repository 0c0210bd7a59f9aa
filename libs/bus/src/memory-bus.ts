import type { NodeId, RoomId } from '@voiceroom/protocol';
import { BusClosedError, emptyBusStats, type Bus, type BusHandler, type BusStats } from './bus';

interface Pending {
  seq: number;
  from: MemoryBus;
  lane: 'voice' | 'event';
  room: RoomId;
  bytes: Uint8Array;
  /** Event log position (events only). */
  position: number;
  birth: number;
}

/** Buses on one exchange see each other: one per process for a single node, shared for in-process clusters. */
export class MemoryExchange {
  readonly members = new Set<MemoryBus>();
  private queue: Pending[] = [];
  private scheduled = false;
  /** Number of items ever enqueued; a bus receives only items enqueued after it started. */
  seq = 0;
  /** Events ever enqueued: the event log's positions. */
  private eventPosition = 0;

  enqueue(item: Omit<Pending, 'seq' | 'position' | 'birth'>): void {
    const position = item.lane === 'event' ? ++this.eventPosition : 0;
    this.queue.push({ ...item, seq: ++this.seq, position, birth: Date.now() });
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
        if (item.seq <= bus.startSeq) continue;
        if (item.lane === 'voice') {
          if (bus !== item.from) bus.deliverVoice(item.room, item.bytes, item.from.nodeId);
        } else {
          bus.deliverEvent(item.bytes, item.from.nodeId, item.position, item.birth);
        }
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

  publishEvent(payload: Uint8Array): Promise<void> {
    if (!this.handler) return Promise.reject(new BusClosedError());
    this.counters.eventsPublished++;
    this.counters.eventMessagesPublished++;
    this.exchange.enqueue({ from: this, lane: 'event', room: '' as RoomId, bytes: Uint8Array.prototype.slice.call(payload) });
    return Promise.resolve();
  }

  isSoleNode(): boolean {
    return this.exchange.members.size <= 1;
  }

  /** Called by the exchange. */
  deliverVoice(room: RoomId, bytes: Uint8Array, origin: NodeId): void {
    const handler = this.handler;
    if (!handler) return;
    this.counters.voiceFramesReceived++;
    this.counters.voiceMessagesReceived++;
    handler.onVoice(room, bytes, origin);
  }

  /** Called by the exchange. */
  deliverEvent(bytes: Uint8Array, origin: NodeId, position: number, birth: number): void {
    const handler = this.handler;
    if (!handler) return;
    this.counters.eventsReceived++;
    handler.onEvent(bytes, { origin, position, index: 0, count: 1, birth });
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
