import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterPort } from '@voiceroom/cluster';
import type { DataSource } from 'typeorm';
import { isMigrated } from '@voiceroom/persistence';
import type { ChatArchive } from './chat-archive';
import type { AdminStats } from './context';
import type { Reconciler } from './reconcile';

/**
 * The admin API's Prometheus metrics (voiceroom_admin_*), registered into `registry`: the
 * standalone server's own, or the gateway's when the admin API is embedded. Plain counters are
 * copied in when /metrics is scraped.
 */
export function registerAdminMetrics(
  app: FastifyInstance,
  registry: Registry,
  parts: { stats: AdminStats; archive: ChatArchive; reconciler: Reconciler; ds: DataSource; cluster: ClusterPort },
): void {
  const { stats, archive, reconciler, ds, cluster } = parts;
  const requests = new Counter({
    name: 'voiceroom_admin_http_requests_total',
    help: 'Admin API requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'voiceroom_admin_http_request_duration_seconds',
    help: 'Admin API requests (/v1): time to the response, by method, route pattern and status class (2xx, 4xx, 5xx, ...)',
    labelNames: ['method', 'route', 'status_class'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (!route || !route.startsWith('/v1/')) return;
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route, status_class: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000);
  });
  new Counter({
    name: 'voiceroom_admin_actions_total',
    help: 'Admin requests through the event log: applied, refused by the cluster, deferred (stored, 202) or unavailable (503)',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [result, n] of Object.entries(stats.actions)) this.inc({ result }, n);
    },
  });
  const counter = (name: string, help: string, read: () => number) => readCounter(registry, name, help, read);
  counter('voiceroom_admin_database_unavailable_total', 'Requests answered 503 because the database was unavailable', () => stats.databaseUnavailable);
  counter('voiceroom_admin_chat_archived_total', 'Chat messages and notices written to the archive', () => archive.stats.stored);
  counter('voiceroom_admin_chat_dropped_total', 'Chat messages dropped from a full archive queue (database away too long)', () => archive.stats.dropped);
  counter('voiceroom_admin_reconcile_entries_total', 'Entries published to bring the cluster in line with the database', () => reconciler.stats.published);
  counter('voiceroom_admin_reconcile_failures_total', 'Reconcile runs that could not finish', () => reconciler.stats.failedRuns);
  const gauge = (name: string, help: string, read: () => number) => readGauge(registry, name, help, read);
  gauge('voiceroom_admin_chat_queued', 'Chat messages waiting to be written to the archive', () => archive.pending);
  gauge('voiceroom_admin_database_connected', '1 once the database was connected and migrated', () => (isMigrated(ds) ? 1 : 0));
  gauge('voiceroom_admin_cluster_live', '1 while this node holds the cluster state', () => (cluster.isLive() ? 1 : 0));
}

/**
 * The standalone admin API's registry: label `node`, process metrics as voiceroom_admin_process_* and
 * voiceroom_admin_nodejs_* (prom-client's default metrics, less its gauges named `_total`, which
 * `promtool check metrics` refuses: each is the sum over `type` of the gauge without `_total`).
 */
export function createAdminRegistry(nodeId: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeId });
  collectDefaultMetrics({ register: registry, prefix: 'voiceroom_admin_' });
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type !== 'counter' && name.endsWith('_total')) registry.removeSingleMetric(name);
  }
  return registry;
}

/** voiceroom_admin_cluster_log_round_trip_seconds: the standalone admin node's own entries, publish to application. */
export function registerAdminRoundTrip(registry: Registry, replica: { onRoundTrip: ((ms: number) => void) | undefined }): void {
  const histogram = new Histogram({
    name: 'voiceroom_admin_cluster_log_round_trip_seconds',
    help: 'Own event log entries of the admin node: publish to application by this node (broker store and delivery included)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  replica.onRoundTrip = (ms) => histogram.observe(ms / 1000);
}

/** A counter whose value is read from the process's own statistics at each scrape. */
export function readCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A gauge whose value is read at each scrape. */
export function readGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
