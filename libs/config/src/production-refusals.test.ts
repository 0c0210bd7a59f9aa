import { ConfigError } from './load-config';
import { loadConfig } from './load-config';
import { loadAdminConfig } from './admin-config';
import { EXAMPLE_SECRET_MARKERS, isExampleSecret } from './example-secrets';

const GOOD = 'k'.repeat(48);
// The placeholders of deploy/k8s/overlays/example/*.env.example and the development defaults.
const EXAMPLE = 'replace-me-with-at-least-32-random-characters';
const DEV_ADMIN_KEY = 'dev-admin-key-change-me-0000';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('production refuses example and development secrets', () => {
  it('knows the markers', () => {
    expect(EXAMPLE_SECRET_MARKERS).toEqual(['replace-me', 'change-me']);
    expect(isExampleSecret('dev-only-insecure-secret-change-me')).toBe(true);
    expect(isExampleSecret('REPLACE-ME-please')).toBe(true);
    expect(isExampleSecret(GOOD)).toBe(false);
  });

  it('gateway: refuses an example JWT_SECRET or ROCKETMQ_SECRET_KEY, without printing it', () => {
    const base = { NODE_ENV: 'production', NODE_ID: 'gateway-0' };
    const p = problems(() => loadConfig({ ...base, JWT_SECRET: EXAMPLE, ROCKETMQ_ACCESS_KEY: 'voiceroom', ROCKETMQ_SECRET_KEY: 'replace-me-rocketmq' }));
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^JWT_SECRET: holds an example or development value/);
    expect(p[1]).toMatch(/^ROCKETMQ_SECRET_KEY: holds an example or development value/);
    expect(p.join(' ')).not.toContain(EXAMPLE);
    // The development default is reported once, by the older rule.
    expect(problems(() => loadConfig({ ...base }))).toEqual([expect.stringMatching(/^JWT_SECRET: production needs a secret of at least 32/)]);
    expect(problems(() => loadConfig({ ...base, JWT_SECRET: GOOD }))).toEqual([]);
    // Outside production the same values are accepted (npm start, tests).
    expect(problems(() => loadConfig({ NODE_ENV: 'development', JWT_SECRET: EXAMPLE }))).toEqual([]);
  });

  it('admin: refuses example values of every secret, the database url included', () => {
    const base = {
      NODE_ENV: 'production',
      NODE_ID: 'admin-0',
      BUS: 'rocketmq',
      JWT_SECRET: GOOD,
      DATABASE_URL: 'mysql://voiceroom:s3cret@mysql:3306/voiceroom',
    };
    expect(problems(() => loadAdminConfig(base))).toEqual([]);
    const p = problems(() =>
      loadAdminConfig({
        ...base,
        DATABASE_URL: 'mysql://voiceroom:replace-me@mysql:3306/voiceroom',
        ADMIN_JWT_SECRET: EXAMPLE,
        ADMIN_BOOTSTRAP_KEY: DEV_ADMIN_KEY,
      }),
    );
    expect(p.map((line) => line.split(':')[0]).sort()).toEqual(['ADMIN_BOOTSTRAP_KEY', 'ADMIN_JWT_SECRET', 'DATABASE_URL']);
    expect(p.join(' ')).not.toContain(DEV_ADMIN_KEY);
    expect(problems(() => loadAdminConfig({ ...base, NODE_ENV: 'test', ADMIN_BOOTSTRAP_KEY: DEV_ADMIN_KEY }))).toEqual([]);
  });

  it('RocketMQ credentials: both or neither, passed to the bus settings with TLS', () => {
    expect(problems(() => loadConfig({ NODE_ENV: 'test', ROCKETMQ_ACCESS_KEY: 'voiceroom' }))).toEqual([
      expect.stringMatching(/^ROCKETMQ_ACCESS_KEY: set it together with ROCKETMQ_SECRET_KEY/),
    ]);
    const config = loadConfig({ NODE_ENV: 'test', BUS: 'rocketmq', ROCKETMQ_ACCESS_KEY: 'voiceroom', ROCKETMQ_SECRET_KEY: GOOD, ROCKETMQ_TLS: 'true' });
    expect(config.bus).toMatchObject({ kind: 'rocketmq', credentials: { accessKey: 'voiceroom', secretKey: GOOD }, tls: true });
    const plain = loadAdminConfig({ NODE_ENV: 'test', BUS: 'rocketmq' });
    expect(plain.bus).toMatchObject({ kind: 'rocketmq', tls: false });
    expect((plain.bus as { credentials?: unknown }).credentials).toBeUndefined();
    expect(problems(() => loadConfig({ NODE_ENV: 'test', ROCKETMQ_TLS: 'yes' }))).toEqual(['ROCKETMQ_TLS: expected one of false, true (got "yes")']);
  });
});
