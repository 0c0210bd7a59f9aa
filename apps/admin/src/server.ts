import pino from 'pino';
import { createBus } from '@voiceroom/bus';
import { ObserverNode } from '@voiceroom/cluster';
import {
  ConfigError,
  errorMessage,
  EXIT_CONFIG,
  EXIT_START_FAILED,
  exitOnStartFailure,
  ListenError,
  loadAdminConfig,
  type AdminConfig,
} from '@voiceroom/config';
import type { NodeId } from '@voiceroom/protocol';
import { checkDatabaseUrl, createDataSource, DatabaseUrlError, describeDatabaseUrl } from '@voiceroom/persistence';
import { adminReadiness, createAdminFastify, registerAdmin } from './app';
import { connectDatabase } from './database';
import { MetricsServer, retryUntil } from '@voiceroom/server-kit';
import { createAdminRegistry, registerAdminRoundTrip } from './metrics';

/**
 * The admin API as its own process (a cluster): a node of the event log that holds no sessions
 * (it subscribes to the event topic only), with the database for everything that must outlive
 * the cluster. Starts even when the database or the broker is down (readyz says which), and
 * keeps trying both.
 */
export async function runAdminServer(config: AdminConfig): Promise<{ close(): Promise<void>; port: number; metricsPort: number | undefined }> {
  const log = pino({ level: config.logLevel, base: { node: config.nodeId, app: 'admin' } });
  const app = createAdminFastify({ loggerInstance: log });
  const ds = createDataSource({ url: config.databaseUrl, connectTimeoutMs: config.dbTimeoutMs });
  const busConfig = config.bus.kind === 'memory' ? { kind: 'memory' as const } : { ...config.bus, eventsOnly: true };
  const bus = createBus(config.nodeId as NodeId, busConfig, log);
  const node = new ObserverNode(
    config.nodeId as NodeId,
    {
      bus,
      log,
      beatIntervalMs: config.cluster.beatIntervalMs,
      timeoutMs: config.cluster.nodeTimeoutMs,
      syncTimeoutMs: config.cluster.syncTimeoutMs,
      requestTimeoutMs: config.cluster.requestTimeoutMs,
    },
    log,
  );
  const metrics = createAdminRegistry(config.nodeId);
  registerAdminRoundTrip(metrics, node.replica);
  const admin = await registerAdmin(app, { config, ds, cluster: node, metrics });
  // METRICS_PORT: /metrics on a listener of its own (not exposed by the public Service), or on PORT ('main').
  const metricsServer = config.metricsPort === 'main' ? undefined : new MetricsServer(metrics);
  if (!metricsServer) app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  /** Set once the database is migrated and the bootstrap key recorded (connectDatabase resolved). */
  let databaseSetUp = false;
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const ready = await adminReadiness(ds, node, config.dbTimeoutMs);
    ready.database &&= databaseSetUp;
    return reply.code(ready.database && ready.cluster ? 200 : 503).send({ status: ready.database && ready.cluster ? 'ready' : 'not ready', ...ready });
  });

  let closed = false;
  // Database: connect and migrate, retrying while it is away (requests get 503 meanwhile).
  const database = connectDatabase(ds, { url: config.databaseUrl, bootstrapKey: config.bootstrapKey }, log, () => closed).then((ok) => (databaseSetUp = ok));
  // Event log: start the bus (retrying), then sync the cluster state.
  const cluster = retryUntil(
    async () => {
      await bus.start(node);
      node.replica.start();
    },
    { stopped: () => closed, onFailure: (error, attempt) => log.error({ err: error, attempt }, 'bus start failed; retrying in 2 s') },
  );
  void Promise.all([database, cluster]).then(([dbReady]) => {
    if (!closed && dbReady) admin.start();
  });

  let metricsPort: number | undefined;
  try {
    if (metricsServer && config.metricsPort !== 'main') {
      try {
        metricsPort = await metricsServer.listen(config.host, config.metricsPort);
      } catch (error) {
        throw new ListenError(error, config.host, config.metricsPort);
      }
    }
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // Stop the retries started above; the caller reports the port.
    closed = true;
    await Promise.allSettled([app.close(), admin.stop(), node.replica.close(0), bus.close(), metricsServer?.close()]);
    if (ds.isInitialized) await ds.destroy().catch(() => undefined);
    if (error instanceof ListenError) {
      error.message = error.message.replace('set PORT', 'set METRICS_PORT');
      throw error;
    }
    throw new ListenError(error, config.host, config.port);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info(
    { address: `http://${config.host}:${port}`, bus: config.bus.kind, database: describeDatabaseUrl(config.databaseUrl) },
    'voice-room admin API listening',
  );
  return {
    port,
    metricsPort,
    close: async () => {
      closed = true;
      await app.close();
      await metricsServer?.close();
      await admin.stop();
      await node.replica.close(1000);
      await bus.close();
      if (ds.isInitialized) await ds.destroy();
    },
  };
}

/**
 * Started as a process: any failure to start ends it with one line on stderr (docs/operations.md,
 * "Exit codes"): 78 when the configuration is refused (DATABASE_URL included: its form, or an
 * SQLite file that cannot be created), 1 otherwise (the port is taken, ...). A MySQL server or a
 * broker that does not answer yet is not a failure to start: both are retried every 2 s.
 */
if (require.main === module) {
  let config: AdminConfig;
  try {
    config = loadAdminConfig();
    checkDatabaseUrl(config.databaseUrl);
  } catch (error) {
    if (error instanceof ConfigError) exitOnStartFailure('admin', EXIT_CONFIG, `${error.message} (see docs/configuration.md)`);
    if (error instanceof DatabaseUrlError)
      exitOnStartFailure('admin', EXIT_CONFIG, `invalid configuration: DATABASE_URL: ${error.message} (see docs/configuration.md)`);
    exitOnStartFailure('admin', EXIT_START_FAILED, `failed to start: ${errorMessage(error)}`);
  }
  runAdminServer(config).then(
    (server) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${signal}: admin API shutting down\n`);
        const timer = setTimeout(() => process.exit(1), 10_000);
        timer.unref();
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    },
    (error: unknown) => {
      if (error instanceof DatabaseUrlError)
        exitOnStartFailure('admin', EXIT_CONFIG, `invalid configuration: DATABASE_URL: ${error.message} (see docs/configuration.md)`);
      if (error instanceof ListenError) exitOnStartFailure('admin', EXIT_START_FAILED, error.message);
      exitOnStartFailure('admin', EXIT_START_FAILED, `failed to start: ${errorMessage(error)}`);
    },
  );
}
