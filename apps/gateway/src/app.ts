import Fastify, { LogController, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { ServerOptions as WebSocketServerOptions } from 'ws';
import { createBus, type Bus, type MemoryExchange } from '@voiceroom/bus';
import type { AdminConfig, GatewayConfig } from '@voiceroom/config';
import { connectDatabase, frameworkErrors, readHistory, registerAdmin } from '@voiceroom/admin';
import { createDataSource } from '@voiceroom/persistence';
import { isValidId, type NodeId } from '@voiceroom/protocol';
import { GatewayNode } from './gateway-node';
import { MetricsServer } from '@voiceroom/server-kit';
import { createMetrics } from './metrics';
import { wsErrorHandler, type ProtocolErrorCounts } from './ws-errors';
import { ConnectionLimits } from './connection-limits';
import { gatewayErrorHandler, notFoundHandler } from './http-errors';
import { devTokenRoute, serveWebPage } from './web';
import { createTokenService } from '@voiceroom/tokens';
import type { Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    gateway: GatewayNode;
    /** GET /metrics on its own port (METRICS_PORT); undefined when /metrics is on the HTTP port. server.ts listens. */
    metricsServer: MetricsServer | undefined;
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
  const limits = new ConnectionLimits({
    perAddress: config.limits.connectionsPerIp,
    max: config.limits.maxConnections,
    peerIsClient: config.trustProxy === false,
  });
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    // A hop count or an address list; false: the socket's peer address is the client's.
    trustProxy: config.trustProxy as boolean | string,
    // The admin API's schemas (when embedded) expect these validation rules and error shape.
    frameworkErrors,
    routerOptions: { maxParamLength: 1000 },
    bodyLimit: 64 * 1024,
    // Against slow or partial requests (slowloris), upgrades included: 408 and close.
    requestTimeout: config.http.requestTimeoutMs,
    http: { headersTimeout: config.http.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    clientErrorHandler: limits.clientErrorHandler(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  const nodeId = config.nodeId as NodeId;
  const bus =
    options.bus ??
    createBus(nodeId, config.bus.kind === 'memory' ? { kind: 'memory', ...(options.exchange ? { exchange: options.exchange } : {}) } : config.bus, app.log);
  const tokens = createTokenService(config.jwtSecret);
  const node = new GatewayNode(config, bus, tokens, app.log);
  app.decorate('gateway', node);
  const protocolErrors: ProtocolErrorCounts = new Map();
  const metrics = createMetrics(node, { protocolErrors, connections: limits });
  limits.attach(app.server);

  await app.register(websocket, {
    // closeTimeout (ws 8.19+, not in @types/ws): a client that does not answer the gateway's
    // close frame loses its TCP connection (and its slot in the limits) after this long.
    options: { maxPayload: config.wsMaxMessageBytes, perMessageDeflate: false, clientTracking: false, closeTimeout: config.wsCloseTimeoutMs } as WebSocketServerOptions,
    errorHandler: wsErrorHandler(protocolErrors),
  });
  // Upgrades only on /ws, within the per-address and node limits (connection-limits.ts).
  app.addHook('onRequest', limits.upgradeHook());

  app.get('/ws', { websocket: true }, (socket, request) => {
    node.accept(socket, request.ip);
  });

  app.get('/healthz', () => ({ status: 'ok', node: node.nodeId }));

  app.get('/readyz', (_request, reply) => {
    const ready = node.isReady();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', node: node.nodeId, bus: bus.kind });
  });

  // Other gateways ask this when they stop hearing their own beats (isolation.ts): no member data.
  app.get('/cluster/log', (request) => {
    const asker = (request.query as { node?: unknown }).node;
    return node.witness(typeof asker === 'string' && asker.length <= 64 ? asker : undefined);
  });

  if (config.metricsPort === 'main') {
    app.get('/metrics', async (_request, reply) => {
      const body = await metrics.metrics();
      return reply.type(metrics.contentType).send(body);
    });
  }
  const metricsServer = config.metricsPort === 'main' ? undefined : new MetricsServer(metrics);
  app.decorate('metricsServer', metricsServer);
  // Scraped until the end of the drain; closed with the app.
  if (metricsServer) app.addHook('onClose', () => metricsServer.close());

  app.addHook('onReady', () => {
    void node.start();
  });
  if (options.admin) await embedAdmin(app, node, options.admin, config.devTokens, metrics);
  else {
    // The admin API sets the same shape for the whole app when it is embedded.
    app.setNotFoundHandler(notFoundHandler);
    app.setErrorHandler(gatewayErrorHandler);
  }
  // The gateway's own HTTP routes answer errors in the documented shape, admin API or not.
  await app.register(async (own) => {
    own.setErrorHandler(gatewayErrorHandler);
    if (config.devTokens) devTokenRoute(own, node, tokens);
    await serveWebPage(own, config);
  });
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
async function embedAdmin(app: FastifyInstance, node: GatewayNode, admin: AdminConfig, devRoutes: boolean, metrics: Registry): Promise<void> {
  const ds = createDataSource({ url: admin.databaseUrl, connectTimeoutMs: admin.dbTimeoutMs });
  const parts = await registerAdmin(app, { config: admin, ds, cluster: node.clusterPort(), metrics });
  if (devRoutes) {
    // The page's chat history in development (no credentials: DEV_TOKENS is never on in production).
    app.get('/dev/rooms/:room/messages', async (request, reply) => {
      const { room } = request.params as { room: string };
      if (!isValidId(room)) return reply.code(400).send({ error: { code: 'VALIDATION_FAILED', message: 'room: 1-64 characters of [A-Za-z0-9_.:-]' } });
      if (!ds.isInitialized) return reply.code(503).send({ error: { code: 'DATABASE_UNAVAILABLE', message: 'the database is not connected yet' } });
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
