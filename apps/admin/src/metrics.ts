import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterPort } from '@voiceroom/cluster';
import type { DataSource } from 'typeorm';
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
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (!route || !route.startsWith('/v1/')) return;
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
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
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter('voiceroom_admin_database_unavailable_total', 'Requests answered 503 because the database was unavailable', () => stats.databaseUnavailable);
  counter('voiceroom_admin_chat_archived_total', 'Chat messages and notices written to the archive', () => archive.stats.stored);
  counter('voiceroom_admin_chat_dropped_total', 'Chat messages dropped from a full archive queue (database away too long)', () => archive.stats.dropped);
  counter('voiceroom_admin_reconcile_entries_total', 'Entries published to bring the cluster in line with the database', () => reconciler.stats.published);
  counter('voiceroom_admin_reconcile_failures_total', 'Reconcile runs that could not finish', () => reconciler.stats.failedRuns);
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('voiceroom_admin_chat_queued', 'Chat messages waiting to be written to the archive', () => archive.pending);
  gauge('voiceroom_admin_database_connected', '1 once the database was connected and migrated', () => (ds.isInitialized ? 1 : 0));
  gauge('voiceroom_admin_cluster_live', '1 while this node holds the cluster state', () => (cluster.isLive() ? 1 : 0));
}
