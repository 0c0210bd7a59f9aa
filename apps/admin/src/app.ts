import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serverOptions } from '@voiceroom/server-kit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { DataSource } from 'typeorm';
import { isMigrated } from '@voiceroom/persistence';
import type { AdminConfig } from '@voiceroom/config';
import type { ClusterPort } from '@voiceroom/cluster';
import { createTokenService } from '@voiceroom/tokens';
import { installAuth } from './auth';
import { emptyAdminStats, type AdminContext } from './context';
import { registerAdminMetrics } from './metrics';
import type { Registry } from 'prom-client';
import { ErrorSchema, installErrorHandling } from './errors';
import { installStrictValidation } from './validation';
import { Reconciler } from './reconcile';
import { banRoutes } from './routes/bans';
import { memberRoutes } from './routes/members';
import { miscRoutes } from './routes/misc';
import { roomRoutes } from './routes/rooms';
import { ChatArchive } from './chat-archive';
import { consoleRoutes } from './console';
import { createRoomEvents, registerRoomEventMetrics } from './events';

export interface AdminPluginOptions {
  config: Pick<AdminConfig, 'rooms' | 'tokenMaxTtlSeconds' | 'jwtSecret' | 'adminJwtSecret' | 'bootstrapKey' | 'dbTimeoutMs'> &
    Partial<Pick<AdminConfig, 'roomEvents' | 'nodeId' | 'bus'>>;
  ds: DataSource;
  cluster: ClusterPort;
  /** How often the directory is compared with the database (ms). */
  reconcileIntervalMs?: number;
  /** Where its Prometheus metrics go (the gateway's registry when embedded); none when absent. */
  metrics?: Registry;
}

/** The admin API's background work (directory reconciler, chat archive). */
export interface AdminParts {
  /** Call once the database is ready: starts reconciling the cluster with it. */
  start(): void;
  /** Stops reconciling and writes what the archive holds; call before closing the database. */
  stop(): Promise<void>;
}

/**
 * Registers the admin API (routes under /v1, OpenAPI at /docs) on `app`: used by the admin
 * server and, in single-node mode, inside the gateway process. Returns the background parts
 * (directory reconciler, chat archive); call `start` once the cluster port is live-capable and
 * `stop` before closing the database.
 */
export async function registerAdmin(app: FastifyInstance, options: AdminPluginOptions): Promise<AdminParts> {
  const { config, ds, cluster } = options;
  const reconciler = new Reconciler(ds, cluster, app.log, options.reconcileIntervalMs);
  const archive = new ChatArchive(ds, cluster, app.log);
  const stats = emptyAdminStats();
  const ctx: AdminContext = { config, ds, cluster, tokens: createTokenService(config.jwtSecret), reconciler, stats };
  if (options.metrics) registerAdminMetrics(app, options.metrics, { stats, archive, reconciler, ds, cluster });
  // Room events for other services (docs/events.md): none unless configured.
  const events = createRoomEvents(config, ds, cluster, app.log);
  if (events && options.metrics) registerRoomEventMetrics(options.metrics, events);

  // Bodies are checked as sent (no type conversion), whatever Ajv options the instance has.
  installStrictValidation(app);
  app.addSchema(ErrorSchema);
  // JSON only: a text/plain body is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Voice-room admin API',
        version: '1',
        description: 'Rooms, members, moderation, bans, join tokens, chat history, stats and audit. Errors: { error: { code, message, field? } }.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key (vrk_...) or an admin JWT (HS256, aud voiceroom:admin, claims sub and role)' },
        },
      },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  installErrorHandling(app, stats);
  installAuth(app, ds, { adminJwtSecret: config.adminJwtSecret, bootstrapKey: config.bootstrapKey });
  roomRoutes(app, ctx);
  memberRoutes(app, ctx);
  banRoutes(app, ctx);
  miscRoutes(app, ctx);
  // The admin console's static files at /admin/ (public; it calls the routes above with the key it is given).
  consoleRoutes(app);
  return {
    start: () => {
      reconciler.start();
      events?.start();
    },
    stop: async () => {
      reconciler.stop();
      await events?.stop();
      await archive.close();
    },
  };
}

/** Readiness of the admin API: the database is migrated and answers, and the cluster state is in sync. */
export async function adminReadiness(ds: DataSource, cluster: ClusterPort, timeoutMs: number): Promise<{ database: boolean; cluster: boolean }> {
  let database = false;
  if (isMigrated(ds)) {
    let timer: NodeJS.Timeout | undefined;
    database = await Promise.race([
      ds.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
  return { database, cluster: cluster.isLive() };
}

/** The standalone admin server's Fastify instance: the options both servers share (server-kit), plus `options`. */
export function createAdminFastify(options: FastifyServerOptions): FastifyInstance {
  return Fastify(serverOptions(options));
}
