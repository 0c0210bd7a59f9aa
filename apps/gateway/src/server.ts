import { buildApp } from './app';
import {
  ConfigError,
  describeListenError,
  errorMessage,
  EXIT_CONFIG,
  EXIT_START_FAILED,
  exitOnStartFailure,
  loadAdminConfig,
  loadConfig,
  type AdminConfig,
  type GatewayConfig,
} from '@voiceroom/config';
import { checkDatabaseUrl, DatabaseUrlError } from '@voiceroom/persistence';
import type { FastifyInstance } from 'fastify';

/**
 * Any failure to start ends the process with one line on stderr (docs/operations.md, "Exit
 * codes"): 78 when the configuration is refused, 1 otherwise (the port is taken, ...). What may
 * come later is not a failure to start: the bus (RocketMQ) and the embedded admin API's MySQL
 * are retried every 2 s while the gateway serves (readyz 503).
 */
function loadSettings(): { config: GatewayConfig; admin: AdminConfig | undefined } {
  try {
    const config = loadConfig();
    let admin: AdminConfig | undefined;
    if (config.adminApi === 'embedded') {
      admin = loadAdminConfig({ ...process.env, PORT: String(config.port), NODE_ID: config.nodeId });
      if (config.bus.kind === 'rocketmq' && admin.databaseUrl.startsWith('sqlite:')) {
        throw new ConfigError(['ADMIN_API=embedded with BUS=rocketmq needs a shared MySQL DATABASE_URL: an SQLite file belongs to one node']);
      }
      checkDatabaseUrl(admin.databaseUrl);
    }
    return { config, admin };
  } catch (error) {
    if (error instanceof ConfigError) exitOnStartFailure('gateway', EXIT_CONFIG, `${error.message} (see docs/configuration.md)`);
    if (error instanceof DatabaseUrlError) exitOnStartFailure('gateway', EXIT_CONFIG, `invalid configuration: DATABASE_URL: ${error.message} (see docs/configuration.md)`);
    throw error;
  }
}

async function main(): Promise<void> {
  const { config, admin } = loadSettings();
  let app: FastifyInstance;
  try {
    app = await buildApp(config, admin ? { admin } : {});
  } catch (error) {
    if (error instanceof DatabaseUrlError) exitOnStartFailure('gateway', EXIT_CONFIG, `invalid configuration: DATABASE_URL: ${error.message} (see docs/configuration.md)`);
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
    { node: config.nodeId, bus: config.bus.kind, address, ws: `ws://127.0.0.1:${port}/ws`, admin: admin ? `http://127.0.0.1:${port}/docs` : 'off', metrics: `http://127.0.0.1:${metricsPort ?? port}/metrics` },
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

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`unhandled rejection: ${String(reason instanceof Error ? reason.stack : reason)}\n`);
});

main().catch((error: unknown) => exitOnStartFailure('gateway', EXIT_START_FAILED, `failed to start: ${errorMessage(error)}`));
