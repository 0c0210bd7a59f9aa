/**
 * The gateway's counters: plain numbers that the voice path and the request path only increment,
 * read by /metrics (metrics.ts) and the benchmarks. Owned by GatewayNode, shared with its sessions,
 * its voice relay and its local members.
 */
export interface GatewayStats {
  framesIn: number;
  deliveries: number;
  remoteFramesIn: number;
  remoteDeliveries: number;
  remoteFramesOutOfOrder: number;
  remoteFramesMalformed: number;
  /** Remote frames of a sid that is not in the room, or may not speak (muted, listener). */
  remoteFramesRefused: number;
  framesRefusedMalformed: number;
  framesRefusedTooLarge: number;
  framesRefusedRate: number;
  framesRefusedNotAllowed: number;
  framesDroppedSlowSocket: number;
  abuseCloses: number;
  slowConsumerCloses: number;
  joinsAccepted: number;
  joinsRefused: number;
  resumesAccepted: number;
  resumesRefused: number;
  /** Sockets closed with 4413 (per-user limit); the per-address and node limits count theirs in connection-limits.ts. */
  connectionsRefused: number;
  commandsPublished: number;
  commandsRefused: number;
  eventPublishFailures: number;
}

export function newGatewayStats(): GatewayStats {
  return {
    framesIn: 0,
    deliveries: 0,
    remoteFramesIn: 0,
    remoteDeliveries: 0,
    remoteFramesOutOfOrder: 0,
    remoteFramesMalformed: 0,
    remoteFramesRefused: 0,
    framesRefusedMalformed: 0,
    framesRefusedTooLarge: 0,
    framesRefusedRate: 0,
    framesRefusedNotAllowed: 0,
    framesDroppedSlowSocket: 0,
    abuseCloses: 0,
    slowConsumerCloses: 0,
    joinsAccepted: 0,
    joinsRefused: 0,
    resumesAccepted: 0,
    resumesRefused: 0,
    connectionsRefused: 0,
    commandsPublished: 0,
    commandsRefused: 0,
    eventPublishFailures: 0,
  };
}
