// ESLint flat config: typescript-eslint's type-aware rules over every TypeScript project of the
// monorepo. Types come from the tsconfig that owns each file (projectService: the package's
// tsconfig.json for sources, its tsconfig.test.json for tests, found through the root solution's
// references; referenced libs are read from source, so no build is needed first).
// `npm run lint` runs this and `prettier --check`; scripts/test.sh (npm test, .ci/run) runs both.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Tests, test support (testkit, the bus contract suite) and the bench: code that reads JSON bodies, reports and manifests. */
const TEST_FILES = [
  '**/*.test.ts',
  'libs/*/test/**/*.ts',
  'apps/*/test/**/*.ts',
  'libs/bus/testing/**/*.ts',
  'libs/testkit/src/**/*.ts',
  'deploy/test/**/*.ts',
  'bench/src/**/*.ts',
];

export default defineConfig(
  {
    // Build output, and the plain-JS scripts (apps/web/build.mjs, the PrometheusRule generator,
    // this file): they belong to no tsconfig, so the type-aware rules cannot read them.
    ignores: ['**/dist/**', '**/dist-types/**', '**/node_modules/**', 'artifacts/**', 'coverage/**', '**/*.mjs', '**/*.js', '**/*.cjs'],
  },
  {
    files: [
      'libs/*/src/**/*.ts',
      'libs/*/test/**/*.ts',
      'libs/bus/testing/**/*.ts',
      'apps/*/src/**/*.ts',
      'apps/*/test/**/*.ts',
      'bench/src/**/*.ts',
      'deploy/test/**/*.ts',
    ],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Bugs the compiler does not see. From recommendedTypeChecked, kept at their defaults:
      // no-floating-promises (fire-and-forget is written `void p`), no-misused-promises,
      // await-thenable, no-unnecessary-type-assertion, no-base-to-string, only-throw-error,
      // prefer-promise-reject-errors, restrict-template-expressions, unbound-method, no-unsafe-*.
      // Added here:
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // A union switch without `default` must name every case, so a new message type, refusal
      // code or state is handled wherever it is switched on. A `default` is a deliberate "the rest".
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `return promise` inside try skips the catch and the finally's ordering: await it there.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'error',
      'no-self-compare': 'error',
      'no-template-curly-in-string': 'error',
      'no-unreachable-loop': 'error',

      // Off, because they fight the codebase's deliberate style:
      // - `async` without `await` implements a Promise-returning interface (Bus.close, prom-client
      //   collect, a test's rejoin callback) and turns a throw into a rejection; dropping `async`
      //   would change that behaviour.
      '@typescript-eslint/require-await': 'off',
      // - The hot paths (voice relay, jitter buffer, RMS) index typed arrays and arrays checked just
      //   before, and noUncheckedIndexedAccess makes every such read `T | undefined`: `!` is the
      //   deliberate answer there (this rule is not in recommendedTypeChecked; named to say so).
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // Tests read JSON bodies, YAML manifests and bench reports as `any` and assert on them with
    // expect(); typing each body would only restate the schema the test is checking. jest's
    // `expect(mock.method)` is not a call with a lost `this`. When a test helper rethrows, it folds
    // the cause's text (and the process output) into the message, to read on one screen.
    files: TEST_FILES,
    rules: {
      'preserve-caught-error': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
