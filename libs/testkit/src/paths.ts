import { resolve } from 'node:path';

/** The repository root (this file is libs/testkit/src/paths.ts, or dist/paths.js). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
