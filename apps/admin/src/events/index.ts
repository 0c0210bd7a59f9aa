import type { FastifyBaseLogger } from 'fastify';
import type { DataSource } from 'typeorm';
import type { ClusterPort } from '@voiceroom/cluster';
import type { AdminConfig } from '@voiceroom/config';
import { RoomEvents } from './room-events';

export { RoomEvents, LEASE_MS, type TargetStats } from './room-events';
export { deriveRoomEvents, ROOM_EVENT_TYPES, type RoomEventEnvelope, type RoomEventType } from './room-event';
export { signWebhook, verifyWebhook, SIGNATURE_HEADER } from './signature';
export { registerRoomEventMetrics } from './metrics';

/** The admin API's room events (docs/events.md), from its configuration; disabled when nothing is configured. */
export function createRoomEvents(
  config: Partial<Pick<AdminConfig, 'roomEvents' | 'nodeId' | 'bus'>>,
  ds: DataSource,
  cluster: ClusterPort,
  log: FastifyBaseLogger,
): RoomEvents | undefined {
  const { roomEvents, nodeId, bus } = config;
  if (!roomEvents || nodeId === undefined) return undefined;
  const events = new RoomEvents({
    ds,
    cluster,
    config: roomEvents,
    nodeId,
    log,
    ...(bus?.kind === 'rocketmq'
      ? {
          rocketmq: {
            endpoints: bus.endpoints,
            namespace: bus.namespace ?? '',
            tls: bus.tls === true,
            ...(bus.credentials ? { credentials: bus.credentials } : {}),
          },
        }
      : {}),
  });
  return events.enabled ? events : undefined;
}
