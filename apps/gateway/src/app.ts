import Fastify, { LogController, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { createBus, type Bus, type MemoryExchange } from '@voiceroom/bus';
import type { AdminConfig, GatewayConfig } from '@voiceroom/config';
import { connectDatabase, frameworkErrors, registerAdmin } from '@voiceroom/admin';
import { createDataSource } from '@voiceroom/persistence';
import type { NodeId } from '@voiceroom/protocol';
import { GatewayNode } from './gateway-node';
import { createMetrics } from './metrics';
import { createTokenService } from '@voiceroom/tokens';

declare module 'fastify' {
  interface FastifyInstance {
    gateway: GatewayNode;
  }
}

export interface BuildOptions {
  /** Inject a bus (tests); otherwise one is made from config. */
  bus?: Bus;
  /** For in-process clusters of memory buses. */
  exchange?: MemoryExchange;
  /** pino options or false. Defaults to JSON logs at the configured level. */
  logger?: boolean | object;
  /** Serve the admin API from this process too (ADMIN_API=embedded), with these settings. */
  admin?: AdminConfig;
}

/**
 * Builds the gateway without listening: server.ts listens, tests use inject or listen on port 0.
 * The bus starts in the background once the app is ready; /readyz says when it has.
 */
export async function buildApp(config: GatewayConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    // A hop count or an address list; false: the socket's peer address is the client's.
    trustProxy: config.trustProxy as boolean | string,
    // The admin API's schemas (when embedded) expect these validation rules and error shape.
    frameworkErrors,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  const nodeId = config.nodeId as NodeId;
  const bus =
    options.bus ??
    createBus(nodeId, config.bus.kind === 'memory' ? { kind: 'memory', ...(options.exchange ? { exchange: options.exchange } : {}) } : config.bus, app.log);
  const node = new GatewayNode(config, bus, createTokenService(config.jwtSecret), app.log);
  app.decorate('gateway', node);
  const metrics = createMetrics(node);

  await app.register(websocket, {
    options: { maxPayload: config.wsMaxMessageBytes, perMessageDeflate: false, clientTracking: false },
  });

  app.get('/ws', { websocket: true }, (socket, request) => {
    node.accept(socket, request.ip);
  });

  app.get('/healthz', () => ({ status: 'ok', node: node.nodeId }));

  app.get('/readyz', (_request, reply) => {
    const ready = node.isReady();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', node: node.nodeId, bus: bus.kind });
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.metrics();
    return reply.type(metrics.contentType).send(body);
  });

  app.addHook('onReady', () => {
    void node.start();
  });
  if (options.admin) await embedAdmin(app, node, options.admin);
  app.addHook('preClose', async () => {
    // The drain spreads disconnects over at most half the deadline, leaving the rest for the log.
    await node.close(Math.min(config.drainSpreadMs, config.shutdownDeadlineMs / 2));
  });
  return app;
}

/**
 * Single-node mode: the admin API in the gateway process, on the gateway's own view of the
 * cluster (no second node on the log) and the configured database (SQLite by default).
 */
async function embedAdmin(app: FastifyInstance, node: GatewayNode, admin: AdminConfig): Promise<void> {
  const ds = createDataSource({ url: admin.databaseUrl, connectTimeoutMs: admin.dbTimeoutMs });
  const parts = await registerAdmin(app, { config: admin, ds, cluster: node.clusterPort() });
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
