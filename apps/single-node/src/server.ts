import {
  ConfigError,
  errorMessage,
  EXIT_CONFIG,
  EXIT_START_FAILED,
  exitOnStartFailure,
  loadConfig,
  type AdminConfig,
  type GatewayConfig,
} from '@voiceroom/config';
import { reportUnhandledRejections, runGateway } from '@voiceroom/gateway';
import { DatabaseUrlError } from '@voiceroom/persistence';
import { embeddedAdmin, loadEmbeddedAdminConfig } from './index';

/**
 * The single-node entry (`npm start`): one gateway, with the admin API embedded when
 * ADMIN_API=embedded (the gateway alone otherwise, exactly apps/gateway/src/server.ts). It is the
 * composition point, outside both apps: the gateway takes the admin API as a plug-in and depends
 * on neither it nor the database (docs/architecture.md, "Single-node mode").
 *
 * Any failure to start ends the process with one line on stderr, prefixed `gateway:`
 * (docs/operations.md, "Exit codes"): 78 when the configuration is refused (DATABASE_URL
 * included), 1 otherwise. The bus and a MySQL server that does not answer yet are retried every
 * 2 s while the gateway serves (readyz 503; the admin routes answer 503 meanwhile).
 */
function loadSettings(): { config: GatewayConfig; admin: AdminConfig | undefined } {
  try {
    const config = loadConfig();
    return { config, admin: loadEmbeddedAdminConfig(config) };
  } catch (error) {
    if (error instanceof ConfigError) exitOnStartFailure('gateway', EXIT_CONFIG, `${error.message} (see docs/configuration.md)`);
    if (error instanceof DatabaseUrlError) exitOnStartFailure('gateway', EXIT_CONFIG, databaseUrlProblem(error));
    throw error;
  }
}

function databaseUrlProblem(error: DatabaseUrlError): string {
  return `invalid configuration: DATABASE_URL: ${error.message} (see docs/configuration.md)`;
}

async function main(): Promise<void> {
  const { config, admin } = loadSettings();
  await runGateway(
    config,
    admin
      ? {
          plugin: embeddedAdmin(admin, config.devTokens),
          adminDocsPath: '/docs',
          configProblem: (error) => (error instanceof DatabaseUrlError ? databaseUrlProblem(error) : undefined),
        }
      : {},
  );
}

reportUnhandledRejections();
main().catch((error: unknown) => exitOnStartFailure('gateway', EXIT_START_FAILED, `failed to start: ${errorMessage(error)}`));
