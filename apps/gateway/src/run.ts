import type { FastifyInstance } from 'fastify';
import { describeListenError, errorMessage, EXIT_CONFIG, EXIT_START_FAILED, exitOnStartFailure, type GatewayConfig } from '@voiceroom/config';
import { buildApp, type GatewayPlugin } from './app';

export interface RunOptions {
  /** Plugged into the gateway's instance (the single-node entry: the embedded admin API). */
  plugin?: GatewayPlugin;
  /** The path of the plug-in's API docs, for the `admin` field of the listening line ('off' without). */
  adminDocsPath?: string;
  /** A failure to build the app that is a configuration problem: its line (exit 78 then). */
  configProblem?: (error: unknown) => string | undefined;
}

/**
 * Runs a gateway as a process: builds it, listens (the metrics listener first, when it has a
 * port of its own), logs where, and drains on SIGTERM/SIGINT within SHUTDOWN_DEADLINE_MS. Any
 * failure to start ends the process with one line on stderr (docs/operations.md, "Exit codes"):
 * 78 for a configuration problem, 1 otherwise (the port is taken, ...). Used by the gateway's
 * server.ts and by the single-node entry (apps/single-node), which adds the admin API.
 */
export async function runGateway(config: GatewayConfig, options: RunOptions = {}): Promise<void> {
  let app: FastifyInstance;
  try {
    app = await buildApp(config, options.plugin ? { plugin: options.plugin } : {});
  } catch (error) {
    const problem = options.configProblem?.(error);
    if (problem !== undefined) exitOnStartFailure('gateway', EXIT_CONFIG, problem);
    exitOnStartFailure('gateway', EXIT_START_FAILED, `failed to start: ${errorMessage(error)}`);
  }
  let metricsPort: number | undefined;
  if (app.metricsServer && config.metricsPort !== 'main') {
    try {
      metricsPort = await app.metricsServer.listen(config.host, config.metricsPort);
    } catch (error) {
      exitOnStartFailure('gateway', EXIT_START_FAILED, describeListenError(error, config.host, config.metricsPort).replace('set PORT', 'set METRICS_PORT'));
    }
  }
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    exitOnStartFailure('gateway', EXIT_START_FAILED, describeListenError(error, config.host, config.port));
  }
  const port = new URL(address).port;
  app.log.info(
    {
      node: config.nodeId,
      bus: config.bus.kind,
      address,
      ws: `ws://127.0.0.1:${port}/ws`,
      admin: options.adminDocsPath ? `http://127.0.0.1:${port}${options.adminDocsPath}` : 'off',
      metrics: `http://127.0.0.1:${metricsPort ?? port}/metrics`,
    },
    `voice-room gateway listening: http://127.0.0.1:${port}/ (WebSocket ws://127.0.0.1:${port}/ws)`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal, deadlineMs: config.shutdownDeadlineMs }, 'shutting down');
    const deadline = setTimeout(() => {
      app.log.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, config.shutdownDeadlineMs);
    deadline.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Started as a process: unhandled rejections are reported on stderr, not fatal. */
export function reportUnhandledRejections(): void {
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`unhandled rejection: ${String(reason instanceof Error ? reason.stack : reason)}\n`);
  });
}
