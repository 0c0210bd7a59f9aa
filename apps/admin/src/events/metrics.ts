import { Counter, Gauge, type Registry } from 'prom-client';
import type { RoomEvents } from './room-events';
import { readCounter, readGauge } from '../metrics';

/** voiceroom_admin_room_events_*: room events for other services (docs/operations.md). Copied in when scraped. */
export function registerRoomEventMetrics(registry: Registry, events: RoomEvents): void {
  const perTarget = (name: string, help: string, read: (s: { delivered: number; retried: number; deadLettered: number }) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['target'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [target, s] of events.stats.targets) this.inc({ target }, read(s));
      },
    });
  perTarget(
    'voiceroom_admin_room_events_delivered_total',
    'Room events a target took (RocketMQ topic, webhook URL), by this node as publisher',
    (s) => s.delivered,
  );
  perTarget('voiceroom_admin_room_events_retried_total', 'Failed tries of room events that were tried again later', (s) => s.retried);
  perTarget(
    'voiceroom_admin_room_events_dead_lettered_total',
    'Room events given up after the last try and stored in room_event_dead_letters',
    (s) => s.deadLettered,
  );
  new Gauge({
    name: 'voiceroom_admin_room_events_pending',
    help: 'Room events in the outbox a target has not taken yet (queue depth; counted by the publisher)',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, s] of events.stats.targets) this.set({ target }, events.isLeader ? s.pending : 0);
    },
  });
  const plain = (name: string, help: string, read: () => number, kind: 'counter' | 'gauge') =>
    kind === 'counter' ? readCounter(registry, name, help, read) : readGauge(registry, name, help, read);
  plain('voiceroom_admin_room_events_derived_total', 'Room events derived from the event log on this node', () => events.stats.derived, 'counter');
  plain(
    'voiceroom_admin_room_events_recorded_total',
    'Room events this node wrote to the outbox as publisher (a takeover batch counts those already there too)',
    () => events.stats.recorded,
    'counter',
  );
  plain(
    'voiceroom_admin_room_events_dropped_total',
    'Room events the publisher dropped from a full buffer before writing them (database away too long)',
    () => events.stats.dropped,
    'counter',
  );
  plain(
    'voiceroom_admin_room_events_buffered',
    'Room events in memory: not yet in the outbox (publisher), kept for a takeover (others)',
    () => events.buffered,
    'gauge',
  );
  plain('voiceroom_admin_room_events_publisher', '1 while this node holds the publisher lease', () => (events.isLeader ? 1 : 0), 'gauge');
}
