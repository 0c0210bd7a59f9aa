import { buildApp } from './app';
import { ConfigError, loadAdminConfig, loadConfig, type AdminConfig, type GatewayConfig } from '@voiceroom/config';

async function main(): Promise<void> {
  let config: GatewayConfig;
  let admin: AdminConfig | undefined;
  try {
    config = loadConfig();
    if (config.adminApi === 'embedded') {
      admin = loadAdminConfig({ ...process.env, PORT: String(config.port), NODE_ID: config.nodeId });
      if (config.bus.kind === 'rocketmq' && admin.databaseUrl.startsWith('sqlite:')) {
        throw new ConfigError(['ADMIN_API=embedded with BUS=rocketmq needs a shared MySQL DATABASE_URL: an SQLite file belongs to one node']);
      }
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee docs/configuration.md.\n`);
      process.exit(78);
    }
    throw error;
  }
  const app = await buildApp(config, admin ? { admin } : {});
  const address = await app.listen({ host: config.host, port: config.port });
  const port = new URL(address).port;
  app.log.info(
    { node: config.nodeId, bus: config.bus.kind, address, ws: `ws://127.0.0.1:${port}/ws`, admin: admin ? `http://127.0.0.1:${port}/docs` : 'off' },
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

void main();
