/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';
import base from './jest.config';

/**
 * `npm run test:unit`: the tests that need no services and run in seconds. No RocketMQ, no
 * MariaDB, no browser, no gateway child process, no external tools; in-process gateways on a
 * memory exchange are fine (the cross-node room scenarios run that way).
 * By file: every libs/<lib>/src/**\/*.test.ts and apps/<app>/src/**\/*.test.ts except those
 * listed in NEEDS_SERVICES, plus the listed tests of the test/ folders. A new test that needs a
 * service goes in test/ (or in NEEDS_SERVICES); a new service-free test in test/ goes in
 * SERVICE_FREE. `npm test` still runs everything (jest.config.ts).
 */
const NEEDS_SERVICES = [
  'libs/persistence/src/persistence.test.ts', // MariaDB
];
const SERVICE_FREE = [
  'apps/gateway/test/cluster-rooms-memory.test.ts', // two in-process gateways on one memory exchange, on ports of 127.0.0.1
  'apps/gateway/test/import-cycles.test.ts', // reads the sources, no service
  'apps/gateway/test/isolation.test.ts',
  'apps/gateway/test/start-script.test.ts', // runs scripts/start.sh with a stand-in node
  'apps/web/test/jitter-buffer.test.ts',
];

const escape = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const config: Config = {
  ...base,
  testMatch: ['<rootDir>/libs/*/src/**/*.test.ts', '<rootDir>/apps/*/src/**/*.test.ts', ...SERVICE_FREE.map((p) => `<rootDir>/${p}`)],
  testPathIgnorePatterns: [...(base.testPathIgnorePatterns ?? []), ...NEEDS_SERVICES.map((p) => `/${escape(p)}$`)],
};

export default config;
