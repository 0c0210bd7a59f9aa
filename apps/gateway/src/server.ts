import { ConfigError, errorMessage, EXIT_CONFIG, EXIT_START_FAILED, exitOnStartFailure, loadConfig, type GatewayConfig } from '@voiceroom/config';
import { reportUnhandledRejections, runGateway } from './run';

/**
 * The gateway alone (what the production image runs, with ADMIN_API=off). Any failure to start
 * ends the process with one line on stderr (docs/operations.md, "Exit codes"): 78 when the
 * configuration is refused, 1 otherwise (the port is taken, ...). What may come later is not a
 * failure to start: the bus (RocketMQ) is retried every 2 s while the gateway serves (readyz 503).
 *
 * ADMIN_API=embedded is refused here: the gateway does not carry the admin API (nor TypeORM);
 * the single-node entry, apps/single-node/src/server.ts (`npm start`), composes the two.
 */
function loadGatewayConfig(): GatewayConfig {
  try {
    const config = loadConfig();
    if (config.adminApi === 'embedded') {
      throw new ConfigError([
        'ADMIN_API=embedded: the gateway alone does not carry the admin API; run the single-node entry, apps/single-node/src/server.ts (npm start; apps/single-node/dist/server.js when built), or set ADMIN_API=off',
      ]);
    }
    return config;
  } catch (error) {
    if (error instanceof ConfigError) exitOnStartFailure('gateway', EXIT_CONFIG, `${error.message} (see docs/configuration.md)`);
    throw error;
  }
}

reportUnhandledRejections();
(async () => runGateway(loadGatewayConfig()))().catch((error: unknown) =>
  exitOnStartFailure('gateway', EXIT_START_FAILED, `failed to start: ${errorMessage(error)}`),
);
