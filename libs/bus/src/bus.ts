import type { NodeId, RoomId } from '@voiceroom/protocol';

/**
 * The cross-node bus: how a gateway node hands room traffic to every other gateway node.
 *
 * Two lanes with different promises:
 *
 * - Voice (`publishVoice`): at most once, never retried, never queued behind a slow broker.
 *   A frame may be dropped (and is then counted in `stats()`), but a frame that is delivered is
 *   delivered once, and frames of one publisher arrive in the order they were published.
 *   Frames born before the receiving bus started, or older than the voice deadline when they
 *   arrive, are dropped: voice is worthless once late. Implementations pack many frames into
 *   one broker message; that is invisible to callers.
 *
 * - Event (`publishEvent`): the cluster's event log. The returned promise resolves once the
 *   transport has stored the event (for RocketMQ: the broker) and rejects only when the bus is
 *   closed or the event could not be stored after retries. Every started node receives every
 *   stored event, its own included, in one total order that is the same on every node. Each
 *   delivery carries the event's `position` in that order: consecutive integers, so a jump means
 *   the receiver missed events; a position seen before is a redelivery and must be ignored. A
 *   position may hold several events of one publisher, in publish order (`index`, `count`). A
 *   node may also receive a few events stored shortly before it started (positions tell). Each
 *   event also carries its birth time (publisher's clock, ms since the epoch). A stored message
 *   the bus cannot decode is delivered with an empty payload, so that positions stay consecutive.
 *
 * Every bus is broadcast: each other started node receives every message. A node never
 * receives its own voice (the echo is dropped by the bus); it does receive its own events. The handler is called
 * synchronously, one message at a time, never concurrently; the bytes passed to it are only
 * valid during the call (they may be a view into a larger receive buffer).
 *
 * Lifetime: `start` once (resolves when the node receives and can publish), then any number
 * of publishes, then `close` once. Publishing before `start` or after `close` does not throw:
 * voice is dropped and counted, events reject. Nothing a bus does blocks the caller on the
 * broker; a failed publish is logged and counted, never thrown to the voice path.
 */
export interface Bus {
  readonly nodeId: NodeId;
  readonly kind: 'memory' | 'rocketmq';
  start(handler: BusHandler): Promise<void>;
  /** `frame` is a server voice frame (libs/protocol); the bus copies what it keeps before returning. */
  publishVoice(room: RoomId, frame: Uint8Array): void;
  /** `payload` is opaque to the bus (the gateway sends JSON). The bus copies it before returning. */
  publishEvent(payload: Uint8Array): Promise<void>;
  /** True when the transport knows no other node is started (memory bus); false when it cannot know. */
  isSoleNode(): boolean;
  /** True between a successful `start` and `close`. */
  isStarted(): boolean;
  stats(): BusStats;
  close(): Promise<void>;
}

export interface BusHandler {
  onVoice(room: RoomId, frame: Uint8Array, origin: NodeId): void;
  onEvent(payload: Uint8Array, meta: EventMeta): void;
}

export interface EventMeta {
  origin: NodeId;
  /**
   * Position in the event log: consecutive, identical on every node. One position may hold
   * several events of one publisher (`count`), delivered in order with `index` 0 … count − 1.
   */
  position: number;
  index: number;
  count: number;
  /** Publisher's clock when the event was published (ms since the epoch). */
  birth: number;
}

/** Monotonic counters since the bus was created. */
export interface BusStats {
  voiceFramesPublished: number;
  /** Transport messages sent for the voice lane (a message carries many frames). */
  voiceMessagesPublished: number;
  /** Transport messages sent for the event lane (a message carries the events queued at the time). */
  eventMessagesPublished: number;
  /** Frames given up before reaching the transport: not started, batch full, batch stale, send failed. */
  voiceFramesDropped: number;
  voicePublishFailures: number;
  eventsPublished: number;
  eventPublishFailures: number;
  voiceFramesReceived: number;
  /** Transport messages received for the voice lane (own echoes and stale ones included). */
  voiceMessagesReceived: number;
  /** Requests made to receive voice (RocketMQ: answered pull requests; 0 where voice is pushed). */
  voicePulls: number;
  eventsReceived: number;
  /** Received messages dropped because they were this node's own. */
  ownMessagesDropped: number;
  /** Received messages dropped because they were born before this bus started or were past the voice deadline. */
  staleMessagesDropped: number;
  /** Received messages that could not be decoded. */
  malformedMessagesDropped: number;
  /** Milliseconds from birth to receipt of the last voice message received (for lag gauges). */
  lastVoiceLagMs: number;
}

export function emptyBusStats(): BusStats {
  return {
    voiceFramesPublished: 0,
    voiceMessagesPublished: 0,
    eventMessagesPublished: 0,
    voiceFramesDropped: 0,
    voicePublishFailures: 0,
    eventsPublished: 0,
    eventPublishFailures: 0,
    voiceFramesReceived: 0,
    voiceMessagesReceived: 0,
    voicePulls: 0,
    eventsReceived: 0,
    ownMessagesDropped: 0,
    staleMessagesDropped: 0,
    malformedMessagesDropped: 0,
    lastVoiceLagMs: 0,
  };
}

export class BusClosedError extends Error {
  readonly code = 'BUS_CLOSED';
  constructor(message = 'the bus is not started or already closed') {
    super(message);
    this.name = 'BusClosedError';
  }
}

export class BusPublishError extends Error {
  readonly code = 'BUS_PUBLISH_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BusPublishError';
  }
}
