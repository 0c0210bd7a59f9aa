import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { AdminConfig } from '@voiceroom/config';
import type { ClusterPort } from '@voiceroom/cluster';
import { isValidId } from '@voiceroom/protocol';
import { createDataSource, isMigrated } from '@voiceroom/persistence';
import { registerAdmin } from './app';
import { connectDatabase } from './database';
import { readHistory } from './chat-archive';

export interface EmbeddedAdminOptions {
  config: AdminConfig;
  /** The host process's view of the cluster (a gateway's `clusterPort()`): no second node on the log. */
  cluster: ClusterPort;
  /** The host's registry: the admin API's series join its /metrics. */
  metrics?: Registry;
  /** GET /dev/rooms/:room/messages, the page's chat history in development (DEV_TOKENS). */
  devRoutes: boolean;
}

/**
 * Single-node mode: the admin API on another server's Fastify instance (the gateway's, composed
 * by apps/single-node), on that server's view of the cluster and the configured database (SQLite
 * by default). Registers the routes on `app` itself, so the admin API's error and not-found
 * handlers are the whole instance's; connects the database once `app` is ready (retrying), and
 * closes it with `app`.
 */
export async function embedAdmin(app: FastifyInstance, options: EmbeddedAdminOptions): Promise<void> {
  const { config: admin } = options;
  const ds = createDataSource({ url: admin.databaseUrl, connectTimeoutMs: admin.dbTimeoutMs });
  const parts = await registerAdmin(app, { config: admin, ds, cluster: options.cluster, ...(options.metrics ? { metrics: options.metrics } : {}) });
  if (options.devRoutes) {
    // The page's chat history in development (no credentials: DEV_TOKENS is never on in production).
    app.get('/dev/rooms/:room/messages', async (request, reply) => {
      const { room } = request.params as { room: string };
      if (!isValidId(room)) return reply.code(400).send({ error: { code: 'VALIDATION_FAILED', message: 'room: 1-64 characters of [A-Za-z0-9_.:-]' } });
      if (!isMigrated(ds)) return reply.code(503).send({ error: { code: 'DATABASE_UNAVAILABLE', message: 'the database is not connected yet' } });
      return { items: (await readHistory(ds, room, 50)).items };
    });
  }
  let closed = false;
  app.addHook('onReady', () => {
    void connectDatabase(ds, { url: admin.databaseUrl, bootstrapKey: admin.bootstrapKey }, app.log, () => closed).then((ok) => {
      if (ok && !closed) parts.start();
    });
  });
  app.addHook('onClose', async () => {
    closed = true;
    await parts.stop();
    if (ds.isInitialized) await ds.destroy();
  });
}
