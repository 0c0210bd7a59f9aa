import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { GatewayNode } from './gateway-node';
import type { GatewayStats } from './gateway-stats';
import { BUCKETS, PlainHistogram } from './plain-histogram';
import type { BusStats } from '@voiceroom/bus';
import { PROTOCOL_ERROR_REASONS, type ProtocolErrorCounts } from './ws-errors';
import type { ConnectionLimits } from './connection-limits';

/**
 * Prometheus metrics. The voice path increments plain numbers (GatewayStats, BusStats); they are
 * copied into prom-client only when /metrics is scraped, so scraping costs nothing per frame.
 */
/** Counters kept outside the node: the connection edge (WebSocket frames, TCP connections). */
export interface EdgeStats {
  protocolErrors: ProtocolErrorCounts;
  connections: ConnectionLimits;
}

/** Registers `histogram` in `registry` as a Prometheus histogram named `name` (a read-only collector). */
export function registerPlainHistogram(registry: Registry, name: string, help: string, histogram: PlainHistogram): void {
  const collector = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    labelNames: [],
    get: async () => {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      let cumulative = 0;
      histogram.bounds.forEach((le, i) => {
        cumulative += histogram.counts[i] as number;
        values.push({ metricName: `${name}_bucket`, labels: { le }, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: histogram.count });
      values.push({ metricName: `${name}_sum`, labels: {}, value: histogram.sum });
      values.push({ metricName: `${name}_count`, labels: {}, value: histogram.count });
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset: () => undefined,
  };
  registry.registerMetric(collector as unknown as Metric);
}

/**
 * prom-client's default metrics, less its gauges named `_total` (nodejs_active_{handles,requests,resources}_total,
 * which `promtool check metrics` refuses): each is the sum over `type` of the gauge of the same name without it.
 */
export function collectProcessMetrics(registry: Registry, prefix: string): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type !== 'counter' && name.endsWith('_total')) registry.removeSingleMetric(name);
  }
}

export function createMetrics(node: GatewayNode, edge: EdgeStats): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: node.nodeId });
  collectProcessMetrics(registry, 'voiceroom_');

  const fromGateway = (name: string, help: string, key: keyof GatewayStats) =>
    new Counter({
      name: `voiceroom_${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(node.stats[key]);
      },
    });
  const fromBus = (name: string, help: string, key: keyof BusStats) =>
    new Counter({
      name: `voiceroom_bus_${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(node.bus.stats()[key]);
      },
    });

  fromGateway('voice_frames_in_total', 'Voice frames accepted from local clients', 'framesIn');
  fromGateway('voice_deliveries_total', 'Voice frames written to local sockets (local speakers)', 'deliveries');
  fromGateway('voice_remote_frames_in_total', 'Voice frames from the bus for rooms with local members', 'remoteFramesIn');
  fromGateway('voice_remote_deliveries_total', 'Voice frames written to local sockets (remote speakers)', 'remoteDeliveries');
  fromGateway('voice_remote_out_of_order_total', 'Remote frames dropped as duplicate or out of order', 'remoteFramesOutOfOrder');
  fromGateway('voice_refused_malformed_total', 'Client frames refused as malformed', 'framesRefusedMalformed');
  fromGateway('voice_refused_too_large_total', 'Client frames refused as too large', 'framesRefusedTooLarge');
  fromGateway('voice_refused_rate_total', 'Client frames refused over the rate limit', 'framesRefusedRate');
  fromGateway('voice_refused_not_allowed_total', 'Client frames refused: role may not speak', 'framesRefusedNotAllowed');
  fromGateway('voice_dropped_slow_socket_total', 'Voice frames not sent to a socket over its high-water mark', 'framesDroppedSlowSocket');
  fromGateway('abuse_closes_total', 'Sockets closed for repeated refused frames', 'abuseCloses');
  fromGateway('joins_accepted_total', 'Joins accepted', 'joinsAccepted');
  fromGateway('joins_refused_total', 'Joins refused (token, readiness, room full); resumes refused for readiness too', 'joinsRefused');
  fromGateway('resumes_accepted_total', 'Resumes accepted', 'resumesAccepted');
  fromGateway('resumes_refused_total', 'Resumes refused (token, member gone)', 'resumesRefused');
  fromGateway('slow_consumer_closes_total', 'Sockets closed for falling behind on room events', 'slowConsumerCloses');
  fromGateway('voice_remote_refused_total', 'Remote frames of members not in the room, muted or listeners', 'remoteFramesRefused');
  fromGateway('commands_total', 'Room commands published', 'commandsPublished');
  fromGateway('commands_refused_total', 'Room commands refused when applied', 'commandsRefused');
  fromBus('voice_frames_published_total', 'Voice frames handed to the bus', 'voiceFramesPublished');
  fromBus('voice_messages_published_total', 'Bus messages carrying voice', 'voiceMessagesPublished');
  fromBus('voice_frames_dropped_total', 'Voice frames the bus gave up before the broker', 'voiceFramesDropped');
  fromBus('voice_publish_failures_total', 'Failed voice sends', 'voicePublishFailures');
  fromBus('events_published_total', 'Events stored by the bus', 'eventsPublished');
  fromBus('event_publish_failures_total', 'Failed event send attempts', 'eventPublishFailures');
  fromBus('voice_frames_received_total', 'Voice frames received from other nodes', 'voiceFramesReceived');
  fromBus('voice_messages_received_total', 'Bus messages carrying voice received (before echo and staleness checks)', 'voiceMessagesReceived');
  fromBus('voice_pulls_total', 'Answered requests for voice (RocketMQ pull requests)', 'voicePulls');
  fromBus('own_messages_dropped_total', "Received voice messages that were this node's own (a broker without property filters)", 'ownMessagesDropped');
  fromBus('events_received_total', "Event log entries received (this node's own included)", 'eventsReceived');
  fromBus('stale_messages_dropped_total', 'Voice born before start or past the deadline; event redeliveries from retry topics', 'staleMessagesDropped');
  fromBus('malformed_messages_dropped_total', 'Received messages that could not be decoded', 'malformedMessagesDropped');

  const heartbeat = node.heartbeat.stats;
  new Counter({
    name: 'voiceroom_heartbeat_pings_total',
    help: 'WebSocket pings sent (each connection once per HEARTBEAT_INTERVAL_MS, spread over the interval)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(heartbeat.pings);
    },
  });
  new Counter({
    name: 'voiceroom_heartbeat_timeouts_total',
    help: 'Connections dropped for not answering the previous ping',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(heartbeat.timeouts);
    },
  });
  const limits = edge.connections;
  new Counter({
    name: 'voiceroom_connections_refused_total',
    help: 'Connections refused by a limit: per_address (HTTP 429), max_connections (HTTP 503 on upgrade), per_user (close 4413)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ reason: 'per_address' }, limits.stats.refusedPerAddress);
      this.inc({ reason: 'max_connections' }, limits.stats.refusedMaxConnections);
      this.inc({ reason: 'per_user' }, node.stats.connectionsRefused);
    },
  });
  new Counter({
    name: 'voiceroom_upgrades_refused_path_total',
    help: 'WebSocket upgrades refused (404) because they were not for GET /ws',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(limits.stats.refusedPath);
    },
  });
  new Counter({
    name: 'voiceroom_http_request_timeouts_total',
    help: 'Requests (upgrades included) closed with 408: head or request not complete within HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(limits.stats.requestTimeouts);
    },
  });
  new Gauge({
    name: 'voiceroom_connections',
    help: 'Open TCP connections (WebSockets, HTTP, requests being received), the count MAX_CONNECTIONS limits',
    registers: [registry],
    collect() {
      this.set(limits.connections);
    },
  });
  new Counter({
    name: 'voiceroom_ws_protocol_errors_total',
    help: 'WebSocket frame violations by clients (the connection is closed with 1002, 1007 or 1009), by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const reason of PROTOCOL_ERROR_REASONS) this.inc({ reason }, edge.protocolErrors.get(reason) ?? 0);
    },
  });
  new Gauge({
    name: 'voiceroom_sessions',
    help: 'Open WebSocket sessions (joined or joining)',
    registers: [registry],
    collect() {
      this.set(node.sessions.size);
    },
  });
  new Gauge({
    name: 'voiceroom_rooms',
    help: 'Rooms with at least one local member',
    registers: [registry],
    collect() {
      this.set(node.hub.size.rooms);
    },
  });
  const replica = node.replica;
  new Gauge({
    name: 'voiceroom_cluster_live',
    help: '1 when this node holds the replicated room state',
    registers: [registry],
    collect() {
      this.set(replica.isLive() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'voiceroom_cluster_members',
    help: 'Members in all rooms of the cluster (replicated state)',
    registers: [registry],
    collect() {
      this.set(replica.state.size.members);
    },
  });
  new Gauge({
    name: 'voiceroom_cluster_nodes',
    help: 'Nodes the replicated state knows',
    registers: [registry],
    collect() {
      this.set(replica.state.size.nodes);
    },
  });
  new Gauge({
    name: 'voiceroom_cluster_log_position',
    help: 'Position of the last applied event log entry',
    registers: [registry],
    collect() {
      this.set(replica.state.position);
    },
  });
  for (const [key, help] of [
    ['gaps', 'Gaps seen in the event log'],
    ['resyncs', 'State resynchronisations'],
    ['snapshotsSent', 'Snapshots sent to starting nodes'],
    ['malformed', 'Event log entries that could not be parsed'],
    ['duplicates', 'Event log redeliveries skipped'],
  ] as const) {
    new Counter({
      name: `voiceroom_cluster_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(replica.counters[key]);
      },
    });
  }
  new Gauge({
    name: 'voiceroom_bus_voice_lag_seconds',
    help: 'Birth-to-receipt time of the last voice message from another node (seconds)',
    registers: [registry],
    collect() {
      this.set(node.bus.stats().lastVoiceLagMs / 1000);
    },
  });
  registerPlainHistogram(
    registry,
    'voiceroom_join_duration_seconds',
    'Accepted joins: join message received to joined sent (token check, event log round trip)',
    node.timings.join,
  );
  registerPlainHistogram(
    registry,
    'voiceroom_voice_remote_frame_age_seconds',
    'Voice frames from other nodes relayed to local members: wall-clock age since birth on the publishing gateway (RocketMQ bus)',
    node.timings.frameAge,
  );
  registerRoundTrip(registry, replica);
  return registry;
}

/**
 * voiceroom_cluster_log_round_trip_seconds: this node's own event-log entries, from publish to their
 * application by this node's replica (while live). The admin API registers the same for its node.
 */
export function registerRoundTrip(registry: Registry, replica: { onRoundTrip: ((ms: number) => void) | undefined }): PlainHistogram {
  const histogram = new PlainHistogram(BUCKETS.logRoundTrip);
  replica.onRoundTrip = (ms) => histogram.observe(ms / 1000);
  registerPlainHistogram(
    registry,
    'voiceroom_cluster_log_round_trip_seconds',
    'Own event log entries: publish to application by this node (broker store and delivery included)',
    histogram,
  );
  return histogram;
}
