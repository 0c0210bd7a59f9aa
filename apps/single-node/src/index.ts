import { embedAdmin } from '@voiceroom/admin';
import { ConfigError, loadAdminConfig, type AdminConfig, type GatewayConfig } from '@voiceroom/config';
import type { GatewayPlugin } from '@voiceroom/gateway';
import { checkDatabaseUrl } from '@voiceroom/persistence';

/**
 * The admin API as a gateway plug-in: served on the gateway's port, on the gateway's own view of
 * the cluster (`clusterPort()`: no second node on the log) and the configured database. Its
 * series join the gateway's /metrics; with `devRoutes` (DEV_TOKENS) also
 * GET /dev/rooms/:room/messages for the page.
 */
export function embeddedAdmin(admin: AdminConfig, devRoutes: boolean): GatewayPlugin {
  return (app, host) => embedAdmin(app, { config: admin, cluster: host.clusterPort(), metrics: host.metrics, devRoutes });
}

/**
 * The admin settings of a single node, from the same environment as the gateway's (its PORT and
 * NODE_ID are the gateway's), or undefined with ADMIN_API=off. Throws ConfigError (an SQLite file
 * with BUS=rocketmq: it belongs to one node) or DatabaseUrlError (a DATABASE_URL that cannot work).
 */
export function loadEmbeddedAdminConfig(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): AdminConfig | undefined {
  if (config.adminApi !== 'embedded') return undefined;
  const admin = loadAdminConfig({ ...env, PORT: String(config.port), NODE_ID: config.nodeId });
  if (config.bus.kind === 'rocketmq' && admin.databaseUrl.startsWith('sqlite:')) {
    throw new ConfigError(['ADMIN_API=embedded with BUS=rocketmq needs a shared MySQL DATABASE_URL: an SQLite file belongs to one node']);
  }
  checkDatabaseUrl(admin.databaseUrl);
  return admin;
}
