/**
 * `npm start` (scripts/start.sh) is for development: it listens on 127.0.0.1 unless HOST says
 * otherwise, since it runs with the public development JWT secret, a printed admin key and
 * DEV_TOKENS=true. The script is run with a stand-in `node` (and `npm`) that prints the
 * environment the single-node entry (apps/single-node/src/server.ts: the gateway, with the admin
 * API plugged in) would get, so nothing is installed, built or started.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@voiceroom/testkit';

let bin: string;

beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), 'voiceroom-start-'));
  writeFileSync(join(bin, 'node'), '#!/usr/bin/env bash\ncase "$*" in *apps/single-node/src/server.ts*) env ;; esac\nexit 0\n');
  writeFileSync(join(bin, 'npm'), '#!/usr/bin/env bash\nexit 0\n');
  chmodSync(join(bin, 'node'), 0o755);
  chmodSync(join(bin, 'npm'), 0o755);
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** The environment scripts/start.sh hands to the single-node entry (nothing when it runs another script). */
function startEnv(env: Record<string, string> = {}): Record<string, string> {
  const out = execFileSync('bash', [join(REPO_ROOT, 'scripts/start.sh')], {
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

it('binds 127.0.0.1 unless HOST says otherwise', () => {
  expect(startEnv().HOST).toBe('127.0.0.1');
  expect(startEnv({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
  expect(startEnv({ HOST: '::1' }).HOST).toBe('::1');
});

it('keeps the development defaults it documents (embedded admin API, its printed key, DEV_TOKENS)', () => {
  const env = startEnv();
  expect(env).toMatchObject({ ADMIN_API: 'embedded', ADMIN_BOOTSTRAP_KEY: 'dev-admin-key-change-me-0000', DEV_TOKENS: 'true' });
});
