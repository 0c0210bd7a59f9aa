import { ConfigError } from './load-config';
import { loadAdminConfig } from './admin-config';

function problems(env: Record<string, string>): string[] {
  try {
    loadAdminConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const PRODUCTION = { NODE_ENV: 'production', NODE_ID: 'admin-0', JWT_SECRET: 'j'.repeat(40), DATABASE_URL: 'mysql://u:p@db/v' };

describe('room events settings', () => {
  it('are off by default', () => {
    expect(loadAdminConfig({ NODE_ENV: 'test' }).roomEvents).toEqual({
      topic: '',
      chat: false,
      webhooks: { urls: [], secret: '', timeoutMs: 5000 },
      retry: { minMs: 1000, maxMs: 30_000, giveUpAfterMs: 900_000 },
      bufferSize: 50_000,
    });
  });

  it('reads the topic, the webhook URLs and the retry schedule', () => {
    const config = loadAdminConfig({
      NODE_ENV: 'test',
      BUS: 'rocketmq',
      ROOM_EVENTS_TOPIC: 'voiceroom-room-events',
      ROOM_EVENTS_CHAT: 'true',
      WEBHOOK_URLS: 'https://a.example/hook?k=1,http://b.example:8080/x',
      WEBHOOK_SECRET: 'short is fine outside production',
      WEBHOOK_RETRY_MIN_MS: '200',
      WEBHOOK_RETRY_MAX_MS: '2000',
      WEBHOOK_GIVE_UP_AFTER_S: '60',
    });
    expect(config.roomEvents).toMatchObject({
      topic: 'voiceroom-room-events',
      chat: true,
      webhooks: { urls: ['https://a.example/hook?k=1', 'http://b.example:8080/x'] },
      retry: { minMs: 200, maxMs: 2000, giveUpAfterMs: 60_000 },
    });
  });

  it('refuses webhooks without a secret, a topic without RocketMQ, and a retry cap below the first wait', () => {
    expect(problems({ NODE_ENV: 'test', WEBHOOK_URLS: 'http://a.example/h' })).toEqual(['WEBHOOK_SECRET: needed when WEBHOOK_URLS is set']);
    expect(problems({ NODE_ENV: 'test', ROOM_EVENTS_TOPIC: 'voiceroom-room-events' })).toEqual(['ROOM_EVENTS_TOPIC: needs BUS=rocketmq']);
    expect(problems({ NODE_ENV: 'test', WEBHOOK_RETRY_MIN_MS: '5000', WEBHOOK_RETRY_MAX_MS: '1000' })).toEqual([
      'WEBHOOK_RETRY_MAX_MS: must be at least WEBHOOK_RETRY_MIN_MS',
    ]);
    expect(problems({ NODE_ENV: 'test', WEBHOOK_URLS: 'ftp://a.example/h' })[0]).toMatch(/^WEBHOOK_URLS: /);
  });

  it('production refuses a weak or example webhook secret, without printing it', () => {
    const hooks = { ...PRODUCTION, WEBHOOK_URLS: 'https://a.example/h' };
    expect(problems({ ...hooks, WEBHOOK_SECRET: 'too-short' })).toEqual(['WEBHOOK_SECRET: production needs a secret of at least 32 characters']);
    const example = problems({ ...hooks, WEBHOOK_SECRET: 'replace-me-with-at-least-32-random-characters' });
    expect(example).toEqual([expect.stringMatching(/^WEBHOOK_SECRET: holds an example or development value/)]);
    expect(example.join(' ')).not.toContain('replace-me-with');
    expect(problems({ ...hooks, WEBHOOK_SECRET: 'w'.repeat(32) })).toEqual([]);
    // No webhooks: no secret needed.
    expect(problems(PRODUCTION)).toEqual([]);
  });
});
