import Fastify, { LogController, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { ServerOptions as WebSocketServerOptions } from 'ws';
import { createBus, type Bus, type MemoryExchange } from '@voiceroom/bus';
import type { GatewayConfig } from '@voiceroom/config';
import type { ClusterPort } from '@voiceroom/cluster';
import type { NodeId } from '@voiceroom/protocol';
import { GatewayNode } from './gateway-node';
import { MetricsServer, serverOptions } from '@voiceroom/server-kit';
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

/** What a plug-in gets of the gateway it is plugged into. */
export interface GatewayPluginHost {
  /**
   * The cluster as this gateway sees it: its replicated room state (read only), and requests
   * published on its event log that resolve once applied (the gateway is the node: no second one).
   */
  clusterPort(): ClusterPort;
  /** The gateway's Prometheus registry: series registered here are on its /metrics. */
  readonly metrics: Registry;
}

/**
 * An extension served on the gateway's own Fastify instance and port, composed from outside
 * apps/gateway: the single-node entry (apps/single-node) plugs the admin API in this way, so the
 * gateway depends on neither the admin API nor the database (docs/architecture.md, "Single-node
 * mode"). The contract:
 * - called once while the app is built, after the gateway's /ws, /healthz, /readyz, /cluster/log
 *   and /metrics routes, before its page and /dev/token (those are encapsulated and keep the
 *   gateway's error handler); a rejection fails the build (the process does not start);
 * - it registers on the root instance and then owns the root's not-found and error handlers: it
 *   must set both, answering in the documented `{ error: { code, message } }` shape (without a
 *   plug-in the gateway sets its own);
 * - the instance has the options both servers share (`serverOptions`, libs/server-kit: router
 *   errors, body limit, Ajv rules), so routes written for the standalone admin server behave alike;
 * - its onReady hooks run after the gateway has begun starting its bus (not awaited: the cluster
 *   port may not be live yet), its onClose hooks after the gateway's drain (preClose).
 */
export type GatewayPlugin = (app: FastifyInstance, host: GatewayPluginHost) => Promise<void>;

export interface BuildOptions {
  /** Inject a bus (tests); otherwise one is made from config. */
  bus?: Bus;
  /** For in-process clusters of memory buses. */
  exchange?: MemoryExchange;
  /** pino options or false. Defaults to JSON logs at the configured level. */
  logger?: boolean | object;
  /** An extension on the gateway's instance (single-node: the embedded admin API). */
  plugin?: GatewayPlugin;
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
  // The options both servers share (server-kit: a plug-in's routes, the admin API's, expect them), and the gateway's own.
  const app = Fastify(
    serverOptions({
      logger: options.logger ?? { level: config.logLevel },
      logController: new LogController({ disableRequestLogging: true }),
      // A hop count or an address list; false: the socket's peer address is the client's.
      trustProxy: config.trustProxy as boolean | string,
      // Against slow or partial requests (slowloris), upgrades included: 408 and close.
      requestTimeout: config.http.requestTimeoutMs,
      http: { headersTimeout: config.http.headersTimeoutMs, connectionsCheckingInterval: 1000 },
      clientErrorHandler: limits.clientErrorHandler(),
    }),
  );
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
    options: {
      maxPayload: config.wsMaxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      closeTimeout: config.wsCloseTimeoutMs,
    } as WebSocketServerOptions,
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
  if (options.plugin) await options.plugin(app, { clusterPort: () => node.clusterPort(), metrics });
  else {
    // A plug-in (the embedded admin API) sets the same shape for the whole app.
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
