/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

/**
 * One jest run for the whole monorepo. Sources are transformed by SWC (no type check here:
 * `npm run typecheck` does that), and workspace packages resolve to their TypeScript sources
 * through the "development" export condition.
 */
const config: Config = {
  testEnvironment: 'node',
  testEnvironmentOptions: {
    customExportConditions: ['development', 'node', 'node-addons'],
    // google-protobuf (in the RocketMQ client) keeps its generated namespaces on the global object.
    globalsCleanup: 'off',
  },
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/bench', '<rootDir>/deploy'],
  testMatch: ['**/?(*.)test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Node 20.19+ loads these ESM-only dependencies with require(esm); jest's module loader does
  // not, so SWC turns them into CommonJS for the tests.
  transformIgnorePatterns: ['/node_modules/(?!(cookie|content-disposition)/)'],
  transform: {
    '/node_modules/(cookie|content-disposition)/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }],
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  testTimeout: 60_000,
  slowTestThreshold: 30,
};

export default config;
